/**
 * Sessions have a maximum lifetime (LETTER_SESSION_MAX_DAYS): refreshing keeps a session going
 * only until then, after which refresh answers 401 and the session is revoked. The node's
 * sweeper then prunes it with its refresh tokens.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/util/clock.js';
import { api, register, startServer, type TestServer } from '../src/testing/harness.js';

const DAY = 24 * 3600 * 1000;

describe('session lifetime', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  const refresh = (refreshToken: string) =>
    api(server!, 'POST', '/api/auth/refresh', undefined, { refreshToken });

  it('refresh works until the maximum lifetime, then answers 401 and the session is gone', async () => {
    const clock = new ManualClock();
    server = await startServer({ clock, config: { sessionMaxDays: 90 } });
    const ana = await register(server, 'ana');
    let token = ana.refreshToken;
    // Refreshed every 25 days (inside the 30-day refresh TTL): fine up to day 75.
    for (let day = 25; day <= 75; day += 25) {
      clock.advance(25 * DAY);
      const renewed = await refresh(token);
      expect(renewed.status, `day ${day}`).toBe(200);
      token = renewed.body.refreshToken;
    }
    const lastAccess = (await refresh(token)).body as { accessToken: string; refreshToken: string };
    token = lastAccess.refreshToken;
    expect((await api(server, 'GET', '/api/me', lastAccess.accessToken)).status).toBe(200);

    clock.advance(25 * DAY); // day 100
    const refused = await refresh(token);
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('unauthorized');
    // The session is revoked with it: its last access token no longer works either.
    expect((await api(server, 'GET', '/api/me', lastAccess.accessToken)).status).toBe(401);

    const counts = await server.node.sweeper.sweep();
    expect(counts.sessions).toBe(1);
    // Every token of its chain went with it: the first one and the five exchanges.
    expect(counts.refreshTokens).toBe(6);
    expect((await refresh(ana.refreshToken)).status).toBe(401);
  });

  it('a logged-out session and an idle one are pruned; a live one stays usable', async () => {
    const clock = new ManualClock();
    server = await startServer({ clock });
    const [gone, idle, live] = [
      await register(server, 'gone'),
      await register(server, 'idle'),
      await register(server, 'live'),
    ];
    expect((await api(server, 'POST', '/api/auth/logout', gone.accessToken)).status).toBe(204);
    clock.advance(20 * DAY);
    const renewed = await refresh(live.refreshToken);
    expect(renewed.status).toBe(200);
    clock.advance(15 * DAY); // idle's token (30 days) has expired, live's has not

    expect(await server.node.sweeper.sweep()).toMatchObject({ sessions: 2 });
    expect((await refresh(renewed.body.refreshToken)).status).toBe(200);
    expect((await refresh(idle.refreshToken)).status).toBe(401);
  });
});
