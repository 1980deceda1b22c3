/** The session: refresh coalescing (rotation + reuse detection), 401 retry, proactive refresh, modes. */
import { describe, expect, it } from 'vitest';
import { LetterApi } from './api.js';
import { AuthSession, memoryRefreshTokenStore } from './auth.js';
import type { AuthMode, RefreshTokenStore } from './auth.js';
import { HttpTransport } from './http.js';
import { readJwtTimes } from './jwt.js';
import { FakeClock, FakeServer, createTestClient, settle } from './testing/index.js';

function setup(mode: AuthMode = 'token', store?: RefreshTokenStore, accessTtlSec = 900) {
  const clock = new FakeClock();
  const server = new FakeServer({ clock, accessTtlSec });
  server.addUser('alice', 'Alice');
  const http = new HttpTransport({
    baseUrl: 'http://fake.test',
    fetch: server.fetch,
    credentials: 'same-origin',
    now: () => clock.now(),
  });
  const makeAuth = () =>
    new AuthSession({
      http,
      clock,
      random: () => 0.5,
      mode,
      ...(store ? { refreshTokenStore: store } : {}),
      lock: (task) => task(),
    });
  const auth = makeAuth();
  const api = new LetterApi(http, auth);
  const refreshes = () => server.requests.filter((r) => r === 'POST /api/auth/refresh').length;
  return { clock, server, auth, api, refreshes, makeAuth };
}

describe('auth', () => {
  it('reads exp and iat from a JWT without verifying it', () => {
    const { server } = setup();
    const { accessToken } = server.openSession(server.userByName('alice')!.id);
    const times = readJwtTimes(accessToken)!;
    expect(times.exp! - times.iat!).toBe(900);
    expect(readJwtTimes('not-a-jwt')).toBeNull();
    expect(readJwtTimes('a.%%%.c')).toBeNull();
  });

  it('coalesces concurrent refreshes into one request (a second would be reuse and kill the session)', async () => {
    const { auth, server, refreshes } = setup();
    await auth.login('alice', 'password123');
    const tokens = await Promise.all(Array.from({ length: 5 }, () => auth.refresh()));
    expect(refreshes()).toBe(1);
    expect(new Set(tokens).size).toBe(1);
    expect(server.verify(tokens[0]!)).not.toBeNull();
    // And the rotated refresh token still works: the session was not revoked.
    expect(await auth.refresh()).toEqual(expect.any(String));
    expect(refreshes()).toBe(2);
    expect([...server.sessions.values()][0]!.revoked).toBe(false);
  });

  it('without coalescing, presenting the same refresh token twice revokes the session', () => {
    const { server } = setup();
    const { refreshToken } = server.openSession(server.userByName('alice')!.id);
    expect(server.refresh(refreshToken)).not.toBeNull();
    expect(server.refresh(refreshToken)).toBeNull();
    expect([...server.sessions.values()][0]!.revoked).toBe(true);
  });

  it('refreshes once after a 401 and retries, even for many concurrent calls', async () => {
    const { auth, api, server, refreshes } = setup();
    await auth.login('alice', 'password123');
    server.accessTokens.clear(); // the server no longer accepts the access token
    const users = await Promise.all([api.me(), api.me(), api.conversations(), api.me()]);
    expect(users[0]).toMatchObject({ username: 'alice' });
    expect(refreshes()).toBe(1);
  });

  it('refreshes proactively before expiry, from the token lifetime', async () => {
    const { auth, clock, refreshes } = setup('token', undefined, 100);
    await auth.login('alice', 'password123');
    // Lifetime 100 s: refresh 20 s before the end (the lead is min(60 s, 20 %)).
    await clock.advance(79_000);
    expect(refreshes()).toBe(0);
    await clock.advance(2_000);
    expect(refreshes()).toBe(1);
    await clock.advance(80_000);
    expect(refreshes()).toBe(2);
  });

  it('refreshes before use when a timer could not fire (a sleeping laptop)', async () => {
    const { auth, clock, refreshes } = setup('token', undefined, 100);
    await auth.login('alice', 'password123');
    const stale = await auth.accessToken();
    auth.dispose(); // timers gone, as if the tab slept through them
    (clock as unknown as { time: number }).time += 200_000;
    const fresh = await auth.accessToken();
    expect(fresh).not.toBe(stale);
    expect(refreshes()).toBe(1);
  });

  it('retries a refresh that failed for network reasons, without signing out', async () => {
    const { auth, clock, server, refreshes } = setup('token', undefined, 100);
    await auth.login('alice', 'password123');
    server.offline = true;
    await clock.advance(81_000);
    expect(auth.state.status).toBe('signedIn');
    server.offline = false;
    await clock.advance(2_000);
    expect(refreshes()).toBe(1); // offline attempts never reached the server
    expect(await auth.accessToken()).toEqual(expect.any(String));
    expect(auth.state.status).toBe('signedIn');
  });

  it('keeps the session through a refresh answered 503 unavailable (database away), then refreshes', async () => {
    const { auth, clock, server, refreshes } = setup('token', undefined, 100);
    await auth.login('alice', 'password123');
    server.restOverride = (_method, path) =>
      path === '/api/auth/refresh'
        ? new Response(
            JSON.stringify({ error: { code: 'unavailable', message: 'database away' } }),
            { status: 503, headers: { 'content-type': 'application/json' } },
          )
        : undefined;
    await clock.advance(81_000);
    expect(refreshes()).toBeGreaterThanOrEqual(1);
    expect(auth.state.status).toBe('signedIn');
    server.restOverride = null;
    await clock.advance(61_000);
    expect(await auth.accessToken()).toEqual(expect.any(String));
    expect(auth.state.status).toBe('signedIn');
  });

  it('token mode keeps the rotating refresh token in its store and resumes from it', async () => {
    const store = memoryRefreshTokenStore();
    const first = setup('token', store);
    await first.auth.login('alice', 'password123');
    const saved = await store.load();
    expect(saved).toMatch(/^rt-/);
    const second = new AuthSession({
      http: new HttpTransport({
        baseUrl: 'http://fake.test',
        fetch: first.server.fetch,
        credentials: 'same-origin',
        now: () => first.clock.now(),
      }),
      clock: first.clock,
      random: () => 0.5,
      mode: 'token',
      refreshTokenStore: store,
    });
    expect(await second.resume()).toMatchObject({ username: 'alice' });
    expect(await store.load()).not.toBe(saved);
  });

  it('cookie mode refreshes with no body and never keeps the refresh token', async () => {
    const saves: (string | null)[] = [];
    const store: RefreshTokenStore = {
      load: async () => null,
      save: async (t) => void saves.push(t),
    };
    const { auth, server, makeAuth } = setup('cookie', store);
    const bodies: unknown[] = [];
    server.restOverride = (method, path, init) => {
      if (path === '/api/auth/refresh') bodies.push(init.body);
      return undefined;
    };
    await auth.login('alice', 'password123');
    expect(await auth.refresh()).toEqual(expect.any(String));
    expect(bodies).toEqual([undefined]);
    expect(saves).toEqual([]);
    // A reload: a new session object resumes from the cookie alone.
    const reloaded = makeAuth();
    expect(await reloaded.resume()).toMatchObject({ username: 'alice' });
  });

  it('cookie mode says so on register, login and refresh; token mode does not', async () => {
    for (const mode of ['cookie', 'token'] as const) {
      const { auth, server } = setup(mode);
      const seen: [string, string | null][] = [];
      server.restOverride = (_method, path, init) => {
        seen.push([path, new Headers(init.headers).get('letter-auth-mode')]);
        return undefined;
      };
      await auth.register({ username: 'bob', password: 'password123' });
      await auth.login('alice', 'password123');
      expect(await auth.refresh()).toEqual(expect.any(String));
      const expected = mode === 'cookie' ? 'cookie' : null;
      expect(seen, mode).toEqual([
        ['/api/auth/register', expected],
        ['/api/auth/login', expected],
        ['/api/auth/refresh', expected],
      ]);
    }
  });

  it('signs out and emits expired when the refresh is refused', async () => {
    const { auth, api, server } = setup();
    const expired: unknown[] = [];
    auth.events.on('expired', (e) => expired.push(e));
    await auth.login('alice', 'password123');
    server.revokeSession([...server.sessions.keys()][0]!);
    await expect(api.me()).rejects.toMatchObject({ code: 'unauthorized' });
    expect(auth.state).toEqual({ status: 'signedOut', user: null });
    expect(expired).toHaveLength(1);
    expect(await auth.accessToken()).toBeNull();
  });

  it('resume without a session resolves null and signs out quietly', async () => {
    const { auth } = setup('cookie');
    const expired: unknown[] = [];
    auth.events.on('expired', (e) => expired.push(e));
    expect(await auth.resume()).toBeNull();
    expect(auth.state.status).toBe('signedOut');
    expect(expired).toEqual([]);
  });

  it('the client resumes and connects; logout ends the session on the server', async () => {
    const clock = new FakeClock();
    const server = new FakeServer({ clock });
    server.addUser('alice', 'Alice');
    const store = memoryRefreshTokenStore();
    const first = createTestClient(server, { refreshTokenStore: store });
    await first.login('alice', 'password123');
    first.close();
    const client = createTestClient(server, { refreshTokenStore: store });
    expect(await client.resume()).toMatchObject({ username: 'alice' });
    await settle();
    expect(client.getSnapshot().connection).toBe('online');
    await client.logout();
    await settle();
    expect(client.getSnapshot()).toMatchObject({
      session: 'signedOut',
      connection: 'offline',
      me: null,
    });
    expect([...server.sessions.values()].every((s) => s.revoked)).toBe(true);
    expect(server.requests).toContain('POST /api/auth/logout');
    expect(await store.load()).toBeNull();
    client.close();
  });
});
