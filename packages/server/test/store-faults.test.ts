/**
 * A node whose store fails (any store: a wrapper answers `unavailable` for chosen methods, as
 * either store does with its database away) and whose bus is down: sends and reads answer
 * `unavailable` (503) and nothing of them is stored, /healthz lists what is down, and background
 * work (presence announcements, lastSeenAt) logs and degrades instead of leaving an unhandled
 * rejection (which vitest.setup.ts turns into a failure of the test it happened in).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LetterError } from '@letter/protocol';
import { MemoryBus } from '../src/bus/memory.js';
import type { Store } from '../src/store/store.js';
import { openSqliteStore } from '../src/store/sqlite/worker-store.js';
import {
  api,
  directConversation,
  register,
  startServer,
  tempDir,
  TestSocket,
  type TestServer,
  type TestUser,
} from '../src/testing/harness.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A bus whose broker can be "away" for /healthz. */
class SwitchableBus extends MemoryBus {
  up = true;
  override isUp(): boolean {
    return this.up && super.isUp();
  }
}

describe('a node whose store or bus is away', () => {
  const failing = new Set<string>();
  const bus = new SwitchableBus();
  let real: Store;
  let server: TestServer;
  let ana: TestUser;
  let ben: TestUser;
  let conversationId: string;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    real = await openSqliteStore({ file: `${tempDir('letter-store-faults-')}/letter.db` });
    // Every method of the real store, except those in `failing`, which answer as a store does
    // with its database away.
    const store = new Proxy(real, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver) as unknown;
        if (typeof value !== 'function' || typeof name !== 'string') return value;
        return (...args: unknown[]) =>
          failing.has(name)
            ? Promise.reject(new LetterError('unavailable', 'The database is unavailable.'))
            : (value as (...a: unknown[]) => unknown).apply(target, args);
      },
    });
    server = await startServer({ store, bus });
    ana = await register(server, 'sf_ana');
    ben = await register(server, 'sf_ben');
    conversationId = await directConversation(server, ana, ben);
  });

  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await server.stop();
    await bus.close();
    await real.close();
  });

  const connect = async (user: TestUser) => {
    const socket = await TestSocket.connect(server, user.accessToken);
    sockets.push(socket);
    return socket;
  };

  it('answers unavailable for sends and reads, stores nothing, and works once the store is back', async () => {
    const socket = await connect(ana);
    failing.add('appendMessage');
    expect(
      await socket.request({ type: 'send', conversationId, clientMsgId: 'lost', body: 'lost' }),
    ).toMatchObject({ type: 'error', code: 'unavailable' });
    const rest = await api(
      server,
      'POST',
      `/api/conversations/${conversationId}/messages`,
      ana.accessToken,
      { clientMsgId: 'lost-rest', body: 'lost-rest' },
    );
    expect([rest.status, rest.body.error.code]).toEqual([503, 'unavailable']);
    failing.add('history');
    const read = await api(
      server,
      'GET',
      `/api/conversations/${conversationId}/messages`,
      ana.accessToken,
    );
    expect([read.status, read.body.error.code]).toEqual([503, 'unavailable']);
    failing.clear();
    expect(
      await socket.request({ type: 'send', conversationId, clientMsgId: 'kept', body: 'kept' }),
    ).toMatchObject({ type: 'ok' });
    const history = await api(
      server,
      'GET',
      `/api/conversations/${conversationId}/messages`,
      ana.accessToken,
    );
    expect(history.body.messages.map((m: { body: string }) => m.body)).toEqual(['kept']);
  });

  it('a cookie refresh with the database away answers 503 and keeps the cookie', async () => {
    const login = await fetch(`${server.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: ana.user.username, password: 'correct horse battery' }),
    });
    const cookie = login.headers.get('set-cookie')?.split(';')[0];
    expect(cookie).toMatch(/^letter_refresh=/);
    failing.add('rotateRefreshToken');
    const refresh = await fetch(`${server.url}/api/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: cookie! },
      body: '{}',
    });
    failing.clear();
    expect(refresh.status).toBe(503);
    expect(refresh.headers.get('set-cookie')).toBeNull();
  });

  it('/healthz lists the database and the bus while they are away', async () => {
    const health = () => api(server, 'GET', '/healthz');
    expect(await health()).toMatchObject({ status: 200, body: { status: 'ok' } });
    failing.add('ping');
    expect(await health()).toMatchObject({
      status: 503,
      body: { status: 'degraded', down: ['database'] },
    });
    bus.up = false;
    expect((await health()).body).toEqual({ status: 'degraded', down: ['database', 'bus'] });
    failing.clear();
    expect((await health()).body).toEqual({ status: 'degraded', down: ['bus'] });
    bus.up = true;
    expect(await health()).toMatchObject({ status: 200, body: { status: 'ok' } });
  });

  it('presence changes with the store away are logged and skipped, then announced again', async () => {
    for (const socket of sockets.splice(0)) socket.close();
    await sleep(400); // past the 200 ms grace in tests
    const benSocket = await connect(ben);
    // Ana comes online: the audience cannot be read, nothing is announced, nothing breaks.
    failing.add('presenceAudience');
    const anaSocket = await connect(ana);
    await sleep(100);
    expect(benSocket.of('presence').filter((f) => f.userId === ana.user.id)).toEqual([]);
    // Ana goes offline: lastSeenAt cannot be saved, the announcement still goes out.
    failing.clear();
    failing.add('setLastSeen');
    anaSocket.close();
    await benSocket.waitFor(
      (f) => f.type === 'presence' && f.userId === ana.user.id && f.online === false,
    );
    failing.clear();
    await connect(ana);
    await benSocket.waitFor(
      (f) => f.type === 'presence' && f.userId === ana.user.id && f.online === true,
    );
  });
});
