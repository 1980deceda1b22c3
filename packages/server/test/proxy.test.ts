/**
 * Letter behind Debian's nginx with deploy/nginx.conf, as README "Operating Letter" sets it up:
 * TLS with a certificate made here, LETTER_TRUST_PROXY=127.0.0.1 (the address nginx connects
 * from). Clients connect from 127.0.0.2 and 127.0.0.3, so nginx forwards two client addresses.
 */
import { request as httpRequest } from 'node:http';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { TestSocket, startServer, type TestServer } from '../src/testing/harness.js';
import { readFileSync } from 'node:fs';
import {
  PLACEHOLDERS,
  nginxConfigFile,
  proxyCall,
  startProxy,
  type Answer,
  type CallOptions,
  type Proxy,
} from '../src/testing/nginx.js';

let server: TestServer;
let proxy: Proxy;

beforeAll(async () => {
  server = await startServer({
    config: {
      rateLimits: true,
      trustProxy: loadConfig({ LETTER_TRUST_PROXY: '127.0.0.1' }).trustProxy,
    },
  });
  proxy = await startProxy(new URL(server.url).host);
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  await server?.stop();
});

/** One HTTPS request through nginx from the client address `from` (127.0.0.2 by default). */
const call = (method: string, path: string, options: CallOptions = {}) =>
  proxyCall(proxy, method, path, options);

const password = 'correct horse battery';
let n = 0;
async function registerVia(name: string, from = '127.0.0.2') {
  const username = `${name}_${process.pid}_${++n}`.slice(0, 32);
  const answer = await call('POST', '/api/auth/register', {
    from,
    body: { username, password },
  });
  expect(answer.status).toBe(201);
  return { ...(answer.body as { accessToken: string; user: { id: string } }), username, answer };
}

const wsClient = (from = '127.0.0.2') => ({ ca: proxy.ca, localAddress: from });

describe('Letter behind nginx (deploy/nginx.conf)', () => {
  it('uses exactly the placeholders README passes to envsubst', () => {
    const used = new Set(
      [...readFileSync(nginxConfigFile, 'utf8').matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]),
    );
    expect([...used].sort()).toEqual([...PLACEHOLDERS].sort());
  });

  it('registers and logs in over https; the refresh cookie is Secure and refreshes', async () => {
    const { username, answer } = await registerVia('px_login');
    const cookie = String(answer.headers['set-cookie']);
    expect(cookie).toMatch(/; Secure/);
    expect(cookie).toMatch(/; HttpOnly/);
    expect(answer.headers['strict-transport-security']).toBe('max-age=63072000; includeSubDomains');
    const login = await call('POST', '/api/auth/login', { body: { username, password } });
    expect(login.status).toBe(200);
    const set = String(login.headers['set-cookie']);
    expect(set).toMatch(/; Secure/);
    const refresh = await call('POST', '/api/auth/refresh', {
      headers: { cookie: set.split(';')[0]!, origin: proxy.url },
    });
    expect(refresh.status).toBe(200);
    expect(refresh.body.accessToken).toEqual(expect.any(String));
  });

  it('redirects plain HTTP to HTTPS, serves /healthz and keeps /metrics off the edge', async () => {
    const redirect = await new Promise<{ status: number; location?: string }>((resolve, reject) =>
      httpRequest(`${proxy.httpUrl}/some/page?x=1`, (res) => {
        res.resume();
        resolve({ status: res.statusCode!, location: res.headers.location });
      })
        .on('error', reject)
        .end(),
    );
    expect(redirect).toEqual({ status: 301, location: 'https://127.0.0.1/some/page?x=1' });
    expect((await call('GET', '/healthz')).status).toBe(200);
    expect((await call('GET', '/metrics')).status).toBe(404);
  });

  it('carries a chat between two users over wss:// with the page Origin', async () => {
    const alice = await registerVia('px_alice');
    const bob = await registerVia('px_bob', '127.0.0.3');
    const open = await call('POST', '/api/conversations', {
      headers: { authorization: `Bearer ${alice.accessToken}` },
      body: { kind: 'direct', userId: bob.user.id },
    });
    expect(open.status).toBe(201);
    const conversationId = open.body.conversation.id as string;
    const a = new TestSocket(proxy.wsUrl, {
      token: alice.accessToken,
      origin: proxy.url,
      client: wsClient(),
    });
    const b = new TestSocket(proxy.wsUrl, {
      token: bob.accessToken,
      header: false,
      origin: proxy.url,
      client: wsClient('127.0.0.3'),
    });
    await Promise.all([a.waitFor((f) => f.type === 'ready'), b.waitFor((f) => f.type === 'ready')]);
    const sent = await a.request({
      type: 'send',
      conversationId,
      clientMsgId: 'px1',
      body: 'hello through nginx',
    });
    expect(sent.type).toBe('ok');
    const got = await b.waitFor((f) => f.type === 'message');
    expect(got.message).toMatchObject({ body: 'hello through nginx', senderId: alice.user.id });
    const reply = await b.request({
      type: 'send',
      conversationId,
      clientMsgId: 'px2',
      body: 'and back',
    });
    expect(reply.type).toBe('ok');
    expect((await a.waitFor((f) => f.type === 'message')).message.body).toBe('and back');
    a.close();
    b.close();
  });

  it('refuses a WebSocket from a foreign Origin', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(proxy.wsUrl, {
        ...wsClient(),
        headers: { origin: 'https://evil.example' },
      });
      ws.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode!);
        ws.terminate();
      });
      ws.on('open', () => reject(new Error('a foreign origin was let in')));
      ws.on('error', () => {});
    });
    expect(status).toBe(403);
  });

  it('takes an upload of the maximum size through the proxy, and refuses one byte more', async () => {
    const { accessToken } = await registerVia('px_upload');
    const max = loadConfig({}).maxUploadBytes;
    const upload = async (size: number) => {
      const boundary = 'letterproxyboundary';
      const body = Buffer.concat([
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="max.bin"\r\n` +
            'Content-Type: application/octet-stream\r\n\r\n',
        ),
        Buffer.alloc(size, 7),
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]);
      return proxyCall(proxy, 'POST', '/api/files', {
        headers: {
          authorization: `Bearer ${accessToken}`,
          'content-type': `multipart/form-data; boundary=${boundary}`,
        },
        raw: body,
      });
    };
    const taken = await upload(max);
    expect(taken.status).toBe(201);
    expect(taken.body.file.size).toBe(max);
    const refused = await upload(max + 1);
    expect(refused.status).toBe(413);
  }, 60_000);

  it('limits logins per forwarded client address: another address is not limited with it', async () => {
    const { username } = await registerVia('px_limit', '127.0.0.3');
    // Failed guesses from 127.0.0.2 (one with a forged X-Forwarded-For, which nginx replaces)
    // use up that address's allowance for the name…
    let limited: Answer | undefined;
    for (let i = 0; i < 30 && !limited; i++) {
      const guess = await call('POST', '/api/auth/login', {
        from: '127.0.0.2',
        headers: i % 2 ? { 'x-forwarded-for': `10.0.0.${i}` } : {},
        body: { username, password: 'wrong password!' },
      });
      if (guess.status === 429) limited = guess;
      else expect(guess.status).toBe(401);
    }
    expect(limited?.body.error.code).toBe('rate_limited');
    expect(
      (await call('POST', '/api/auth/login', { from: '127.0.0.2', body: { username, password } }))
        .status,
    ).toBe(429);
    // …while the owner at 127.0.0.3 logs in.
    const owner = await call('POST', '/api/auth/login', {
      from: '127.0.0.3',
      body: { username, password },
    });
    expect(owner.status).toBe(200);
  });
});
