/**
 * Operating a node: health and metrics endpoints, graceful shutdown of a real process on SIGTERM
 * (sockets closed with 1012, acknowledged writes kept, exit 0), and logs that never carry
 * passwords or tokens. Runs on both engines (the children too: child.ts).
 */
import { afterAll, describe, expect, it } from 'vitest';
import {
  api,
  directConversation,
  register,
  sleep,
  startServer,
  testEngine,
  TestSocket,
  type TestUser,
} from '../src/testing/harness.js';
import { cleanUp, scratchDir, startChild } from './child.js';

const dataDir = () => scratchDir('letter-ops-');

afterAll(cleanUp);

/** The value of an unlabelled Prometheus sample, or undefined when absent. */
function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

describe('health and metrics', () => {
  it('GET /healthz answers 200 {"status":"ok"}', async () => {
    const server = await startServer();
    try {
      const health = await api(server, 'GET', '/healthz');
      expect(health.status).toBe(200);
      expect(health.body).toEqual({ status: 'ok' });
      expect(health.headers.get('content-type')).toMatch(/application\/json/);
    } finally {
      await server.stop();
    }
  });

  it('GET /metrics answers Prometheus text with the node, message and store metrics', async () => {
    const server = await startServer();
    try {
      const alice = await register(server, 'metrics_a');
      const bob = await register(server, 'metrics_b');
      const conversationId = await directConversation(server, alice, bob);
      const socket = await TestSocket.connect(server, alice.accessToken);
      for (let i = 0; i < 3; i++) {
        const ok = await socket.request({
          type: 'send',
          conversationId,
          clientMsgId: `m${i}`,
          body: `hello ${i}`,
        });
        expect(ok.type).toBe('ok');
      }
      // A repeat is not a new message.
      await socket.request({ type: 'send', conversationId, clientMsgId: 'm0', body: 'hello 0' });

      const response = await fetch(`${server.url}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
      const text = await response.text();
      for (const name of [
        'letter_connections',
        'letter_messages_total',
        'letter_store_transactions_total',
        'letter_store_stale_conversations_total',
        'letter_store_batch_fallbacks_total',
        'letter_eventloop_delay_max_seconds',
      ]) {
        expect(text, name).toContain(`# TYPE ${name} `);
        expect(sample(text, name), name).toBeGreaterThanOrEqual(0);
      }
      expect(sample(text, 'letter_connections')).toBe(1);
      expect(sample(text, 'letter_messages_total')).toBe(3);
      // Group commit is the SQLite worker's; the PostgreSQL store keeps no such counts (0).
      if (testEngine === 'sqlite')
        expect(sample(text, 'letter_store_transactions_total')).toBeGreaterThan(0);
      expect(sample(text, 'letter_send_duration_seconds_count')).toBeGreaterThanOrEqual(3);
      socket.close();
    } finally {
      await server.stop();
    }
  });
});

describe('SIGTERM', () => {
  it(
    'closes every socket with 1012, keeps every acknowledged message and exits 0',
    { timeout: 180_000 },
    async () => {
      const dir = dataDir();
      const child = await startChild(dir);
      const alice = await register(child, 'term_a');
      const bob = await register(child, 'term_b');
      const conversationId = await directConversation(child, alice, bob);
      const sockets = [
        await TestSocket.connect(child, alice.accessToken),
        await TestSocket.connect(child, bob.accessToken),
      ];

      // Sends keep flowing from both sockets while the signal arrives.
      const acked = new Map<string, number>();
      let terminated = false;
      const enoughAcked = new Promise<void>((resolve) => {
        for (const socket of sockets) {
          socket.ws.on('message', (data) => {
            const frame = JSON.parse(String(data)) as {
              type: string;
              message?: { clientMsgId: string; seq: number };
            };
            if (frame.type !== 'ok' || !frame.message) return;
            acked.set(frame.message.clientMsgId, frame.message.seq);
            if (acked.size >= 40 && !terminated) {
              terminated = true;
              child.process.kill('SIGTERM');
              resolve();
            }
          });
        }
      });
      for (let i = 0; i < 60; i++) {
        sockets.forEach((socket, n) =>
          socket.sendRaw(
            JSON.stringify({
              type: 'send',
              id: i,
              conversationId,
              clientMsgId: `${n}-${i}`,
              body: `m ${i}`,
            }),
          ),
        );
      }
      await enoughAcked;

      const closes = await Promise.all(sockets.map((socket) => socket.closed));
      expect(closes.map((close) => close.code)).toEqual([1012, 1012]);
      const exit = await child.exited;
      expect(exit).toEqual({ code: 0, signal: null });

      const again = await startChild(dir);
      try {
        const history = await api(
          again,
          'GET',
          `/api/conversations/${conversationId}/messages?limit=200`,
          alice.accessToken,
        );
        expect(history.status).toBe(200);
        const messages = history.body.messages as { seq: number; clientMsgId: string }[];
        expect(messages.map((m) => m.seq)).toEqual(messages.map((_m, i) => i + 1));
        for (const [clientMsgId, seq] of acked) {
          const found = messages.filter((m) => m.clientMsgId === clientMsgId);
          expect(found, clientMsgId).toHaveLength(1);
          expect(found[0]!.seq, clientMsgId).toBe(seq);
        }
      } finally {
        expect((await again.stop('SIGTERM')).code).toBe(0);
      }
    },
  );

  it(
    'exits 0 on SIGTERM with no sockets open, and the next start answers /healthz',
    { timeout: 120_000 },
    async () => {
      const dir = dataDir();
      const child = await startChild(dir);
      expect((await api(child, 'GET', '/healthz')).body).toEqual({ status: 'ok' });
      expect(await child.stop('SIGTERM')).toEqual({ code: 0, signal: null });
      const again = await startChild(dir);
      try {
        expect((await api(again, 'GET', '/healthz')).status).toBe(200);
      } finally {
        expect((await again.stop('SIGTERM')).code).toBe(0);
      }
    },
  );
});

describe('logs', () => {
  it(
    'never contain passwords or tokens, even at the most verbose level',
    { timeout: 180_000 },
    async () => {
      const dir = dataDir();
      const child = await startChild(dir, { LETTER_LOG_LEVEL: 'trace' });
      const secrets = new Set<string>();
      const keep = (value: unknown) => {
        if (typeof value === 'string' && value.length > 0) secrets.add(value);
      };
      const keepTokens = (body: { accessToken?: string; refreshToken?: string }) => {
        keep(body.accessToken);
        keep(body.refreshToken);
      };
      try {
        const password = 'hunter2-correct-horse';
        const newPassword = 'staple-battery-horse-9';
        keep(password);
        keep(newPassword);
        const username = `logs_${process.pid}`;

        const registered = await api(child, 'POST', '/api/auth/register', undefined, {
          username,
          password,
        });
        expect(registered.status).toBe(201);
        keepTokens(registered.body);
        const alice = registered.body as TestUser;
        const bob = await register(child, 'logs_b');
        keepTokens(bob);

        const wrong = await api(child, 'POST', '/api/auth/login', undefined, {
          username,
          password: `${password}-typo`,
        });
        expect(wrong.status).toBe(401);
        keep(`${password}-typo`);
        const unknown = await api(child, 'POST', '/api/auth/login', undefined, {
          username: 'nobody_here',
          password,
        });
        expect(unknown.status).toBe(401);

        const loggedIn = await fetch(`${child.url}/api/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username, password }),
        });
        expect(loggedIn.status).toBe(200);
        const session = (await loggedIn.json()) as TestUser;
        keepTokens(session);
        const cookie = loggedIn.headers
          .getSetCookie()
          .find((c) => c.startsWith('letter_refresh='))!
          .split(';')[0]!;

        const rotated = await api(child, 'POST', '/api/auth/refresh', undefined, {
          refreshToken: alice.refreshToken,
        });
        expect(rotated.status).toBe(200);
        keepTokens(rotated.body);
        const byCookie = await fetch(`${child.url}/api/auth/refresh`, {
          method: 'POST',
          headers: { cookie },
        });
        expect(byCookie.status).toBe(200);
        keepTokens((await byCookie.json()) as TestUser);
        // A replayed refresh token (reuse detection) and a malformed body carrying a password.
        expect(
          (
            await api(child, 'POST', '/api/auth/refresh', undefined, {
              refreshToken: alice.refreshToken,
            })
          ).status,
        ).toBe(401);
        const malformed = await api(
          child,
          'POST',
          '/api/auth/login',
          undefined,
          `{"username":"${username}","password":"${password}"`,
        );
        expect(malformed.status).toBe(400);

        expect((await api(child, 'GET', '/api/me', session.accessToken)).status).toBe(200);
        expect((await api(child, 'GET', '/api/me', `${session.accessToken}x`)).status).toBe(401);
        const conversationId = await directConversation(child, session, bob);
        const headerSocket = await TestSocket.connect(child, session.accessToken);
        const frameSocket = await TestSocket.connect(child, bob.accessToken, false);
        const sent = await headerSocket.request({
          type: 'send',
          conversationId,
          clientMsgId: 'log-1',
          body: 'hello',
        });
        expect(sent.type).toBe('ok');
        await frameSocket.waitFor((f) => f.type === 'message');
        const badSocket = new TestSocket(child.wsUrl, {
          token: `${bob.accessToken}x`,
          header: false,
        });
        expect((await badSocket.closed).code).toBe(4401);

        const changed = await api(child, 'POST', '/api/me/password', session.accessToken, {
          currentPassword: password,
          newPassword,
        });
        expect(changed.status).toBe(204);
        const relogin = await api(child, 'POST', '/api/auth/login', undefined, {
          username,
          password: newPassword,
        });
        expect(relogin.status).toBe(200);
        keepTokens(relogin.body);
        expect(
          (await api(child, 'POST', '/api/auth/logout', relogin.body.accessToken)).status,
        ).toBe(204);

        headerSocket.close();
        frameSocket.close();
        await sleep(100);
      } finally {
        await child.stop('SIGTERM');
      }

      const output = child.output();
      // The log is not empty: requests were logged, so the absence below means something.
      expect(output).toContain('/api/auth/login');
      expect(output).toContain('/api/auth/refresh');
      for (const secret of secrets) {
        expect(output.includes(secret), `the log contains ${secret.slice(0, 12)}…`).toBe(false);
        // A token cut short is still a leak: look for its signature (or any long piece) alone too.
        const piece = secret.includes('.') ? secret.split('.').at(-1)! : secret.slice(0, 24);
        if (piece.length >= 16)
          expect(output.includes(piece), `the log contains part of ${secret.slice(0, 12)}…`).toBe(
            false,
          );
      }
    },
  );
});
