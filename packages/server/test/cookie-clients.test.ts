/**
 * Cookie clients (`Letter-Auth-Mode: cookie`, the web app) never get the refresh token in a
 * response body, where a script injected into the page could read it: register, login and
 * refresh put it only in the HttpOnly cookie. Clients that do not say so keep the contract's
 * body field.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startServer, type TestServer } from '../src/testing/harness.js';

const COOKIE_CLIENT = { 'letter-auth-mode': 'cookie' };
const PASSWORD = 'correct horse battery';

describe('refresh tokens and cookie clients', () => {
  let server: TestServer;
  let n = 0;
  const name = (prefix: string) => `${prefix}_${process.pid}_${++n}`.slice(0, 32);
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  const json = (response: Response) => response.json() as Promise<Record<string, string>>;
  const refreshCookie = (response: Response) =>
    response.headers
      .getSetCookie()
      .find((cookie) => cookie.startsWith('letter_refresh='))
      ?.split(';')[0];

  it('register and login answer a cookie client without refreshToken; the cookie works', async () => {
    const username = name('cookieweb');
    const registered = await post(
      '/api/auth/register',
      { username, password: PASSWORD },
      COOKIE_CLIENT,
    );
    expect(registered.status).toBe(201);
    const registeredBody = await json(registered);
    expect(Object.keys(registeredBody).sort()).toEqual(['accessToken', 'user']);
    expect(refreshCookie(registered)).toMatch(/^letter_refresh=.+/);

    const loggedIn = await post('/api/auth/login', { username, password: PASSWORD }, COOKIE_CLIENT);
    expect(loggedIn.status).toBe(200);
    expect(Object.keys(await json(loggedIn)).sort()).toEqual(['accessToken', 'user']);
    const cookie = refreshCookie(loggedIn)!;

    const refreshed = await fetch(`${server.url}/api/auth/refresh`, {
      method: 'POST',
      headers: { cookie, ...COOKIE_CLIENT },
    });
    expect(refreshed.status).toBe(200);
    const tokens = await json(refreshed);
    expect(Object.keys(tokens)).toEqual(['accessToken']);
    expect((await api(server, 'GET', '/api/me', tokens.accessToken)).status).toBe(200);
    expect(refreshCookie(refreshed)).not.toBe(cookie);
  });

  it('a cookie client refreshing with a body token gets the new one in the cookie only', async () => {
    const registered = await post('/api/auth/register', {
      username: name('mixed'),
      password: PASSWORD,
    });
    const { refreshToken } = await json(registered);
    const refreshed = await post('/api/auth/refresh', { refreshToken }, COOKIE_CLIENT);
    expect(refreshed.status).toBe(200);
    expect(Object.keys(await json(refreshed))).toEqual(['accessToken']);
    expect(refreshCookie(refreshed)).toMatch(/^letter_refresh=.+/);
  });

  it('other clients keep the refresh token in the body, as the contract says', async () => {
    const username = name('native');
    const registered = await post('/api/auth/register', { username, password: PASSWORD });
    const body = await json(registered);
    expect(body).toMatchObject({
      accessToken: expect.any(String),
      refreshToken: expect.any(String),
    });
    const loggedIn = await json(await post('/api/auth/login', { username, password: PASSWORD }));
    expect(loggedIn.refreshToken).toEqual(expect.any(String));
    const refreshed = await post('/api/auth/refresh', { refreshToken: loggedIn.refreshToken });
    expect(await json(refreshed)).toMatchObject({
      accessToken: expect.any(String),
      refreshToken: expect.any(String),
    });
  });
});
