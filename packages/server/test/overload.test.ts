/**
 * Oversize, flood and slow-consumer input: every route that reads a body refuses an oversize one
 * with 413, a flood of sends is answered `rate_limited` and then cut with 1008, and a socket that
 * never reads is cut with 1008 while the server's buffer for it stays bounded. The server keeps
 * serving everyone else throughout. (Oversize frames, 1009, are in bad-input.test.ts.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Socket } from 'node:net';
import type WebSocket from 'ws';
import { limits } from '@letter/protocol';
import {
  api,
  directConversation,
  register,
  sleep,
  startServer,
  TestSocket,
  type Frame,
  type TestServer,
} from '../src/testing/harness.js';
import { loadConfig } from '../src/config.js';
import { ManualClock } from '../src/util/clock.js';
import { registeredRoutes } from './security-matrix.table.js';

let server: TestServer | undefined;
const sockets: TestSocket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.close();
  await server?.stop();
  server = undefined;
});

describe('oversize REST bodies', () => {
  it('every route that can take a body answers 413 payload_too_large to one over the limit', async () => {
    server = await startServer();
    const alice = await register(server, 'big_a');
    const bob = await register(server, 'big_b');
    const conversation = await directConversation(server, alice, bob);
    const body = JSON.stringify({ pad: 'a'.repeat(limits.maxJsonBodyBytes + 1024) });
    const routes = registeredRoutes(server).filter((r) => !r.startsWith('GET '));
    expect(routes.length).toBeGreaterThan(15);
    const answers: string[] = [];
    for (const route of routes) {
      const [method, pattern] = route.split(' ') as [string, string];
      const path = pattern
        .replace(':id', conversation)
        .replace(':seq', '1')
        .replace(':userId', bob.user.id);
      const result = await api(server, method, path, alice.accessToken, body);
      answers.push(`${route} → ${result.status} ${result.body?.error?.code}`);
    }
    expect(answers).toEqual(routes.map((route) => `${route} → 413 payload_too_large`));
    // Nothing got through, and the server still answers.
    const history = await api(
      server,
      'GET',
      `/api/conversations/${conversation}/messages`,
      alice.accessToken,
    );
    expect(history).toMatchObject({ status: 200, body: { messages: [] } });
  });
});

describe('a flood of sends', () => {
  it('is answered rate_limited with retryAfter, then the socket is closed with 1008', async () => {
    // A clock that never moves: the send bucket (60 at once) never refills during the test.
    server = await startServer({ config: { rateLimits: true }, clock: new ManualClock() });
    const alice = await register(server, 'flood_a');
    const bob = await register(server, 'flood_b');
    const conversation = await directConversation(server, alice, bob);
    const flooder = await TestSocket.connect(server, alice.accessToken);
    const bobSocket = await TestSocket.connect(server, bob.accessToken);
    sockets.push(flooder, bobSocket);

    const answers: string[] = [];
    let retryAfter = 0;
    for (let batch = 0; batch < 10 && flooder.ws.readyState === flooder.ws.OPEN; batch++) {
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          Promise.race([
            flooder.request({
              type: 'send',
              conversationId: conversation,
              clientMsgId: `flood-${batch}-${i}`,
              body: 'flood',
            }),
            // Frames still in flight when the socket is closed get no answer.
            flooder.closed.then(() => ({ type: 'unanswered' }) as Frame),
          ]),
        ),
      );
      for (const frame of results) {
        answers.push(frame.type === 'error' ? (frame.code ?? '') : frame.type);
        if ('retryAfter' in frame) retryAfter = Math.max(retryAfter, Number(frame.retryAfter));
      }
    }
    const oks = answers.filter((a) => a === 'ok').length;
    const limited = answers.filter((a) => a === 'rate_limited').length;
    // The send bucket holds 60; a per-socket frame limit may refuse some earlier.
    expect(oks).toBeGreaterThan(0);
    expect(oks).toBeLessThanOrEqual(60);
    expect(limited).toBeGreaterThan(0);
    expect(retryAfter).toBeGreaterThan(0);
    expect((await flooder.closed).code).toBe(1008);

    // Only the accepted sends were stored and delivered; everyone else is served as before.
    const history = await api(
      server,
      'GET',
      `/api/conversations/${conversation}/messages?limit=200`,
      bob.accessToken,
    );
    expect(history.body.messages).toHaveLength(oks);
    expect((await bobSocket.request({ type: 'ping' })).type).toBe('ok');
    const rest = await api(
      server,
      'POST',
      `/api/conversations/${conversation}/messages`,
      alice.accessToken,
      { clientMsgId: 'after-flood', body: 'still limited' },
    );
    expect(rest.status).toBe(429);
    expect(rest.body.error.code).toBe('rate_limited');
    expect(Number(rest.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('a slow consumer', () => {
  it('that never reads is cut with 1008; its buffer on the server never grows past the cap', async () => {
    server = await startServer();
    // The default LETTER_MAX_BUFFERED_BYTES. (A much smaller cap is hit by any burst: the frames
    // of one event-loop turn wait corked in the same buffer.)
    const cap = loadConfig({}).maxBufferedBytes;
    const reader = await register(server, 'slow_r');
    const sender = await register(server, 'slow_s');
    const conversation = await directConversation(server, reader, sender);
    const slow = await TestSocket.connect(server, reader.accessToken);
    const senderSocket = await TestSocket.connect(server, sender.accessToken);
    sockets.push(slow, senderSocket);
    // The reader stops reading: the kernel buffers fill, then the server's own.
    const tcp = (slow.ws as unknown as { _socket: Socket })._socket;
    tcp.pause();

    // The server-side sockets, to see the cut and how much the server holds for the reader.
    const transport = server.node.transport as unknown as { states: Map<WebSocket, unknown> };
    const serverSockets = () => [...transport.states.keys()];
    const cut = () => serverSockets().some((ws) => ws.readyState !== ws.OPEN);
    const body = 'x'.repeat(4000);
    let sent = 0;
    let mostBuffered = 0;
    // 12 MB at most: far more than the loopback socket buffers hold.
    while (!cut() && sent < 3000) {
      const batch = await Promise.all(
        Array.from({ length: 25 }, () =>
          senderSocket.request({
            type: 'send',
            conversationId: conversation,
            clientMsgId: `slow-${sent++}`,
            body,
          }),
        ),
      );
      for (const answer of batch) expect(answer.type).toBe('ok');
      for (const ws of serverSockets()) mostBuffered = Math.max(mostBuffered, ws.bufferedAmount);
    }
    expect(cut(), `not cut after ${sent} messages of 4 kB`).toBe(true);
    expect(mostBuffered).toBeLessThanOrEqual(cap);

    tcp.resume();
    expect((await slow.closed).code).toBe(1008);
    // It got only what fitted in the buffers, never the whole backlog.
    expect(slow.of('message').length).toBeLessThan(sent);

    // The sender's socket, and the reader's next one, are served as before.
    expect((await senderSocket.request({ type: 'ping' })).type).toBe('ok');
    const again = await TestSocket.connect(server, reader.accessToken);
    sockets.push(again);
    const sync = await again.request({ type: 'sync', cursors: { [conversation]: sent - 5 } });
    expect(sync.type).toBe('ok');
    await sleep(0);
    expect(again.of('message').map((f) => f.message.seq)).toEqual([
      sent - 4,
      sent - 3,
      sent - 2,
      sent - 1,
      sent,
    ]);
  });
});

describe('a fast reader', () => {
  it('is not taken for a slow consumer when one sync replays more than the cap at once', async () => {
    server = await startServer();
    const reader = await register(server, 'burst_r');
    const sender = await register(server, 'burst_s');
    const conversation = await directConversation(server, reader, sender);
    // 4000 characters of 3 UTF-8 bytes: 12 kB a message, 120 of them are past the 1 MiB cap.
    const body = '字'.repeat(4000);
    const count = Math.ceil(loadConfig({}).maxBufferedBytes / (3 * 4000)) + 30;
    for (let i = 0; i < count; i++) {
      const sent = await api(
        server,
        'POST',
        `/api/conversations/${conversation}/messages`,
        sender.accessToken,
        { clientMsgId: `burst-${i}`, body },
      );
      expect(sent.status).toBe(201);
    }
    const socket = await TestSocket.connect(server, reader.accessToken);
    sockets.push(socket);
    const sync = await Promise.race([
      socket.request({ type: 'sync', cursors: { [conversation]: 0 } }, 15_000),
      socket.closed.then(({ code }) => ({ type: `closed ${code}` })),
    ]);
    expect(sync.type).toBe('ok');
    expect(socket.of('message')).toHaveLength(count);
    expect((await socket.request({ type: 'ping' })).type).toBe('ok');
  });
});
