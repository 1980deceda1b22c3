import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type {} from '@fastify/cookie';
import {
  authModeHeader,
  changePasswordBody,
  LetterError,
  loginBody,
  parseOrThrow,
  refreshBody,
  registerBody,
} from '@letter/protocol';
import { authenticate, limit, noContent, type RouteContext } from './context.js';

/** Browsers keep the refresh token here, out of reach of page scripts. */
export const REFRESH_COOKIE = 'letter_refresh';
const COOKIE_PATH = '/api/auth';

/**
 * A cookie client (`Letter-Auth-Mode: cookie`, the web app) never gets the refresh token in a
 * body: a script injected into the page could read it there, and the cookie is out of its reach.
 */
const isCookieClient = (request: FastifyRequest) => request.headers[authModeHeader] === 'cookie';

function forClient<T extends { refreshToken: string }>(
  cookieClient: boolean,
  credentials: T,
): T | Omit<T, 'refreshToken'> {
  if (!cookieClient) return credentials;
  const { refreshToken: _inTheCookie, ...rest } = credentials;
  return rest;
}

export function authRoutes(app: FastifyInstance, context: RouteContext): void {
  const { auth } = context;

  const cookieOptions = (request: FastifyRequest) =>
    ({
      httpOnly: true,
      sameSite: 'strict',
      secure: request.protocol === 'https',
      path: COOKIE_PATH,
    }) as const;
  const setRefreshCookie = (request: FastifyRequest, reply: FastifyReply, token: string) =>
    reply.setCookie(REFRESH_COOKIE, token, {
      ...cookieOptions(request),
      maxAge: context.config.refreshTtlSeconds,
    });
  // Cleared with the same attributes it was set with, so every browser matches the two.
  const clearRefreshCookie = (request: FastifyRequest, reply: FastifyReply) =>
    reply.clearCookie(REFRESH_COOKIE, cookieOptions(request));

  app.post('/api/auth/register', async (request, reply) => {
    limit(context.limiters.registerByIp, request.ip);
    const body = parseOrThrow(registerBody, request.body);
    const credentials = await auth.register(body.username, body.password, body.displayName);
    setRefreshCookie(request, reply, credentials.refreshToken);
    return reply.code(201).send(forClient(isCookieClient(request), credentials));
  });

  app.post('/api/auth/login', async (request, reply) => {
    const body = parseOrThrow(loginBody, request.body);
    // Both limits apply to every name, existing or not, so a 429 reveals nothing. The one on
    // the name is per address and counts failed guesses only: guesses from elsewhere cannot
    // lock the owner out, and the owner's own logins never use it up.
    limit(context.limiters.loginByIp, request.ip);
    const guessKey = `${body.username.trim().toLowerCase()}\n${request.ip}`;
    limit(context.limiters.loginByName, guessKey);
    let credentials;
    try {
      credentials = await auth.login(body.username, body.password);
    } catch (error) {
      if (!(error instanceof LetterError && error.code === 'invalid_credentials'))
        context.limiters.loginByName.refund(guessKey);
      throw error;
    }
    context.limiters.loginByName.refund(guessKey);
    setRefreshCookie(request, reply, credentials.refreshToken);
    return forClient(isCookieClient(request), credentials);
  });

  app.post('/api/auth/refresh', async (request, reply) => {
    const body = parseOrThrow(refreshBody, request.body ?? {});
    // Refreshing from the cookie makes a cookie client too: it has no use for a body copy.
    const cookieClient = body.refreshToken === undefined || isCookieClient(request);
    const token = body.refreshToken ?? request.cookies[REFRESH_COOKIE];
    if (!token) throw new LetterError('unauthorized', 'No refresh token.');
    try {
      const { accessToken, refreshToken } = await auth.refresh(token);
      if (cookieClient) setRefreshCookie(request, reply, refreshToken);
      return forClient(cookieClient, { accessToken, refreshToken });
    } catch (error) {
      // Only a dead token loses the cookie: with the database away (503) the browser keeps it.
      const dead = error instanceof LetterError && error.code === 'unauthorized';
      if (cookieClient && dead) clearRefreshCookie(request, reply);
      throw error;
    }
  });

  app.post('/api/auth/logout', async (request, reply) => {
    const claims = await authenticate(context, request);
    await auth.logout(claims.sessionId);
    clearRefreshCookie(request, reply);
    return noContent(reply);
  });

  app.post('/api/me/password', async (request, reply) => {
    const claims = await authenticate(context, request);
    const body = parseOrThrow(changePasswordBody, request.body);
    limit(context.limiters.loginByName, `user:${claims.userId}`);
    await auth.changePassword(claims, body.currentPassword, body.newPassword);
    return noContent(reply);
  });
}
