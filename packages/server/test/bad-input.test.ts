/**
 * Hostile and broken input, table-driven: malformed and oversize REST bodies, broken WebSocket
 * frames, ids the caller may not know, and forged, expired or misused tokens. Every row must get
 * the contract's answer, and the server must keep serving afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT, decodeJwt } from 'jose';
import {
  api,
  directConversation,
  register,
  sleep,
  startServer,
  TestSocket,
  type TestServer,
  type TestUser,
} from '../src/testing/harness.js';

const SECRET = 'known-secret-for-bad-input-tests';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
/** Alice and Bob's direct conversation: Carol is not a member. */
let aliceBob: string;

beforeAll(async () => {
  server = await startServer({ config: { jwtSecret: SECRET } });
  alice = await register(server, 'bad_a');
  bob = await register(server, 'bad_b');
  carol = await register(server, 'bad_c');
  aliceBob = await directConversation(server, alice, bob);
  const first = await api(
    server,
    'POST',
    `/api/conversations/${aliceBob}/messages`,
    alice.accessToken,
    {
      clientMsgId: 'first',
      body: 'a secret between Alice and Bob',
    },
  );
  expect(first.status).toBe(201);
});

afterAll(async () => {
  await server?.stop();
});

/** Sends raw bytes with a content type, the way a broken client would. */
async function raw(
  method: string,
  path: string,
  body: string | undefined,
  contentType?: string,
  token?: string,
) {
  const headers: Record<string, string> = {};
  if (contentType) headers['content-type'] = contentType;
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(server.url + path, { method, headers, body });
  const text = await response.text();
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // keep the text: the assertions below say it should have been JSON
  }
  return { status: response.status, body: parsed };
}

function expectError(result: { status: number; body: any }, status: number, code: string) {
  expect(result.status, JSON.stringify(result.body)).toBe(status);
  expect(result.body).toEqual({ error: { code, message: expect.any(String) } });
  expect(result.body.error.message.length).toBeGreaterThan(0);
  expect(result.body.error.message).not.toMatch(/\bat \S+ \(|node_modules|\.ts:\d+/);
}

describe('REST bodies', () => {
  const json = 'application/json';
  type Row = [
    label: string,
    method: string,
    path: () => string,
    body: string | undefined,
    type: string | undefined,
    field?: string,
  ];
  const rows: Row[] = [
    ['truncated JSON', 'POST', () => '/api/auth/login', '{"username":', json],
    ['not JSON at all', 'POST', () => '/api/auth/login', 'username=alice&password=x', json],
    ['JSON with a trailing comma', 'POST', () => '/api/auth/register', '{"username":"abc",}', json],
    ['an empty JSON body', 'POST', () => '/api/auth/login', '', json],
    ['a JSON array', 'POST', () => '/api/auth/login', '[]', json],
    ['JSON null', 'POST', () => '/api/auth/register', 'null', json],
    ['a JSON string', 'POST', () => '/api/auth/register', '"alice"', json],
    [
      'a form body',
      'POST',
      () => '/api/auth/login',
      'username=a&password=b',
      'application/x-www-form-urlencoded',
    ],
    ['a text body', 'POST', () => '/api/auth/login', 'hello', 'text/plain'],
    [
      'username of the wrong type',
      'POST',
      () => '/api/auth/login',
      '{"username":5,"password":"x"}',
      json,
      'username',
    ],
    [
      'password of the wrong type',
      'POST',
      () => '/api/auth/register',
      '{"username":"abcd","password":12345678}',
      json,
      'password',
    ],
    [
      'a missing password',
      'POST',
      () => '/api/auth/register',
      '{"username":"abcdef"}',
      json,
      'password',
    ],
    [
      'a missing username',
      'POST',
      () => '/api/auth/login',
      '{"password":"abcdefgh"}',
      json,
      'username',
    ],
    [
      'a displayName of the wrong type',
      'POST',
      () => '/api/auth/register',
      '{"username":"abcdefg","password":"abcdefgh","displayName":[]}',
      json,
      'displayName',
    ],
    [
      'deeply nested arrays',
      'POST',
      () => '/api/auth/login',
      `{"username":${'['.repeat(20_000)}${']'.repeat(20_000)},"password":"x"}`,
      json,
      'username',
    ],
    [
      'a __proto__ key',
      'POST',
      () => '/api/auth/login',
      '{"__proto__":{"admin":true},"username":"a","password":"b"}',
      json,
    ],
    [
      'a constructor.prototype key',
      'POST',
      () => '/api/auth/login',
      '{"constructor":{"prototype":{"admin":true}},"username":"a","password":"b"}',
      json,
    ],
  ];

  it.each(rows)('%s → 400 bad_request', async (_label, method, path, body, type, field) => {
    const result = await raw(method, path(), body, type);
    expectError(result, 400, 'bad_request');
    if (field) expect(result.body.error.message).toContain(field);
  });

  const authed: [
    label: string,
    method: string,
    path: () => string,
    body: unknown,
    field: string,
  ][] = [
    [
      'send without clientMsgId',
      'POST',
      () => `/api/conversations/${aliceBob}/messages`,
      { body: 'hi' },
      'clientMsgId',
    ],
    [
      'send without body',
      'POST',
      () => `/api/conversations/${aliceBob}/messages`,
      { clientMsgId: 'x' },
      'body',
    ],
    [
      'send with a numeric body',
      'POST',
      () => `/api/conversations/${aliceBob}/messages`,
      { clientMsgId: 'x', body: 7 },
      'body',
    ],
    [
      'send with a blank body',
      'POST',
      () => `/api/conversations/${aliceBob}/messages`,
      { clientMsgId: 'x', body: '  \n ' },
      'body',
    ],
    [
      'send with 4001 characters',
      'POST',
      () => `/api/conversations/${aliceBob}/messages`,
      { clientMsgId: 'x', body: 'a'.repeat(4001) },
      'body',
    ],
    [
      'send with a 65-char clientMsgId',
      'POST',
      () => `/api/conversations/${aliceBob}/messages`,
      { clientMsgId: 'c'.repeat(65), body: 'hi' },
      'clientMsgId',
    ],
    [
      'send with replyToSeq 0',
      'POST',
      () => `/api/conversations/${aliceBob}/messages`,
      { clientMsgId: 'x', body: 'hi', replyToSeq: 0 },
      'replyToSeq',
    ],
    [
      'read with a string seq',
      'POST',
      () => `/api/conversations/${aliceBob}/read`,
      { seq: '1' },
      'seq',
    ],
    [
      'read with a negative seq',
      'POST',
      () => `/api/conversations/${aliceBob}/read`,
      { seq: -1 },
      'seq',
    ],
    [
      'conversation of an unknown kind',
      'POST',
      () => '/api/conversations',
      { kind: 'channel', userId: 'x' },
      'kind',
    ],
    [
      'direct conversation without userId',
      'POST',
      () => '/api/conversations',
      { kind: 'direct' },
      'userId',
    ],
    [
      'group without title',
      'POST',
      () => '/api/conversations',
      { kind: 'group', memberIds: [] },
      'title',
    ],
    [
      'group with memberIds as a string',
      'POST',
      () => '/api/conversations',
      { kind: 'group', title: 't', memberIds: 'u1' },
      'memberIds',
    ],
    ['contact without username', 'POST', () => '/api/contacts', {}, 'username'],
    ['block with a numeric userId', 'POST', () => '/api/blocks', { userId: 42 }, 'userId'],
    ['PATCH /api/me with no displayName', 'PATCH', () => '/api/me', { name: 'x' }, 'displayName'],
  ];

  it.each(authed)('%s → 400 naming the field', async (_label, method, path, body, field) => {
    const result = await api(server, method, path(), alice.accessToken, body);
    expectError(result, 400, 'bad_request');
    expect(result.body.error.message).toContain(field);
  });

  it.each([
    ['limit=abc', 'limit'],
    ['limit=0', 'limit'],
    ['limit=201', 'limit'],
    ['before=-3', 'before'],
    ['after=x', 'after'],
  ])('history with %s → 400 naming the field', async (query, field) => {
    const result = await api(
      server,
      'GET',
      `/api/conversations/${aliceBob}/messages?${query}`,
      alice.accessToken,
    );
    expectError(result, 400, 'bad_request');
    expect(result.body.error.message).toContain(field);
  });

  it.each([
    ['register', '/api/auth/register', undefined],
    ['login', '/api/auth/login', undefined],
    ['send', '/api/conversations/:id/messages', 'token'],
  ])('an oversize body to %s → 413 payload_too_large', async (_label, path, needsToken) => {
    const body = JSON.stringify({
      username: 'x',
      password: 'y',
      clientMsgId: 'big',
      body: 'a'.repeat(80 * 1024),
    });
    const result = await raw(
      'POST',
      path.replace(':id', aliceBob),
      body,
      'application/json',
      needsToken ? alice.accessToken : undefined,
    );
    expectError(result, 413, 'payload_too_large');
  });

  it('an oversize body is refused even when sent without a content length', async () => {
    const chunk = new TextEncoder().encode(
      '{"clientMsgId":"stream","body":"' + 'a'.repeat(70 * 1024) + '"}',
    );
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(chunk);
        controller.close();
      },
    });
    const response = await fetch(`${server.url}/api/conversations/${aliceBob}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${alice.accessToken}` },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
    expect(((await response.json()) as any).error.code).toBe('payload_too_large');
  });
});

describe('ids the caller may not know', () => {
  const unknownId = 'c_does_not_exist';
  const rows: [label: string, method: string, path: (id: string) => string, body?: unknown][] = [
    ['GET conversation', 'GET', (id) => `/api/conversations/${id}`],
    ['GET history', 'GET', (id) => `/api/conversations/${id}/messages`],
    [
      'POST message',
      'POST',
      (id) => `/api/conversations/${id}/messages`,
      { clientMsgId: 'intruder', body: 'hi' },
    ],
    ['POST read', 'POST', (id) => `/api/conversations/${id}/read`, { seq: 1 }],
  ];

  it.each(rows)(
    '%s → 404 not_found, alike for an unknown id and a foreign one',
    async (_label, method, path, body) => {
      const unknown = await api(server, method, path(unknownId), carol.accessToken, body);
      const foreign = await api(server, method, path(aliceBob), carol.accessToken, body);
      expectError(unknown, 404, 'not_found');
      expectError(foreign, 404, 'not_found');
      expect(foreign.body).toEqual(unknown.body);
    },
  );

  it('a direct conversation with an unknown user → 404', async () => {
    const result = await api(server, 'POST', '/api/conversations', alice.accessToken, {
      kind: 'direct',
      userId: 'u_does_not_exist',
    });
    expectError(result, 404, 'not_found');
  });

  it('an unknown route → 404 not_found', async () => {
    expectError(await api(server, 'GET', '/api/nothing-here', alice.accessToken), 404, 'not_found');
  });

  it('nothing Carol tried reached the conversation', async () => {
    const history = await api(
      server,
      'GET',
      `/api/conversations/${aliceBob}/messages`,
      alice.accessToken,
    );
    expect(history.body.messages.map((m: { clientMsgId: string }) => m.clientMsgId)).not.toContain(
      'intruder',
    );
  });
});

describe('WebSocket frames', () => {
  let socket: TestSocket;
  beforeAll(async () => {
    socket = await TestSocket.connect(server, alice.accessToken);
  });
  afterAll(() => socket?.close());

  /** Sends raw text and waits for the next error frame. */
  async function errorFor(text: string | Buffer): Promise<Record<string, any>> {
    const before = socket.of('error').length;
    socket.sendRaw(text);
    return socket.waitFor((f) => f.type === 'error' && socket.of('error').length > before);
  }

  const rows: [label: string, text: string | Buffer, field?: string][] = [
    ['unparseable text', 'this is not json'],
    ['truncated JSON', '{"type":"ping"'],
    ['an empty frame', ''],
    ['a JSON array', '[{"type":"ping"}]'],
    ['JSON null', 'null'],
    ['a JSON number', '42'],
    ['a binary frame', Buffer.from([0xde, 0xad, 0xbe, 0xef])],
    ['no type', '{"id":"x1"}'],
    ['an unknown type', '{"type":"launch","id":"x2"}'],
    ['a type of the wrong type', '{"type":7,"id":"x3"}'],
    ['a prototype key as type', '{"type":"__proto__","id":"x4"}'],
    [
      'a send with a numeric conversationId',
      '{"type":"send","id":"x5","conversationId":5,"clientMsgId":"a","body":"b"}',
      'conversationId',
    ],
    ['a send without body', `{"type":"send","id":"x6","to":"u1","clientMsgId":"a"}`, 'body'],
    [
      'a send with both conversationId and to',
      '{"type":"send","id":"x7","conversationId":"c","to":"u","clientMsgId":"a","body":"b"}',
      'conversationId',
    ],
    [
      'a send with neither conversationId nor to',
      '{"type":"send","id":"x8","clientMsgId":"a","body":"b"}',
      'conversationId',
    ],
    ['a read with a string seq', '{"type":"read","id":"x9","conversationId":"c","seq":"3"}', 'seq'],
    [
      'a delivered with a fractional seq',
      '{"type":"delivered","id":"x10","conversationId":"c","seq":1.5}',
      'seq',
    ],
    ['a sync with cursors as an array', '{"type":"sync","id":"x11","cursors":[]}', 'cursors'],
    ['a typing without conversationId', '{"type":"typing","id":"x12"}', 'conversationId'],
  ];

  it.each(rows)(
    '%s → an error frame with bad_request, the socket stays usable',
    async (_label, text, field) => {
      const error = await errorFor(text);
      expect(error.code).toBe('bad_request');
      expect(error.message).toEqual(expect.any(String));
      if (field) expect(error.message).toContain(field);
      const parsedId = typeof text === 'string' ? /"id":"(x\d+)"/.exec(text)?.[1] : undefined;
      if (parsedId) expect(error.id).toBe(parsedId);
      expect((await socket.request({ type: 'ping' })).type).toBe('ok');
    },
  );

  it('deep nesting and prototype keys in a frame do no harm', async () => {
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    socket.sendRaw(`{"type":"ping","id":"deep","pad":${deep}}`);
    expect(await socket.waitFor((f) => f.id === 'deep')).toMatchObject({ type: 'ok' });
    const nested = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
    socket.sendRaw(`{"type":"sync","id":"nested","cursors":${nested}}`);
    expect(await socket.waitFor((f) => f.id === 'nested')).toMatchObject({
      type: 'error',
      code: 'bad_request',
    });
    socket.sendRaw('{"type":"ping","id":"proto","__proto__":{"type":"send","body":"x"}}');
    expect(await socket.waitFor((f) => f.id === 'proto')).toMatchObject({ type: 'ok' });
    expect(({} as Record<string, unknown>).type).toBeUndefined();
    expect((await socket.request({ type: 'ping' })).type).toBe('ok');
  });

  it('a frame over 64 KiB closes the socket with 1009; the server goes on', async () => {
    const victim = await TestSocket.connect(server, alice.accessToken);
    victim.sendRaw(JSON.stringify({ type: 'ping', pad: 'x'.repeat(65 * 1024) }));
    expect((await victim.closed).code).toBe(1009);
    expect((await socket.request({ type: 'ping' })).type).toBe('ok');
  });

  it('a frame over 64 KiB before auth also closes with 1009', async () => {
    const victim = new TestSocket(server.wsUrl);
    await new Promise((resolve) => victim.ws.once('open', resolve));
    victim.sendRaw('x'.repeat(70 * 1024));
    expect((await victim.closed).code).toBe(1009);
  });

  it('a frame of exactly 64 KiB is still accepted', async () => {
    const frame = JSON.stringify({ type: 'ping', id: 'big', pad: '' });
    const padded = frame.replace('"pad":""', `"pad":"${'x'.repeat(64 * 1024 - frame.length)}"`);
    expect(Buffer.byteLength(padded)).toBe(64 * 1024);
    socket.sendRaw(padded);
    expect(await socket.waitFor((f) => f.id === 'big')).toMatchObject({ type: 'ok' });
  });

  it.each([
    [
      'send to a foreign conversation',
      (id: string) => ({
        type: 'send',
        conversationId: id,
        clientMsgId: 'ws-intruder',
        body: 'hi',
      }),
    ],
    [
      'read in a foreign conversation',
      (id: string) => ({ type: 'read', conversationId: id, seq: 1 }),
    ],
    [
      'delivered in a foreign conversation',
      (id: string) => ({ type: 'delivered', conversationId: id, seq: 1 }),
    ],
    ['typing in a foreign conversation', (id: string) => ({ type: 'typing', conversationId: id })],
  ])('%s → error not_found, alike for an unknown id', async (_label, frame) => {
    const carolSocket = await TestSocket.connect(server, carol.accessToken);
    try {
      const foreign = await carolSocket.request(frame(aliceBob));
      const unknown = await carolSocket.request(frame('c_does_not_exist'));
      expect(foreign).toMatchObject({ type: 'error', code: 'not_found' });
      expect(unknown).toMatchObject({ type: 'error', code: 'not_found' });
      expect(foreign.message).toBe(unknown.message);
    } finally {
      carolSocket.close();
    }
  });

  it('a send to an unknown user → error not_found', async () => {
    const answer = await socket.request({
      type: 'send',
      to: 'u_does_not_exist',
      clientMsgId: 'nobody',
      body: 'hi',
    });
    expect(answer).toMatchObject({ type: 'error', code: 'not_found' });
  });

  it('a sync with a foreign cursor replays nothing', async () => {
    const carolSocket = await TestSocket.connect(server, carol.accessToken);
    try {
      const answer = await carolSocket.request({ type: 'sync', cursors: { [aliceBob]: 0 } });
      expect(answer.type).toBe('ok');
      expect(answer.conversations.map((c: { id: string }) => c.id)).not.toContain(aliceBob);
      expect(carolSocket.of('message')).toEqual([]);
      expect(JSON.stringify(carolSocket.frames)).not.toContain('a secret between Alice and Bob');
    } finally {
      carolSocket.close();
    }
  });
});

describe('forged, expired and misused tokens', () => {
  const key = new TextEncoder().encode(SECRET);
  const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

  /** Claims as the server writes them, for Alice's live session, overridable per row. */
  function claims() {
    const payload = decodeJwt(alice.accessToken);
    return { sub: payload.sub!, sid: payload.sid as string, iss: 'letter', aud: 'letter-access' };
  }

  async function sign(
    payload: Record<string, unknown>,
    options: { alg?: string; key?: Uint8Array; iat?: number; exp?: number } = {},
  ) {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT(payload)
      .setProtectedHeader({ alg: options.alg ?? 'HS256', typ: 'JWT' })
      .setIssuedAt(options.iat ?? now)
      .setExpirationTime(options.exp ?? now + 600)
      .sign(options.key ?? key);
  }

  let loggedOut: string;
  let refreshToken: string;
  /** Each row is a token the server must refuse. */
  const tokens: Record<string, () => Promise<string> | string> = {};

  beforeAll(async () => {
    const dave = await register(server, 'bad_d');
    expect((await api(server, 'POST', '/api/auth/logout', dave.accessToken)).status).toBe(204);
    loggedOut = dave.accessToken;
    refreshToken = alice.refreshToken;
    const now = Math.floor(Date.now() / 1000);

    Object.assign(tokens, {
      'alg none': () => {
        const { sub, sid, iss, aud } = claims();
        return `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub, sid, iss, aud, iat: now, exp: now + 600 })}.`;
      },
      'alg none with the real signature': () => {
        const [, , signature] = alice.accessToken.split('.');
        const { sub, sid, iss, aud } = claims();
        return `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub, sid, iss, aud, iat: now, exp: now + 600 })}.${signature}`;
      },
      'HS512 with the right key (another algorithm)': () => sign(claims(), { alg: 'HS512' }),
      'signed with a wrong key': () =>
        sign(claims(), { key: new TextEncoder().encode('not-the-secret') }),
      expired: () => sign(claims(), { iat: now - 7200, exp: now - 3600 }),
      'issued in the future and already expired': () =>
        sign(claims(), { iat: now + 3600, exp: now - 1 }),
      'a wrong audience': () => sign({ ...claims(), aud: 'letter-refresh' }),
      'a wrong issuer': () => sign({ ...claims(), iss: 'someone-else' }),
      'no session id': () => {
        const { sub, iss, aud } = claims();
        return sign({ sub, iss, aud });
      },
      'an unknown session id': () => sign({ ...claims(), sid: 's_does_not_exist' }),
      "another user's id on Alice's session": () => sign({ ...claims(), sub: bob.user.id }),
      'a numeric subject': () => sign({ ...claims(), sub: 12345 }),
      'a tampered payload': () => {
        const [header, , signature] = alice.accessToken.split('.');
        const payload = { ...decodeJwt(alice.accessToken), sub: bob.user.id };
        return `${header}.${b64(payload)}.${signature}`;
      },
      'a refresh token': () => refreshToken,
      'an access token after logout': () => loggedOut,
      garbage: () => 'garbage',
      'three dots': () => 'a.b.c',
      'an empty JWT': () => '..',
      'base64 noise': () => Buffer.from('x'.repeat(300)).toString('base64'),
      'a huge token': () => 'A'.repeat(6000),
      'JSON instead of a JWT': () => '{"sub":"u1"}',
    });
  });

  it('refuses every row over REST with 401 unauthorized', async () => {
    for (const [label, make] of Object.entries(tokens)) {
      const result = await api(server, 'GET', '/api/me', await make());
      expect(result.status, label).toBe(401);
      expect(result.body, label).toEqual({
        error: { code: 'unauthorized', message: expect.any(String) },
      });
      const send = await api(
        server,
        'POST',
        `/api/conversations/${aliceBob}/messages`,
        await make(),
        {
          clientMsgId: `forged-${label}`,
          body: 'forged',
        },
      );
      expect(send.status, label).toBe(401);
    }
  });

  it.each([
    ['no Authorization header', undefined],
    ['an empty bearer', 'Bearer '],
    ['another scheme', `Basic ${Buffer.from('alice:pw').toString('base64')}`],
    ['no scheme', 'just-a-token'],
  ])('refuses %s over REST with 401', async (_label, header) => {
    const response = await fetch(`${server.url}/api/me`, {
      headers: header === undefined ? {} : { authorization: header },
    });
    expect(response.status).toBe(401);
    expect(((await response.json()) as any).error.code).toBe('unauthorized');
  });

  it('refuses every row over WebSocket with close 4401, in the header and in the first frame', async () => {
    for (const [label, make] of Object.entries(tokens)) {
      for (const header of [true, false]) {
        const socket = new TestSocket(server.wsUrl, { token: await make(), header });
        const { code } = await socket.closed;
        expect(code, `${label} (${header ? 'header' : 'first frame'})`).toBe(4401);
        expect(socket.of('ready'), label).toEqual([]);
      }
    }
  });

  it('refuses an auth frame with a token of the wrong type, or an empty one, with 4401', async () => {
    for (const frame of [
      '{"type":"auth","token":42}',
      '{"type":"auth","token":""}',
      '{"type":"auth"}',
      'not json',
    ]) {
      const socket = new TestSocket(server.wsUrl);
      await new Promise((resolve) => socket.ws.once('open', resolve));
      socket.sendRaw(frame);
      expect((await socket.closed).code, frame).toBe(4401);
    }
  });

  it('nothing forged got in, and the server still serves normal requests', async () => {
    await sleep(50);
    const me = await api(server, 'GET', '/api/me', alice.accessToken);
    expect(me.status).toBe(200);
    expect(me.body.user).toEqual(alice.user);
    const history = await api(
      server,
      'GET',
      `/api/conversations/${aliceBob}/messages`,
      alice.accessToken,
    );
    expect(history.body.messages.map((m: { body: string }) => m.body)).not.toContain('forged');
    const socket = await TestSocket.connect(server, alice.accessToken);
    const sent = await socket.request({
      type: 'send',
      conversationId: aliceBob,
      clientMsgId: 'after-all',
      body: 'still here',
    });
    expect(sent.type).toBe('ok');
    socket.close();
    const health = await api(server, 'GET', '/healthz');
    expect(health).toMatchObject({ status: 200, body: { status: 'ok' } });
  });
});
