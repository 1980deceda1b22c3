/**
 * Handshakes that arrive together are authenticated together: the store look-ups of every
 * handshake read in one turn of the event loop (session check and the user for `ready`) are made
 * in one turn, so they travel to the store as one batch (one message to the SQLite worker)
 * instead of one round trip each (docs/performance.md, "Handshake and idle connections").
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../src/store/store.js';
import {
  openTestStore,
  register,
  startServer,
  TestSocket,
  type TestServer,
  type TestStore,
  type TestUser,
} from '../src/testing/harness.js';

/** The turns (microtask checkpoints) in which the handshake's store look-ups were made. */
const turns: number[] = [];
let turn = 0;
let inTurn = false;

function counting(store: Store): Store {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      if (property !== 'getSession' && property !== 'getUser') return value.bind(target);
      return (...args: unknown[]) => {
        if (!inTurn) {
          inTurn = true;
          queueMicrotask(() => {
            inTurn = false;
            turn++;
          });
        }
        turns.push(turn);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** Blocks the event loop, so that what clients sent meanwhile is read in one poll phase. */
function blockLoop(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until);
}

let testStore: TestStore;
let server: TestServer;
let users: TestUser[];

beforeAll(async () => {
  testStore = await openTestStore();
  server = await startServer({ store: counting(testStore.store) });
  users = await Promise.all([1, 2, 3].map(() => register(server, 'batch')));
});

afterAll(async () => {
  await server?.stop();
  await testStore?.cleanup();
});

describe('handshakes read in one turn', () => {
  it('with the token in the header: their look-ups are made in one turn', async () => {
    const port = Number(new URL(server.url).port);
    const sockets = await Promise.all(
      Array.from(
        { length: 24 },
        () =>
          new Promise<Socket>((resolve, reject) => {
            const socket = tcpConnect(port, '127.0.0.1', () => resolve(socket));
            socket.once('error', reject);
          }),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 50)); // all accepted by the server
    const ready = sockets.map(
      (socket) =>
        new Promise<void>((resolve) => {
          let seen = '';
          socket.on('data', (chunk: Buffer) => {
            seen += chunk.toString('latin1');
            if (seen.includes('"type":"ready"')) resolve();
          });
        }),
    );
    turns.length = 0;
    sockets.forEach((socket, i) =>
      socket.write(
        `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n` +
          `Authorization: Bearer ${users[i % users.length]!.accessToken}\r\n\r\n`,
      ),
    );
    blockLoop(100);
    await Promise.all(ready);
    // 24 users for `ready`, and the sessions not cached yet.
    expect(turns.length).toBeGreaterThanOrEqual(24);
    // One turn (two should the reads straddle a poll phase); one each without the batching.
    expect(new Set(turns).size).toBeLessThanOrEqual(2);
    for (const socket of sockets) socket.destroy();
  });

  it('with a first auth frame: their look-ups are made in one turn', async () => {
    const sockets = Array.from({ length: 15 }, () => new TestSocket(server.wsUrl));
    await Promise.all(sockets.map((s) => new Promise((resolve) => s.ws.once('open', resolve))));
    await new Promise((resolve) => setTimeout(resolve, 50));
    turns.length = 0;
    sockets.forEach((socket, i) =>
      socket.sendRaw(JSON.stringify({ type: 'auth', token: users[i % users.length]!.accessToken })),
    );
    blockLoop(100);
    await Promise.all(sockets.map((s) => s.waitFor((f) => f.type === 'ready')));
    expect(turns.length).toBeGreaterThanOrEqual(15);
    expect(new Set(turns).size).toBeLessThanOrEqual(2);
    for (const socket of sockets) socket.close();
  });
});
