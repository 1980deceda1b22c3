/**
 * A socket's state on the server is one object with methods on its prototype, and the ws
 * listeners are shared by every socket: an idle node holds what each socket holds, and a
 * handshake makes what each socket needs (docs/performance.md, "Connect + auth (27 Nov, round
 * four)": nine closures and a context per socket before, 0.5 KiB of heap).
 */
import type { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  openTestStore,
  register,
  startServer,
  TestSocket,
  type TestServer,
  type TestStore,
  type TestUser,
} from '../src/testing/harness.js';

let testStore: TestStore;
let server: TestServer;
let users: TestUser[];

beforeAll(async () => {
  testStore = await openTestStore();
  server = await startServer({ store: testStore.store });
  users = await Promise.all([1, 2].map(() => register(server, 'state')));
});

afterAll(async () => {
  await server?.stop();
  await testStore?.cleanup();
});

/** The server's side of every open socket (the transport's map, private to it). */
const serverSockets = (): WebSocket[] => [
  ...(server.node.transport as unknown as { states: Map<WebSocket, unknown> }).states.keys(),
];

describe('the transport per socket', () => {
  it('adds the same listener functions to every socket, header or first-frame auth', async () => {
    const sockets = [
      new TestSocket(server.wsUrl, { token: users[0]!.accessToken }),
      new TestSocket(server.wsUrl, { token: users[1]!.accessToken }),
      new TestSocket(server.wsUrl, { token: users[0]!.accessToken, header: false }),
    ];
    const opened = new Promise((resolve) => sockets[2]!.ws.once('open', resolve));
    await Promise.all(sockets.slice(0, 2).map((s) => s.waitFor((f) => f.type === 'ready')));
    await opened;
    sockets[2]!.sendRaw(JSON.stringify({ type: 'auth', token: users[0]!.accessToken }));
    await sockets[2]!.waitFor((f) => f.type === 'ready');

    const open = serverSockets();
    expect(open).toHaveLength(3);
    for (const event of ['message', 'close', 'pong', 'error'] as const) {
      const listeners = open.map((ws) => ws.listeners(event));
      for (const list of listeners) expect(list, event).toHaveLength(1);
      expect(new Set(listeners.map((list) => list[0])).size, event).toBe(1);
    }
    // And they still work: a frame is answered, a close is counted.
    sockets[0]!.sendRaw(JSON.stringify({ type: 'nonsense', id: 'x1' }));
    await sockets[0]!.waitFor((f) => f.type === 'error');
    for (const socket of sockets) socket.close();
    await Promise.all(sockets.map((s) => s.closed));
    await expect.poll(() => serverSockets().length).toBe(0);
  });
});
