/**
 * Handshakes that arrive together reach the store together, at once: the look-ups of every
 * handshake read in one poll phase (session check and the user for `ready`) are made in that
 * poll phase, and on SQLite they leave in one message to the worker (the store client gathers
 * the calls of a turn, worker-store.ts), not one round trip each, and not a loop iteration later
 * (docs/performance.md, "Handshake and idle connections").
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../src/store/store.js';
import {
  openTestStore,
  register,
  startServer,
  testEngine,
  TestSocket,
  type TestServer,
  type TestStore,
  type TestUser,
} from '../src/testing/harness.js';

const lookups = new Set(['getSession', 'getUser']);

/**
 * Loop iterations, counted by a chain of setImmediate: the count goes up at the start of each
 * check phase, so everything a poll phase does sees the same count.
 */
let iteration = 0;
let counting = false;
function tick(): void {
  iteration++;
  if (counting) setImmediate(tick);
}
function startCounting(): void {
  if (counting) return;
  counting = true;
  setImmediate(tick);
}

/** The iteration of each handshake look-up, and of each worker message carrying some. */
const looked: number[] = [];
const posts: { iteration: number; lookups: number }[] = [];

function recording(store: Store): Store {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      if (typeof property !== 'string' || !lookups.has(property)) return value.bind(target);
      return (...args: unknown[]) => {
        looked.push(iteration);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

// The SQLite store client's messages to its worker (on PostgreSQL there is no worker).
const postMessage = Worker.prototype.postMessage;
Worker.prototype.postMessage = function (this: Worker, message: unknown, ...rest: never[]) {
  const calls = (message as { type?: string; calls?: { method: string }[] }).calls;
  const n = calls?.filter((call) => lookups.has(call.method)).length ?? 0;
  if (n > 0) posts.push({ iteration, lookups: n });
  return postMessage.call(this, message, ...rest);
};

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
  server = await startServer({ store: recording(testStore.store) });
  users = await Promise.all([1, 2, 3].map(() => register(server, 'batch')));
});

afterEach(() => {
  counting = false;
});

afterAll(async () => {
  Worker.prototype.postMessage = postMessage;
  await server?.stop();
  await testStore?.cleanup();
});

/**
 * `read`: the iteration whose poll phase read the handshakes. Their look-ups are made in it
 * (or the next, should the reads straddle two poll phases); on SQLite they leave in at most two
 * worker messages, each in the check phase that ends the iteration of its look-ups.
 */
function expectBatched(read: number, handshakes: number): void {
  // A user each for `ready`, and the sessions not cached yet.
  expect(looked.length).toBeGreaterThanOrEqual(handshakes);
  expect(Math.min(...looked)).toBe(read);
  expect(Math.max(...looked)).toBeLessThanOrEqual(read + 1);
  if (testEngine !== 'sqlite') return;
  expect(posts.reduce((sum, post) => sum + post.lookups, 0)).toBe(looked.length);
  expect(posts.length).toBeLessThanOrEqual(2);
  // The check phase of iteration i sees the count i + 1.
  for (const post of posts) expect(post.iteration).toBeLessThanOrEqual(read + 2);
  expect(posts[0]!.iteration).toBe(read + 1);
}

describe('handshakes read in one turn', () => {
  it('with the token in the header: their look-ups reach the store together, at once', async () => {
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
    startCounting();
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
    looked.length = 0;
    posts.length = 0;
    sockets.forEach((socket, i) =>
      socket.write(
        `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n` +
          `Authorization: Bearer ${users[i % users.length]!.accessToken}\r\n\r\n`,
      ),
    );
    blockLoop(100);
    // A timer's callback: the poll phase of this same iteration reads the handshakes.
    const read = iteration;
    await Promise.all(ready);
    expectBatched(read, 24);
    for (const socket of sockets) socket.destroy();
  });

  it('with a first auth frame: their look-ups reach the store together, at once', async () => {
    const sockets = Array.from({ length: 15 }, () => new TestSocket(server.wsUrl));
    await Promise.all(sockets.map((s) => new Promise((resolve) => s.ws.once('open', resolve))));
    startCounting();
    await new Promise((resolve) => setTimeout(resolve, 50));
    looked.length = 0;
    posts.length = 0;
    sockets.forEach((socket, i) =>
      socket.sendRaw(JSON.stringify({ type: 'auth', token: users[i % users.length]!.accessToken })),
    );
    blockLoop(100);
    const read = iteration;
    await Promise.all(sockets.map((s) => s.waitFor((f) => f.type === 'ready')));
    expectBatched(read, 15);
    for (const socket of sockets) socket.close();
  });

  it('with the token in the header: the 101 and `ready` leave in one write', async () => {
    const port = Number(new URL(server.url).port);
    const socket = tcpConnect(port, '127.0.0.1');
    const first = new Promise<string>((resolve) =>
      socket.once('data', (chunk: Buffer) => resolve(chunk.toString('latin1'))),
    );
    socket.write(
      `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
        `Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n` +
        `Authorization: Bearer ${users[0]!.accessToken}\r\n\r\n`,
    );
    // One segment on loopback, so one read: both in the first chunk the client gets.
    const chunk = await first;
    expect(chunk).toMatch(/^HTTP\/1\.1 101 /);
    expect(chunk).toContain('"type":"ready"');
    socket.destroy();
  });

  it('with the token in the header: a handshake ws refuses still gets its answer', async () => {
    // The socket is corked before ws looks at it: its 400 must not stay behind the cork.
    const port = Number(new URL(server.url).port);
    const socket = tcpConnect(port, '127.0.0.1');
    let seen = '';
    socket.on('data', (chunk: Buffer) => (seen += chunk.toString('latin1')));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.write(
      `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
        `Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: short\r\n` +
        `Authorization: Bearer ${users[0]!.accessToken}\r\n\r\n`,
    );
    await closed;
    expect(seen).toMatch(/^HTTP\/1\.1 400 /);
  });
});
