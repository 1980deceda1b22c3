/**
 * Accounts, sessions and tokens over real HTTP and WebSocket: register, login, refresh rotation
 * with reuse detection, logout, password change, the refresh cookie, rate limits, socket auth
 * and Origin checks, the profile, user search, contacts and blocks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
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

const PASSWORD = 'correct horse battery';
let unique = 0;
/** A username no other test (or earlier run on a reused dir) has taken. */
const freshName = (prefix: string) => `${prefix}_${process.pid}_${++unique}`.slice(0, 32);

async function registerAs(server: TestServer, username: string, password = PASSWORD) {
  return api(server, 'POST', '/api/auth/register', undefined, { username, password });
}

async function login(server: TestServer, username: string, password = PASSWORD) {
  return api(server, 'POST', '/api/auth/login', undefined, { username, password });
}

async function refresh(server: TestServer, refreshToken: string) {
  return api(server, 'POST', '/api/auth/refresh', undefined, { refreshToken });
}

/** Resolves with the close code, failing the test when the socket is still open after `ms`. */
async function closeCode(socket: TestSocket, ms = 10_000): Promise<number> {
  const timeout = sleep(ms).then(() => {
    throw new Error(`socket still open after ${ms} ms`);
  });
  return (await Promise.race([socket.closed, timeout])).code;
}

/** A socket that answers a ping is open and usable. */
async function expectOpen(socket: TestSocket): Promise<void> {
  expect(socket.ws.readyState).toBe(WebSocket.OPEN);
  expect((await socket.request({ type: 'ping' })).type).toBe('ok');
}

/** The HTTP status of a WebSocket handshake: 101 when it was accepted. */
function handshakeStatus(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers, perMessageDeflate: false });
    ws.on('open', () => {
      resolve(101);
      ws.close();
    });
    ws.on('unexpected-response', (request, response) => {
      resolve(response.statusCode ?? 0);
      response.resume();
      request.destroy();
    });
    ws.on('error', (error) => reject(error));
  });
}

function cookieNamed(headers: Headers, name: string): string | undefined {
  return headers.getSetCookie().find((cookie) => cookie.startsWith(`${name}=`));
}

describe('auth', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  describe('register', () => {
    it('answers 201 with the user and tokens, storing the username lower-cased', async () => {
      const name = freshName('MiXeD');
      const result = await registerAs(server, name);
      expect(result.status).toBe(201);
      expect(result.body.user).toEqual({
        id: expect.any(String),
        username: name.toLowerCase(),
        displayName: name.toLowerCase(),
      });
      expect(result.body.accessToken).toEqual(expect.any(String));
      expect(result.body.refreshToken).toEqual(expect.any(String));
      const me = await api(server, 'GET', '/api/me', result.body.accessToken);
      expect(me.status).toBe(200);
      expect(me.body.user).toEqual(result.body.user);
    });

    it('keeps a given displayName', async () => {
      const result = await api(server, 'POST', '/api/auth/register', undefined, {
        username: freshName('dn'),
        password: PASSWORD,
        displayName: 'Ada Lovelace',
      });
      expect(result.status).toBe(201);
      expect(result.body.user.displayName).toBe('Ada Lovelace');
    });

    it('refuses a taken username case-insensitively with 409 username_taken', async () => {
      const name = freshName('taken');
      expect((await registerAs(server, name)).status).toBe(201);
      const again = await registerAs(server, name.toUpperCase(), 'another password');
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('username_taken');
    });

    it.each([
      ['too short', 'ab'],
      ['too long', 'a'.repeat(33)],
      ['a space', 'has space'],
      ['a dash', 'has-dash'],
      ['non-ASCII letters', 'zoë_user'],
    ])('refuses a username with %s (400 naming the field)', async (_label, username) => {
      const result = await registerAs(server, username);
      expect(result.status).toBe(400);
      expect(result.body.error.code).toBe('bad_request');
      expect(result.body.error.message).toContain('username');
    });

    it('refuses a password under 8 characters (400 naming the field)', async () => {
      const result = await registerAs(server, freshName('short'), 'seven77');
      expect(result.status).toBe(400);
      expect(result.body.error.message).toContain('password');
    });
  });

  describe('login', () => {
    it('logs in with the username in any case', async () => {
      const name = freshName('login');
      const registered = await registerAs(server, name);
      const result = await login(server, name.toUpperCase());
      expect(result.status).toBe(200);
      expect(result.body.user).toEqual(registered.body.user);
      expect(result.body.accessToken).toEqual(expect.any(String));
      expect(result.body.refreshToken).toEqual(expect.any(String));
    });

    it('answers invalid_credentials alike for a wrong password and an unknown username', async () => {
      const name = freshName('creds');
      await registerAs(server, name);
      const wrongPassword = await login(server, name, 'not the password');
      const unknownUser = await login(server, freshName('nobody'), 'not the password');
      expect(wrongPassword.status).toBe(401);
      expect(wrongPassword.body.error.code).toBe('invalid_credentials');
      expect(unknownUser.status).toBe(wrongPassword.status);
      expect(unknownUser.body).toEqual(wrongPassword.body);
    });
  });

  describe('refresh', () => {
    it('rotates: the new pair works, the old refresh token is spent', async () => {
      const alice = await register(server, 'rot');
      const rotated = await refresh(server, alice.refreshToken);
      expect(rotated.status).toBe(200);
      expect(rotated.body).toEqual({
        accessToken: expect.any(String),
        refreshToken: expect.any(String),
      });
      expect(rotated.body.refreshToken).not.toBe(alice.refreshToken);
      expect((await api(server, 'GET', '/api/me', rotated.body.accessToken)).status).toBe(200);
      const next = await refresh(server, rotated.body.refreshToken);
      expect(next.status).toBe(200);
    });

    it('treats a spent refresh token as theft: 401 and the whole session dies, sockets close 4401', async () => {
      const alice = await register(server, 'reuse');
      const rotated = await refresh(server, alice.refreshToken);
      expect(rotated.status).toBe(200);
      const socket = await TestSocket.connect(server, rotated.body.accessToken);
      // Another session of the same user is not touched.
      const other = await login(server, alice.user.username);
      const otherSocket = await TestSocket.connect(server, other.body.accessToken);

      const reused = await refresh(server, alice.refreshToken);
      expect(reused.status).toBe(401);
      expect(reused.body.error.code).toBe('unauthorized');

      expect(await closeCode(socket)).toBe(4401);
      expect((await refresh(server, rotated.body.refreshToken)).status).toBe(401);
      const me = await api(server, 'GET', '/api/me', rotated.body.accessToken);
      expect(me.status).toBe(401);
      expect(me.body.error.code).toBe('unauthorized');
      expect((await api(server, 'GET', '/api/me', alice.accessToken)).status).toBe(401);

      await expectOpen(otherSocket);
      expect((await api(server, 'GET', '/api/me', other.body.accessToken)).status).toBe(200);
      otherSocket.close();
    });

    it('refuses an unknown refresh token and a request with no token at all', async () => {
      const unknown = await refresh(server, 'x'.repeat(43));
      expect(unknown.status).toBe(401);
      expect(unknown.body.error.code).toBe('unauthorized');
      const none = await api(server, 'POST', '/api/auth/refresh');
      expect(none.status).toBe(401);
      expect(none.body.error.code).toBe('unauthorized');
    });
  });

  describe('logout', () => {
    it('answers 204, kills the session tokens and closes its sockets with 4401, not other sessions', async () => {
      const alice = await register(server, 'logout');
      const second = (await login(server, alice.user.username)).body as TestUser;
      const socket = await TestSocket.connect(server, alice.accessToken);
      const firstFrameSocket = await TestSocket.connect(server, alice.accessToken, false);
      const otherSocket = await TestSocket.connect(server, second.accessToken);

      const result = await api(server, 'POST', '/api/auth/logout', alice.accessToken);
      expect(result.status).toBe(204);

      expect(await closeCode(socket)).toBe(4401);
      expect(await closeCode(firstFrameSocket)).toBe(4401);
      expect((await api(server, 'GET', '/api/me', alice.accessToken)).status).toBe(401);
      expect((await refresh(server, alice.refreshToken)).status).toBe(401);
      expect(await closeCode(new TestSocket(server.wsUrl, { token: alice.accessToken }))).toBe(
        4401,
      );

      await expectOpen(otherSocket);
      expect((await api(server, 'GET', '/api/me', second.accessToken)).status).toBe(200);
      otherSocket.close();
    });

    it('also closes sockets that were mid-handshake when the session ended', async () => {
      // The logout races the handshake; whichever wins, the socket must end with 4401.
      for (let i = 0; i < 20; i++) {
        const alice = await register(server, 'logoutrace');
        const socket = new TestSocket(server.wsUrl, {
          token: alice.accessToken,
          header: i % 2 === 0,
        });
        await sleep(i % 5);
        expect((await api(server, 'POST', '/api/auth/logout', alice.accessToken)).status).toBe(204);
        expect(await closeCode(socket), `attempt ${i}`).toBe(4401);
      }
    });

    it('needs a valid access token', async () => {
      const result = await api(server, 'POST', '/api/auth/logout');
      expect(result.status).toBe(401);
      expect(result.body.error.code).toBe('unauthorized');
    });
  });

  describe('password change', () => {
    it('answers 204 and ends every other session, not the current one', async () => {
      const alice = await register(server, 'pwchange');
      const second = (await login(server, alice.user.username)).body as TestUser;
      const third = (await login(server, alice.user.username)).body as TestUser;
      const current = await TestSocket.connect(server, alice.accessToken);
      const secondSocket = await TestSocket.connect(server, second.accessToken);
      const thirdSocket = await TestSocket.connect(server, third.accessToken, false);

      const newPassword = 'a brand new passphrase';
      const result = await api(server, 'POST', '/api/me/password', alice.accessToken, {
        currentPassword: PASSWORD,
        newPassword,
      });
      expect(result.status).toBe(204);

      expect(await closeCode(secondSocket)).toBe(4401);
      expect(await closeCode(thirdSocket)).toBe(4401);
      expect((await api(server, 'GET', '/api/me', second.accessToken)).status).toBe(401);
      expect((await refresh(server, third.refreshToken)).status).toBe(401);

      await expectOpen(current);
      expect((await api(server, 'GET', '/api/me', alice.accessToken)).status).toBe(200);
      expect((await refresh(server, alice.refreshToken)).status).toBe(200);
      current.close();

      const old = await login(server, alice.user.username);
      expect(old.status).toBe(401);
      expect(old.body.error.code).toBe('invalid_credentials');
      expect((await login(server, alice.user.username, newPassword)).status).toBe(200);
    });

    it('refuses a wrong current password and leaves the other sessions alone', async () => {
      const alice = await register(server, 'pwwrong');
      const second = (await login(server, alice.user.username)).body as TestUser;
      const result = await api(server, 'POST', '/api/me/password', alice.accessToken, {
        currentPassword: 'not my password',
        newPassword: 'whatever passphrase',
      });
      expect(result.status).toBe(401);
      expect(result.body.error.code).toBe('invalid_credentials');
      expect((await api(server, 'GET', '/api/me', second.accessToken)).status).toBe(200);
      expect((await login(server, alice.user.username)).status).toBe(200);
    });

    it('validates the new password', async () => {
      const alice = await register(server, 'pwshort');
      const result = await api(server, 'POST', '/api/me/password', alice.accessToken, {
        currentPassword: PASSWORD,
        newPassword: 'short',
      });
      expect(result.status).toBe(400);
      expect(result.body.error.message).toContain('newPassword');
    });
  });

  describe('refresh cookie', () => {
    it('is set HttpOnly, SameSite=Strict, Path=/api/auth on register and login', async () => {
      const name = freshName('cookie');
      for (const result of [await registerAs(server, name), await login(server, name)]) {
        const cookie = cookieNamed(result.headers, 'letter_refresh');
        expect(cookie).toBeDefined();
        expect(cookie).toMatch(/;\s*HttpOnly/i);
        expect(cookie).toMatch(/;\s*SameSite=Strict/i);
        expect(cookie).toMatch(/;\s*Path=\/api\/auth(;|$)/i);
        expect(decodeURIComponent(cookie!.split(';')[0]!.slice('letter_refresh='.length))).toBe(
          result.body.refreshToken,
        );
      }
    });

    it('lets POST /api/auth/refresh with no body use the cookie, and rotates the cookie', async () => {
      const result = await registerAs(server, freshName('cookieref'));
      const cookie = cookieNamed(result.headers, 'letter_refresh')!.split(';')[0]!;
      const refreshed = await fetch(`${server.url}/api/auth/refresh`, {
        method: 'POST',
        headers: { cookie },
      });
      expect(refreshed.status).toBe(200);
      const body = (await refreshed.json()) as { accessToken: string; refreshToken?: string };
      expect((await api(server, 'GET', '/api/me', body.accessToken)).status).toBe(200);
      const rotated = cookieNamed(refreshed.headers, 'letter_refresh');
      expect(rotated).toBeDefined();
      expect(rotated).toMatch(/;\s*HttpOnly/i);
      expect(rotated!.split(';')[0]).not.toBe(cookie);
      // A client refreshing from the cookie gets the new token only there, never in the body.
      expect(body.refreshToken).toBeUndefined();

      // The first cookie is spent now: replaying it is reuse and revokes the session.
      const replay = await fetch(`${server.url}/api/auth/refresh`, {
        method: 'POST',
        headers: { cookie },
      });
      expect(replay.status).toBe(401);
      expect((await api(server, 'GET', '/api/me', body.accessToken)).status).toBe(401);
    });
  });

  describe('WebSocket auth', () => {
    it('accepts an Authorization header and answers ready with the user and session', async () => {
      const alice = await register(server, 'wshdr');
      const socket = await TestSocket.connect(server, alice.accessToken);
      const ready = socket.of('ready')[0]!;
      expect(ready.user).toEqual(alice.user);
      expect(ready.sessionId).toEqual(expect.any(String));
      await expectOpen(socket);
      socket.close();
    });

    it('accepts a first auth frame', async () => {
      const alice = await register(server, 'wsframe');
      const socket = await TestSocket.connect(server, alice.accessToken, false);
      expect(socket.of('ready')[0]!.user).toEqual(alice.user);
      await expectOpen(socket);
      // Authenticating twice is refused with an error frame; the socket stays.
      const again = await socket.request({ type: 'auth', token: alice.accessToken });
      expect(again).toMatchObject({ type: 'error', code: 'bad_request' });
      await expectOpen(socket);
      socket.close();
    });

    it('answers frames pipelined right behind the auth frame, after ready', async () => {
      const alice = await register(server, 'wspipe');
      const socket = new TestSocket(server.wsUrl);
      await new Promise((resolve) => socket.ws.once('open', resolve));
      socket.sendRaw(JSON.stringify({ type: 'auth', token: alice.accessToken }));
      socket.sendRaw(JSON.stringify({ type: 'ping', id: 'p1' }));
      socket.sendRaw(JSON.stringify({ type: 'sync', id: 'p2', cursors: {} }));
      await socket.waitFor((f) => f.id === 'p2');
      expect(socket.frames.map((f) => `${f.type}:${f.id ?? ''}`)).toEqual([
        'ready:',
        'ok:p1',
        'ok:p2',
      ]);
      socket.close();

      // Behind a bad token they are dropped with the socket, never answered.
      const refused = new TestSocket(server.wsUrl);
      await new Promise((resolve) => refused.ws.once('open', resolve));
      refused.sendRaw(JSON.stringify({ type: 'auth', token: 'forged' }));
      refused.sendRaw(JSON.stringify({ type: 'ping', id: 'p3' }));
      expect(await closeCode(refused)).toBe(4401);
      expect(refused.frames).toEqual([]);
    });

    it('closes with 4401 for a bad token, in the header or the first frame', async () => {
      expect(await closeCode(new TestSocket(server.wsUrl, { token: 'not-a-token' }))).toBe(4401);
      expect(
        await closeCode(new TestSocket(server.wsUrl, { token: 'not-a-token', header: false })),
      ).toBe(4401);
    });

    it('closes with 4401 when the first frame is not an auth frame', async () => {
      const socket = new TestSocket(server.wsUrl);
      await new Promise((resolve) => socket.ws.once('open', resolve));
      socket.sendRaw(JSON.stringify({ type: 'ping', id: 1 }));
      expect(await closeCode(socket)).toBe(4401);
      expect(socket.of('ok')).toEqual([]);
    });

    it('closes with 4408 when no auth frame comes in time', async () => {
      const quick = await startServer({ config: { authTimeoutMs: 300 } });
      try {
        const socket = new TestSocket(quick.wsUrl);
        expect(await closeCode(socket)).toBe(4408);
        expect(socket.frames).toEqual([]);
      } finally {
        await quick.stop();
      }
    });

    it('refuses a handshake from a foreign Origin with HTTP 403, accepts its own origin', async () => {
      const alice = await register(server, 'origin');
      const headers = { authorization: `Bearer ${alice.accessToken}` };
      expect(
        await handshakeStatus(server.wsUrl, { ...headers, origin: 'https://evil.example' }),
      ).toBe(403);
      expect(await handshakeStatus(server.wsUrl, { ...headers, origin: 'null' })).toBe(403);
      // Same host, other port: another origin.
      const otherPort = server.url.replace(/:\d+$/, ':1');
      expect(await handshakeStatus(server.wsUrl, { ...headers, origin: otherPort })).toBe(403);

      const own = new TestSocket(server.wsUrl, { token: alice.accessToken, origin: server.url });
      await own.waitFor((f) => f.type === 'ready');
      await expectOpen(own);
      own.close();
    });

    it('accepts the origins listed in LETTER_ALLOWED_ORIGINS', async () => {
      const allowed = await startServer({ config: { allowedOrigins: ['https://app.example'] } });
      try {
        const alice = await register(allowed, 'allowed');
        const socket = new TestSocket(allowed.wsUrl, {
          token: alice.accessToken,
          origin: 'https://app.example',
        });
        await socket.waitFor((f) => f.type === 'ready');
        await expectOpen(socket);
        socket.close();
        const headers = { authorization: `Bearer ${alice.accessToken}` };
        expect(
          await handshakeStatus(allowed.wsUrl, { ...headers, origin: 'https://other.example' }),
        ).toBe(403);
      } finally {
        await allowed.stop();
      }
    });
  });

  describe('rate limits', () => {
    it('limits register with 429 rate_limited and a Retry-After header', async () => {
      const limited = await startServer({ config: { rateLimits: true } });
      try {
        const statuses: number[] = [];
        let last;
        for (let i = 0; i < 15 && !statuses.includes(429); i++) {
          last = await registerAs(limited, freshName('rl'));
          statuses.push(last.status);
        }
        expect(statuses.slice(0, -1).every((status) => status === 201)).toBe(true);
        expect(last!.status).toBe(429);
        expect(last!.body.error.code).toBe('rate_limited');
        expect(Number(last!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      } finally {
        await limited.stop();
      }
    });

    it('limits login alike for an existing and an unknown username', async () => {
      const attempts = async (existing: boolean) => {
        const limited = await startServer({ config: { rateLimits: true } });
        try {
          const name = freshName('rlogin');
          if (existing) expect((await registerAs(limited, name)).status).toBe(201);
          const answers: string[] = [];
          let retryAfter: string | null = null;
          for (let i = 0; i < 14; i++) {
            const result = await login(limited, name, 'wrong password');
            answers.push(`${result.status} ${result.body.error.code} ${result.body.error.message}`);
            if (result.status === 429) retryAfter = result.headers.get('retry-after');
          }
          // Once limited, even the right password is refused: a 429 is no oracle.
          const right = await login(limited, name);
          answers.push(`${right.status} ${right.body.error?.code}`);
          return { answers, retryAfter };
        } finally {
          await limited.stop();
        }
      };
      const existing = await attempts(true);
      const unknown = await attempts(false);
      expect(existing.answers).toContain('429 rate_limited Too many attempts; try again later.');
      expect(existing.answers.at(-1)).toBe('429 rate_limited');
      expect(Number(existing.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(unknown.answers).toEqual(existing.answers);
      // Retry-After counts down with the clock, so only its presence is compared.
      expect(Number(unknown.retryAfter)).toBeGreaterThanOrEqual(1);
    });

    it('keys the login limit on name and address and counts failures only', async () => {
      const limited = await startServer({ config: { rateLimits: true } });
      // The harness connects from 127.0.0.1, a trusted proxy by default: X-Forwarded-For
      // names the client, as a reverse proxy would.
      const loginFrom = async (address: string, username: string, password: string) => {
        const response = await fetch(`${limited.url}/api/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-forwarded-for': address },
          body: JSON.stringify({ username, password }),
        });
        return response.status;
      };
      try {
        const name = freshName('lockout');
        expect((await registerAs(limited, name)).status).toBe(201);
        // The owner logs in often, from B: a success uses up nothing.
        for (let i = 0; i < 12; i++)
          expect(await loginFrom('198.51.100.2', name, PASSWORD)).toBe(200);
        expect(await loginFrom('198.51.100.2', name, 'wrong password')).toBe(401);

        // Someone guesses from A until refused.
        const guesses: number[] = [];
        for (let i = 0; i < 14; i++) guesses.push(await loginFrom('203.0.113.1', name, 'nope'));
        expect(guesses.slice(0, 10)).toEqual(Array(10).fill(401));
        expect(guesses.at(-1)).toBe(429);
        expect(await loginFrom('203.0.113.1', name, PASSWORD)).toBe(429);

        // The owner, from B, is not locked out by A's guesses.
        expect(await loginFrom('198.51.100.2', name, PASSWORD)).toBe(200);
      } finally {
        await limited.stop();
      }
    });
  });
});

describe('profile, search, contacts and blocks', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('GET /api/me answers the user; PATCH /api/me changes the display name', async () => {
    const alice = await register(server, 'me');
    const me = await api(server, 'GET', '/api/me', alice.accessToken);
    expect(me.status).toBe(200);
    expect(me.body).toEqual({ user: alice.user });

    const patched = await api(server, 'PATCH', '/api/me', alice.accessToken, {
      displayName: '  Alice A.  ',
    });
    expect(patched.status).toBe(200);
    expect(patched.body.user).toEqual({ ...alice.user, displayName: 'Alice A.' });
    expect((await api(server, 'GET', '/api/me', alice.accessToken)).body.user.displayName).toBe(
      'Alice A.',
    );

    const empty = await api(server, 'PATCH', '/api/me', alice.accessToken, { displayName: '   ' });
    expect(empty.status).toBe(400);
    expect(empty.body.error.message).toContain('displayName');
    expect((await api(server, 'GET', '/api/me')).status).toBe(401);
  });

  it('GET /api/users?query= finds by username prefix, at most 20, never the caller', async () => {
    const prefix = `srch${process.pid}`.slice(0, 12);
    const users: TestUser[] = [];
    for (let i = 0; i < 23; i++) users.push(await register(server, prefix));
    const caller = users[0]!;

    const result = await api(server, 'GET', `/api/users?query=${prefix}`, caller.accessToken);
    expect(result.status).toBe(200);
    const found = result.body.users as { id: string; username: string; displayName: string }[];
    expect(found).toHaveLength(20);
    expect(found.map((u) => u.id)).not.toContain(caller.user.id);
    for (const user of found) {
      expect(user.username.startsWith(prefix)).toBe(true);
      expect(Object.keys(user).sort()).toEqual(['displayName', 'id', 'username']);
    }

    const exact = users[5]!.user.username;
    const one = await api(
      server,
      'GET',
      `/api/users?query=${exact.toUpperCase()}`,
      caller.accessToken,
    );
    expect(one.body.users.map((u: { id: string }) => u.id)).toContain(users[5]!.user.id);
    const self = await api(
      server,
      'GET',
      `/api/users?query=${caller.user.username}`,
      caller.accessToken,
    );
    expect(self.body.users.map((u: { id: string }) => u.id)).not.toContain(caller.user.id);
    const none = await api(
      server,
      'GET',
      `/api/users?query=zzz_nobody_${process.pid}`,
      caller.accessToken,
    );
    expect(none.body).toEqual({ users: [] });
    // Search characters are literal: no wildcard finds everyone.
    for (const query of ['%', '_', '*', '.', `${prefix.slice(0, -1)}_`]) {
      const wild = await api(
        server,
        'GET',
        `/api/users?query=${encodeURIComponent(query)}`,
        caller.accessToken,
      );
      expect(wild.status, query).toBe(200);
      expect(wild.body, query).toEqual({ users: [] });
    }
    expect((await api(server, 'GET', `/api/users?query=${prefix}`)).status).toBe(401);
  });

  it('contacts: 201 then 200, listed with presence, deleted with 204', async () => {
    const alice = await register(server, 'contacta');
    const bob = await register(server, 'contactb');

    const added = await api(server, 'POST', '/api/contacts', alice.accessToken, {
      username: bob.user.username.toUpperCase(),
    });
    expect(added.status).toBe(201);
    expect(added.body.contact).toEqual({ user: bob.user, online: false, lastSeenAt: null });
    const again = await api(server, 'POST', '/api/contacts', alice.accessToken, {
      username: bob.user.username,
    });
    expect(again.status).toBe(200);
    expect(again.body.contact.user).toEqual(bob.user);

    // Contacts are one-way: Bob's list is untouched.
    expect((await api(server, 'GET', '/api/contacts', bob.accessToken)).body.contacts).toEqual([]);
    // Presence shows once Bob adds Alice back (one-way contacts see nothing).
    await api(server, 'POST', '/api/contacts', bob.accessToken, { username: alice.user.username });
    const bobSocket = await TestSocket.connect(server, bob.accessToken);
    const online = await api(server, 'GET', '/api/contacts', alice.accessToken);
    expect(online.status).toBe(200);
    expect(online.body.contacts).toEqual([{ user: bob.user, online: true, lastSeenAt: null }]);

    bobSocket.close();
    await bobSocket.closed;
    // Offline after the presence grace period, with the time he was last seen.
    let contacts: { online: boolean; lastSeenAt: string | null }[] = [];
    for (let i = 0; i < 100; i++) {
      contacts = (await api(server, 'GET', '/api/contacts', alice.accessToken)).body.contacts;
      if (!contacts[0]?.online && contacts[0]?.lastSeenAt) break;
      await sleep(50);
    }
    expect(contacts).toHaveLength(1);
    expect(contacts[0]!.online).toBe(false);
    expect(new Date(contacts[0]!.lastSeenAt!).toISOString()).toBe(contacts[0]!.lastSeenAt);

    const missing = await api(server, 'POST', '/api/contacts', alice.accessToken, {
      username: 'no_such_user_here',
    });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('not_found');

    expect(
      (await api(server, 'DELETE', `/api/contacts/${bob.user.id}`, alice.accessToken)).status,
    ).toBe(204);
    expect((await api(server, 'GET', '/api/contacts', alice.accessToken)).body.contacts).toEqual(
      [],
    );
  });

  it('blocks: a blocked pair cannot send in their direct conversation, over REST or WS', async () => {
    const alice = await register(server, 'blocka');
    const bob = await register(server, 'blockb');
    const conversationId = await directConversation(server, alice, bob);
    const send = (who: TestUser, clientMsgId: string) =>
      api(server, 'POST', `/api/conversations/${conversationId}/messages`, who.accessToken, {
        clientMsgId,
        body: 'hello',
      });
    expect((await send(bob, 'before')).status).toBe(201);

    expect(
      (await api(server, 'POST', '/api/blocks', alice.accessToken, { userId: bob.user.id })).status,
    ).toBe(204);
    const blocks = await api(server, 'GET', '/api/blocks', alice.accessToken);
    expect(blocks.body).toEqual({ users: [bob.user] });

    // Both directions are refused: the blocked and the blocker.
    const fromBob = await send(bob, 'blocked-rest');
    expect(fromBob.status).toBe(403);
    expect(fromBob.body.error.code).toBe('blocked');
    const fromAlice = await send(alice, 'blocker-rest');
    expect(fromAlice.status).toBe(403);
    expect(fromAlice.body.error.code).toBe('blocked');

    const bobSocket = await TestSocket.connect(server, bob.accessToken);
    const aliceSocket = await TestSocket.connect(server, alice.accessToken);
    const wsByConversation = await bobSocket.request({
      type: 'send',
      conversationId,
      clientMsgId: 'blocked-ws',
      body: 'hi',
    });
    expect(wsByConversation).toMatchObject({ type: 'error', code: 'blocked' });
    const wsByUser = await bobSocket.request({
      type: 'send',
      to: alice.user.id,
      clientMsgId: 'blocked-to',
      body: 'hi',
    });
    expect(wsByUser).toMatchObject({ type: 'error', code: 'blocked' });
    const wsFromBlocker = await aliceSocket.request({
      type: 'send',
      conversationId,
      clientMsgId: 'blocker-ws',
      body: 'hi',
    });
    expect(wsFromBlocker).toMatchObject({ type: 'error', code: 'blocked' });

    // Nothing got through.
    const history = await api(
      server,
      'GET',
      `/api/conversations/${conversationId}/messages`,
      alice.accessToken,
    );
    expect(history.body.messages.map((m: { clientMsgId: string }) => m.clientMsgId)).toEqual([
      'before',
    ]);
    expect(aliceSocket.of('message')).toEqual([]);

    expect(
      (await api(server, 'DELETE', `/api/blocks/${bob.user.id}`, alice.accessToken)).status,
    ).toBe(204);
    expect((await api(server, 'GET', '/api/blocks', alice.accessToken)).body).toEqual({
      users: [],
    });
    expect((await send(bob, 'after')).status).toBe(201);
    const ok = await bobSocket.request({
      type: 'send',
      conversationId,
      clientMsgId: 'after-ws',
      body: 'hi',
    });
    expect(ok.type).toBe('ok');
    bobSocket.close();
    aliceSocket.close();
  });

  it('refuses blocking yourself or an unknown user', async () => {
    const alice = await register(server, 'blockself');
    const self = await api(server, 'POST', '/api/blocks', alice.accessToken, {
      userId: alice.user.id,
    });
    expect(self.status).toBe(400);
    const unknown = await api(server, 'POST', '/api/blocks', alice.accessToken, {
      userId: 'u_does_not_exist',
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('not_found');
  });
});
