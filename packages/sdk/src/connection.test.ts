/** The WebSocket lifecycle: first-frame auth, requests, close codes, backoff, heartbeat. */
import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.js';
import { LetterError, TimeoutError } from './errors.js';
import { FakeClock, FakeServer, createTestClient, seededRandom, settle } from './testing/index.js';
import type { LetterClientOptions } from './client.js';

async function online(options: LetterClientOptions = {}) {
  const clock = new FakeClock();
  const server = new FakeServer({ clock });
  const alice = server.addUser('alice', 'Alice');
  const bob = server.addUser('bob', 'Bob');
  server.openDirect(alice.id, bob.id);
  const client = createTestClient(server, options);
  const statuses: string[] = [];
  client.events.on('connection', (s) => statuses.push(s));
  await client.login('alice', 'password123');
  await settle();
  const sockets = () => server.socketsOf(alice.id);
  return { clock, server, alice, client, statuses, sockets };
}

describe('backoff', () => {
  it('keeps every delay within [0, min(cap, base·2^attempt)) and the ceilings grow to the cap', () => {
    for (const seed of [1, 2, 3, 42, 1234]) {
      const backoff = new Backoff({ baseMs: 500, capMs: 30_000 }, seededRandom(seed));
      for (let attempt = 0; attempt < 40; attempt++) {
        const ceiling = Math.min(30_000, 500 * 2 ** attempt);
        expect(backoff.ceiling(attempt)).toBe(ceiling);
        const delay = backoff.next();
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThan(ceiling);
      }
    }
    const backoff = new Backoff({ baseMs: 500, capMs: 30_000 }, () => 0.999_999);
    const delays = Array.from({ length: 10 }, () => backoff.next());
    expect(delays).toEqual([499, 999, 1999, 3999, 7999, 15_999, 29_999, 29_999, 29_999, 29_999]);
    backoff.reset();
    expect(backoff.next()).toBe(499);
    // Huge attempt counts do not overflow into NaN.
    expect(new Backoff({ baseMs: 500, capMs: 30_000 }, () => 0.5).ceiling(5000)).toBe(30_000);
  });

  it('the connection waits jittered, growing delays while the server refuses, and resets once stable', async () => {
    let value = 0.999;
    const { clock, server, client, sockets } = await online({ random: () => value });
    server.refuseSockets = true;
    sockets()[0]!.close(1012);
    const seen: number[] = [];
    for (let attempt = 0; attempt < 9; attempt++) {
      await settle();
      const delay = clock.pendingDelays().find((d) => d > 0 && d < 60_000)!;
      seen.push(delay);
      expect(delay).toBeLessThan(Math.min(30_000, 500 * 2 ** attempt));
      await clock.advance(delay);
    }
    expect(seen).toEqual([499, 999, 1998, 3996, 7992, 15_984, 29_970, 29_970, 29_970]);
    server.refuseSockets = false;
    await clock.runNext();
    await clock.advance(30_000);
    expect(client.getSnapshot().connection).toBe('online');
    // Stable for 10 s: the next drop starts from the base again.
    await clock.advance(10_000);
    value = 0.5;
    sockets()[0]!.drop();
    await settle();
    expect(client.getSnapshot().connection).toBe('reconnecting');
    await clock.advance(250);
    expect(client.getSnapshot().connection).toBe('online');
    client.close();
  });
});

describe('connection', () => {
  it('authenticates with the first frame, never in the URL', async () => {
    const { sockets, client } = await online();
    const socket = sockets()[0]!;
    expect(socket.client.url).toBe('ws://fake.test/ws');
    expect(socket.received[0]).toEqual({ type: 'auth', token: expect.any(String) });
    client.close();
  });

  it('matches answers to requests by id, and errors become LetterError', async () => {
    const { client, server, alice } = await online();
    const ok = await client.connection.request({ type: 'ping' });
    expect(ok.type).toBe('ok');
    const otherGroup = server.createGroup(server.addUser('carol').id, 'Secret', []);
    await expect(
      client.connection.request({ type: 'read', conversationId: otherGroup.id, seq: 1 }),
    ).rejects.toMatchObject({ code: 'not_found' });
    await expect(
      client.connection.request({ type: 'read', conversationId: otherGroup.id, seq: 1 }),
    ).rejects.toBeInstanceOf(LetterError);
    expect(alice.id).toBeTruthy();
    client.close();
  });

  it('times a request out when no answer comes', async () => {
    const { client, server, clock } = await online();
    server.intercept = (_s, frame) => (frame.type === 'ping' ? 'lose' : undefined);
    const answer = client.connection.request({ type: 'ping' }, 5_000);
    const outcome = answer.catch((error: unknown) => error);
    await clock.advance(5_000);
    expect(await outcome).toBeInstanceOf(TimeoutError);
    client.close();
  });

  it.each([1001, 1008, 1009, 1012, 4408, 1006])('reconnects after close %i', async (code) => {
    const { client, clock, sockets, statuses } = await online();
    sockets()[0]!.close(code);
    await settle();
    expect(client.getSnapshot().connection).toBe('reconnecting');
    await clock.advance(500);
    expect(client.getSnapshot().connection).toBe('online');
    expect(statuses).toEqual(['connecting', 'online', 'reconnecting', 'online']);
    client.close();
  });

  it('stops after a normal close (1000) and waits for connect()', async () => {
    const { client, clock, sockets, server } = await online();
    const stopped: unknown[] = [];
    client.connection.events.on('stopped', (s) => stopped.push(s));
    sockets()[0]!.close(1000);
    await clock.advance(60_000);
    expect(client.getSnapshot().connection).toBe('offline');
    expect(stopped).toEqual([{ reason: 'closeCode', code: 1000 }]);
    expect(server.sockets.size).toBe(0);
    client.connect();
    await settle();
    expect(client.getSnapshot().connection).toBe('online');
    client.close();
  });

  it('refreshes the token first after 4401, then reconnects', async () => {
    const { client, clock, sockets, server } = await online();
    const before = server.requests.filter((r) => r === 'POST /api/auth/refresh').length;
    sockets()[0]!.close(4401);
    await clock.advance(500);
    expect(server.requests.filter((r) => r === 'POST /api/auth/refresh').length).toBe(before + 1);
    expect(client.getSnapshot().connection).toBe('online');
    client.close();
  });

  it('gives up after 4401 when the session is dead, and tells the app', async () => {
    const { client, clock, sockets, server } = await online();
    const expired: LetterError[] = [];
    client.events.on('sessionExpired', (e) => expired.push(e));
    server.revokeSession(sockets()[0]!.sessionId!);
    await clock.advance(60_000);
    const state = client.getSnapshot();
    expect(state.connection).toBe('offline');
    expect(state.session).toBe('signedOut');
    expect(state.conversationOrder).toEqual([]);
    expect(expired).toHaveLength(1);
    expect(server.sockets.size).toBe(0);
    client.close();
  });

  it('drops a connection whose pings go unanswered and reconnects', async () => {
    const { client, clock, server, statuses } = await online();
    server.intercept = (_s, frame) => (frame.type === 'ping' ? 'lose' : undefined);
    await clock.advance(25_000);
    expect(client.getSnapshot().connection).toBe('online');
    server.intercept = null;
    await clock.advance(10_000);
    expect(statuses).toContain('reconnecting');
    await clock.advance(1_000);
    expect(client.getSnapshot().connection).toBe('online');
    client.close();
  });

  it('gives up on a handshake that never completes', async () => {
    const { client, clock, sockets, server } = await online();
    server.intercept = (_s, frame) => (frame.type === 'auth' ? 'lose' : undefined);
    sockets()[0]!.close(1012);
    await clock.advance(500);
    expect(client.getSnapshot().connection).toBe('reconnecting');
    server.intercept = null;
    await clock.advance(15_000);
    await clock.advance(1_000);
    expect(client.getSnapshot().connection).toBe('online');
    client.close();
  });
});
