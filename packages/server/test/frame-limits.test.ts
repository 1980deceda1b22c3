/**
 * What one client can make the server do: a frame bucket per socket (flood → rate_limited, then
 * 1008), at most `limits.maxFramesInFlight` frames worked on per socket (then the transport stops
 * reading), no store reads for a `sync` whose socket closed, sockets per user and sockets per
 * address that have not authenticated yet.
 */
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { limits } from '@letter/protocol';
import type { Store } from '../src/store/store.js';
import { openSqliteStore } from '../src/store/sqlite/worker-store.js';
import {
  directConversation,
  register,
  sleep,
  startServer,
  tempDir,
  TestSocket,
  type Frame,
  type TestServer,
} from '../src/testing/harness.js';

const sockets: TestSocket[] = [];
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.close();
});

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (condition()) return;
    await sleep(10);
  }
  throw new Error(`timed out waiting until ${what}`);
}

/** Calls that wait until the test lets them go, one by one or all at once. */
class Gate {
  private waiters: (() => void)[] = [];
  private open = false;
  wait(): Promise<void> {
    if (this.open) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
  releaseOne(): void {
    this.waiters.shift()?.();
  }
  releaseAll(): void {
    this.open = true;
    for (const waiter of this.waiters.splice(0)) waiter();
  }
}

/** A store whose `method` records each call and holds its answer at `gate` while `armed`. */
function gatedStore(inner: Store, method: keyof Store, gate: Gate) {
  const calls: unknown[][] = [];
  const control = { calls, armed: false };
  const store = new Proxy(inner, {
    get(target, key) {
      const value = Reflect.get(target, key) as unknown;
      if (typeof value !== 'function') return value;
      if (key !== method) return value.bind(target);
      return (...args: unknown[]) => {
        if (!control.armed) return value.apply(target, args);
        calls.push(args);
        // The call reaches the store at once; its answer waits, so a caller that goes on
        // after it does so in the same turn as the release.
        return (value.apply(target, args) as Promise<unknown>).then(async (result) => {
          await gate.wait();
          return result;
        });
      };
    },
  });
  return { store, control };
}

describe('the frame bucket', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ config: { rateLimits: true } });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('answers a flood with rate_limited, then closes the socket with 1008', async () => {
    const ana = await register(server, 'flood');
    const socket = await TestSocket.connect(server, ana.accessToken);
    sockets.push(socket);
    // Pings, and frames that would fail anyway: every type counts.
    for (let i = 0; i < 400; i++)
      socket.sendRaw(i % 2 ? JSON.stringify({ type: 'ping', id: `p${i}` }) : 'not json');
    const closed = await socket.closed;
    expect(closed).toEqual({ code: 1008, reason: 'rate limit' });
    const oks = socket.of('ok');
    const refused = socket.frames.filter((f) => f.code === 'rate_limited');
    // The burst, and whatever trickled in while the frames were read.
    expect(oks.length + socket.frames.filter((f) => f.code === 'bad_request').length).toBeLessThan(
      limits.frameBurst + 20,
    );
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.find((f) => f.id !== undefined)).toMatchObject({
      type: 'error',
      id: expect.stringMatching(/^p\d+$/),
      retryAfter: expect.any(Number),
    });
  });

  it('lets a socket that stays under it go on', async () => {
    const ben = await register(server, 'steady');
    const socket = await TestSocket.connect(server, ben.accessToken);
    sockets.push(socket);
    // A little over the burst: refused a few times, told when to retry, not cut off.
    const sent = limits.frameBurst + 15; // fewer refusals than the 20 strikes
    for (let i = 0; i < sent; i++) socket.sendRaw('{"type":"ping","id":1}');
    await until(() => socket.frames.length === 1 + sent, 'every frame is answered');
    const refused = socket.frames.filter((f) => f.type === 'error');
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0]).toMatchObject({ code: 'rate_limited', id: 1, retryAfter: 1 });
    expect(socket.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('is off with LETTER_RATE_LIMITS=off', async () => {
    const unlimited = await startServer();
    try {
      const cat = await register(unlimited, 'unlimited');
      const socket = await TestSocket.connect(unlimited, cat.accessToken);
      sockets.push(socket);
      const answers = await Promise.all(
        Array.from({ length: 3 * limits.frameBurst }, () => socket.request({ type: 'ping' })),
      );
      expect(answers.every((answer) => answer.type === 'ok')).toBe(true);
    } finally {
      await unlimited.stop();
    }
  });
});

describe('work per socket', () => {
  let server: TestServer;
  let store: Awaited<ReturnType<typeof openSqliteStore>>;
  const positions = new Gate();
  const history = new Gate();
  let positionCalls: ReturnType<typeof gatedStore>['control'];
  let historyCalls: ReturnType<typeof gatedStore>['control'];

  beforeAll(async () => {
    const dataDir = tempDir();
    store = await openSqliteStore({ file: join(dataDir, 'letter.db') });
    const byPosition = gatedStore(store, 'advancePosition', positions);
    const byHistory = gatedStore(byPosition.store, 'history', history);
    positionCalls = byPosition.control;
    historyCalls = byHistory.control;
    server = await startServer({ store: byHistory.store, dataDir });
  });
  afterAll(async () => {
    positions.releaseAll();
    history.releaseAll();
    await server.stop();
    await store.close();
  });

  it(`works on at most ${limits.maxFramesInFlight} frames of a socket at once, reading the rest later`, async () => {
    const [ana, ben] = await Promise.all([register(server, 'busy'), register(server, 'idle')]);
    const conversationId = await directConversation(server, ana, ben);
    const busy = await TestSocket.connect(server, ana.accessToken);
    const idle = await TestSocket.connect(server, ben.accessToken);
    sockets.push(busy, idle);
    positionCalls.armed = true;
    const total = limits.maxFramesInFlight + 8;
    const answers: Promise<Frame>[] = [];
    for (let i = 1; i <= total; i++)
      answers.push(busy.request({ type: 'read', conversationId, seq: i }));

    await until(
      () => positionCalls.calls.length === limits.maxFramesInFlight,
      `${limits.maxFramesInFlight} reads are in the store`,
    );
    await until(() => server.node.transport.pausedCount === 1, 'the socket is paused');
    // Other sockets are served meanwhile, and the busy one got no further.
    expect((await idle.request({ type: 'ping' })).type).toBe('ok');
    await sleep(50);
    expect(positionCalls.calls).toHaveLength(limits.maxFramesInFlight);

    // One done: exactly one more, the next in order.
    positions.releaseOne();
    await until(
      () => positionCalls.calls.length === limits.maxFramesInFlight + 1,
      'one more read started',
    );
    expect(positionCalls.calls.at(-1)?.[3]).toBe(limits.maxFramesInFlight + 1);

    positions.releaseAll();
    const answered = await Promise.all(answers);
    expect(answered).toHaveLength(total);
    expect(positionCalls.calls.map((call) => call[3])).toEqual(
      Array.from({ length: total }, (_, i) => i + 1),
    );
    expect(server.node.transport.pausedCount).toBe(0);
    positionCalls.armed = false;
  });

  it('stops a sync whose socket closed: no more store reads for it', async () => {
    const [ana, ...peers] = await Promise.all([
      register(server, 'syncer'),
      register(server, 'peer'),
      register(server, 'peer'),
      register(server, 'peer'),
    ]);
    const sender = await TestSocket.connect(server, ana.accessToken);
    sockets.push(sender);
    const cursors: Record<string, number> = {};
    for (const peer of peers) {
      const conversationId = await directConversation(server, ana, peer);
      const sent = await sender.request({
        type: 'send',
        conversationId,
        clientMsgId: `m-${conversationId}`,
        body: 'hello',
      });
      expect(sent.message.seq).toBe(1);
      cursors[conversationId] = 0;
    }
    const syncing = await TestSocket.connect(server, ana.accessToken);
    historyCalls.armed = true;
    syncing.sendRaw(JSON.stringify({ type: 'sync', id: 's1', cursors }));
    await until(() => historyCalls.calls.length === 1, 'the first replay read started');

    syncing.close();
    await syncing.closed;
    await until(() => server.node.hub.connectionCount === 1, 'the server saw the close');
    history.releaseAll();
    // The sync's next step runs in the turn its read answers; give it a few turns.
    await sleep(50);
    expect(historyCalls.calls).toHaveLength(1);
    historyCalls.armed = false;
  });
});

describe('sockets per user and per address', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ config: { maxUnauthenticatedSocketsPerIp: 3 } });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('closes the 21st socket of one user with 1008, and lets one in once another left', async () => {
    const [ana, ben] = await Promise.all([register(server, 'many'), register(server, 'other')]);
    for (let i = 0; i < 20; i++) sockets.push(await TestSocket.connect(server, ana.accessToken));
    const extra = new TestSocket(server.wsUrl, { token: ana.accessToken });
    expect(await extra.closed).toEqual({ code: 1008, reason: 'too many sockets for this user' });
    // By first frame too.
    const framed = new TestSocket(server.wsUrl, { token: ana.accessToken, header: false });
    expect(await framed.closed).toEqual({ code: 1008, reason: 'too many sockets for this user' });
    expect(extra.of('ready')).toEqual([]);

    sockets.push(await TestSocket.connect(server, ben.accessToken));
    const leaving = sockets.shift()!;
    leaving.close();
    await leaving.closed;
    await until(() => server.node.transport.socketCount === 20, 'the server saw the close');
    sockets.push(await TestSocket.connect(server, ana.accessToken));
  });

  /** Opens a socket that does not authenticate; resolves with the handshake's status. */
  function anonymous(address: string): Promise<{ status: number; ws: WebSocket }> {
    const ws = new WebSocket(server.wsUrl, { headers: { 'x-forwarded-for': address } });
    ws.on('error', () => {});
    return new Promise((resolve) => {
      ws.once('open', () => resolve({ status: 101, ws }));
      ws.once('unexpected-response', (_request, response) =>
        resolve({ status: response.statusCode ?? 0, ws }),
      );
    });
  }

  it('refuses the handshake of one address over its unauthenticated sockets with 429', async () => {
    const cat = await register(server, 'anon');
    await until(() => server.node.transport.socketCount === 0, 'earlier sockets are gone');
    const first = await Promise.all([1, 2, 3].map(() => anonymous('203.0.113.7')));
    expect(first.map((s) => s.status)).toEqual([101, 101, 101]);
    const fourth = await anonymous('203.0.113.7');
    expect(fourth.status).toBe(429);
    // Another address is not affected.
    const elsewhere = await anonymous('203.0.113.8');
    expect(elsewhere.status).toBe(101);

    // A socket that authenticates no longer counts; nor does one that closed.
    const authed = first[0]!.ws;
    const ready = new Promise((resolve) =>
      authed.on('message', (data) => {
        if (JSON.parse(String(data)).type === 'ready') resolve(undefined);
      }),
    );
    authed.send(JSON.stringify({ type: 'auth', token: cat.accessToken }));
    await ready;
    const again = await anonymous('203.0.113.7');
    expect(again.status).toBe(101);
    expect((await anonymous('203.0.113.7')).status).toBe(429);
    const closing = first[1]!.ws;
    closing.close();
    await new Promise((resolve) => closing.once('close', resolve));
    await until(() => server.node.transport.socketCount === 4, 'the server saw the close');
    expect((await anonymous('203.0.113.7')).status).toBe(101);
    for (const { ws } of [...first, elsewhere, again]) ws.close();
  });
});
