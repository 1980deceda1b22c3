/**
 * The REST half of FakeServer: the contract's routes the sdk's and web's unit tests call, no
 * more (the real node is what packages/server/test/sdk-verify-action.test.ts checks against).
 */
import { authModeHeader, errorCodes, isErrorCode, limits } from '@letter/protocol';
import type { ErrorCode } from '@letter/protocol';
import {
  fakeDelete,
  fakeDeleteMe,
  fakeExport,
  fakeReact,
  fakeReceipts,
  fakeSearch,
  fakeSettings,
} from './fake-actions.js';
import { fakeUpload } from './fake-files.js';
import type { FakeServer } from './fake-server.js';

class HttpError extends Error {
  constructor(
    readonly code: ErrorCode,
    message?: string,
  ) {
    super(message ?? errorCodes[code].message);
  }
}

type Json = Record<string, unknown>;

export async function handleRest(
  server: FakeServer,
  url: string,
  init: RequestInit,
): Promise<Response> {
  // Answers come on a later tick, like a network would.
  await Promise.resolve();
  if (server.offline) throw new TypeError('fetch failed');
  const { pathname, searchParams } = new URL(url, 'http://fake.test');
  const method = init.method ?? 'GET';
  server.requests.push(`${method} ${pathname}`);
  const override = server.restOverride?.(method, pathname, init);
  if (override) return override;
  if (method === 'POST' && pathname === '/api/files') {
    const token = new Headers(init.headers).get('authorization')?.replace(/^Bearer /, '');
    return fakeUpload(server, server.verify(token)?.userId ?? null, init);
  }
  const body = typeof init.body === 'string' ? (JSON.parse(init.body) as Json) : undefined;
  const headers = new Headers(init.headers);
  const bearer = headers.get('authorization')?.replace(/^Bearer /, '') ?? null;
  try {
    const result = route(server, method, pathname, searchParams, body, bearer, init);
    if (result === null) return new Response(null, { status: 204 });
    // As the server does: a cookie client never gets the refresh token in a body.
    if (headers.get(authModeHeader) === 'cookie' && pathname.startsWith('/api/auth/')) {
      const { refreshToken: _inTheCookie, ...rest } = result.body as Json;
      return json(result.status ?? 200, rest);
    }
    return json(result.status ?? 200, result.body);
  } catch (error) {
    const raw = (error as { code?: unknown }).code;
    const code = typeof raw === 'string' && isErrorCode(raw) ? raw : 'internal';
    return json(errorCodes[code].status, { error: { code, message: (error as Error).message } });
  }
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}

function route(
  server: FakeServer,
  method: string,
  path: string,
  query: URLSearchParams,
  body: Json | undefined,
  bearer: string | null,
  init: RequestInit,
): { status?: number; body: unknown } | null {
  const key = `${method} ${path}`;
  if (key === 'POST /api/auth/register') {
    const username = String(body?.username ?? '').toLowerCase();
    if (server.userByName(username)) throw new HttpError('username_taken');
    const user = server.addUser(
      username,
      String(body?.displayName ?? username),
      String(body?.password),
    );
    return { status: 201, body: { user, ...server.openSession(user.id) } };
  }
  if (key === 'POST /api/auth/login') {
    const user = server.userByName(String(body?.username ?? '').toLowerCase());
    if (!user || server.users.get(user.id)!.password !== body?.password) {
      throw new HttpError('invalid_credentials');
    }
    return { body: { user, ...server.openSession(user.id) } };
  }
  if (key === 'POST /api/auth/refresh') {
    // Cookie mode: no body; the browser sends the cookie unless credentials say omit.
    const token =
      typeof body?.refreshToken === 'string'
        ? body.refreshToken
        : init.credentials === 'omit'
          ? null
          : server.cookie;
    const tokens = token ? server.refresh(token) : null;
    if (!tokens) throw new HttpError('unauthorized');
    return { body: tokens };
  }

  const claims = server.verify(bearer);
  if (!claims) throw new HttpError('unauthorized');
  const me = claims.userId;
  if (key === 'POST /api/auth/logout') {
    server.revokeSession(claims.sessionId);
    server.cookie = null;
    return null;
  }
  if (key === 'GET /api/me') return { body: { user: server.user(me) } };
  if (key === 'GET /api/me/export') return { body: fakeExport(server, me) };
  if (key === 'DELETE /api/me') {
    fakeDeleteMe(server, me, body?.password);
    return null;
  }
  if (key === 'GET /api/search') {
    const q = query.get('q') ?? '';
    const limit = Number(query.get('limit') ?? 20);
    const results = fakeSearch(server, me, q, query.get('conversationId'), limit);
    return { body: { results } };
  }
  const userMatch = /^\/api\/users\/([^/]+)$/.exec(path);
  if (method === 'GET' && userMatch) {
    const entry = server.users.get(decodeURIComponent(userMatch[1]!));
    if (!entry) throw new HttpError('not_found');
    return { body: { user: entry.user } };
  }
  if (key === 'GET /api/contacts') {
    const contacts = [...server.users.values()]
      .filter(({ user }) => user.id !== me)
      .map(({ user }) => ({
        user,
        online: server.socketsOf(user.id).length > 0,
        lastSeenAt: null,
      }));
    return { body: { contacts } };
  }
  if (key === 'GET /api/conversations') {
    // Pages like the server's; the cursor here is simply the last id of the page before.
    const all = server.list(me);
    const cursor = query.get('cursor');
    const start = cursor === null ? 0 : all.findIndex((c) => c.id === cursor) + 1;
    if (cursor !== null && start === 0) throw new HttpError('bad_request');
    const limit = Number(query.get('limit') ?? 200);
    const conversations = all.slice(start, start + limit);
    const nextCursor = start + limit < all.length ? conversations.at(-1)!.id : null;
    return { body: { conversations, nextCursor } };
  }
  if (key === 'POST /api/conversations') {
    if (body?.kind === 'direct') {
      const existed = server.list(me).length;
      const conversation = server.openDirect(me, String(body.userId));
      return {
        status: server.list(me).length > existed ? 201 : 200,
        body: { conversation: server.view(conversation.id, me) },
      };
    }
    const conversation = server.createGroup(me, String(body?.title), body?.memberIds as string[]);
    return { status: 201, body: { conversation: server.view(conversation.id, me) } };
  }

  const match =
    /^\/api\/conversations\/([^/]+)(?:\/(messages|members|settings)(?:\/([^/]+)(?:\/(reactions|receipts))?)?)?$/.exec(
      path,
    );
  if (!match) throw new HttpError('not_found');
  const [, id = '', sub, arg, action] = match;
  const conversation = server.require(decodeURIComponent(id), me);
  const view = () => ({ body: { conversation: server.view(conversation.id, me) } });
  if (sub === undefined && method === 'GET') return view();
  if (sub === undefined && method === 'PATCH') {
    server.rename(me, conversation.id, String(body?.title));
    return view();
  }
  if (sub === 'members' && method === 'GET' && !arg) {
    const { members, memberCount, membersVersion } = server.view(conversation.id, me)!;
    return { body: { members, memberCount, membersVersion } };
  }
  if (sub === 'members' && method === 'DELETE' && arg) {
    server.removeMember(me, conversation.id, decodeURIComponent(arg));
    return null;
  }
  if (sub === 'settings' && method === 'PATCH') {
    fakeSettings(server, me, conversation.id, body ?? {});
    return view();
  }
  if (sub === 'messages' && arg && action === 'reactions') {
    const emoji = method === 'PUT' ? String(body?.emoji) : null;
    return { body: { message: fakeReact(server, me, conversation.id, Number(arg), emoji) } };
  }
  if (sub === 'messages' && arg && action === 'receipts' && method === 'GET') {
    return { body: { receipts: fakeReceipts(server, me, conversation.id, Number(arg)) } };
  }
  if (sub === 'messages' && method === 'DELETE' && arg && !action) {
    fakeDelete(server, me, conversation.id, Number(arg));
    return null;
  }
  if (sub === 'messages' && method === 'GET' && !arg) {
    const number = (name: string) => (query.has(name) ? Number(query.get(name)) : undefined);
    const range = {
      limit: number('limit') ?? limits.historyDefaultLimit,
      ...(query.has('before') ? { before: number('before')! } : {}),
      ...(query.has('after') ? { after: number('after')! } : {}),
    };
    return { body: server.history(conversation.id, range, me) };
  }
  if (sub === 'messages' && method === 'PATCH' && arg && !action) {
    return { body: { message: server.edit(conversation.id, Number(arg), String(body?.body)) } };
  }
  throw new HttpError('not_found');
}
