/** The REST layer: error bodies → LetterError, Retry-After, and every route's method, path and body. */
import { describe, expect, it } from 'vitest';
import { LetterApi } from './api.js';
import type { TokenSource } from './api.js';
import { LetterError, NetworkError } from './errors.js';
import { HttpTransport, errorFromResponse, parseRetryAfter } from './http.js';

const now = Date.UTC(2026, 0, 1);

function recording(respond: (url: string, init: RequestInit) => Response = () => json(200, {})) {
  const calls: { method: string; url: string; body: unknown; auth: string | null }[] = [];
  const http = new HttpTransport({
    baseUrl: 'https://chat.example.com/',
    credentials: 'same-origin',
    now: () => now,
    fetch: async (url, init) => {
      calls.push({
        method: init.method ?? 'GET',
        url,
        body: typeof init.body === 'string' ? JSON.parse(init.body) : init.body,
        auth: new Headers(init.headers).get('authorization'),
      });
      return respond(url, init);
    },
  });
  return { http, calls };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

const tokens: TokenSource = {
  accessToken: async () => 'access',
  renewAfterRejection: async () => 'renewed',
};

describe('HttpTransport', () => {
  it('turns an error body into a LetterError with its code and message', async () => {
    const { http } = recording(() =>
      json(403, { error: { code: 'blocked', message: 'They blocked you.' } }),
    );
    const error = await http.request({ method: 'GET', path: '/x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LetterError);
    expect(error).toMatchObject({ code: 'blocked', status: 403, message: 'They blocked you.' });
  });

  it('reads Retry-After as seconds or as an HTTP date', async () => {
    const { http } = recording(() =>
      json(429, { error: { code: 'rate_limited', message: 'slow down' } }, { 'retry-after': '7' }),
    );
    await expect(http.request({ method: 'POST', path: '/x', body: {} })).rejects.toMatchObject({
      code: 'rate_limited',
      retryAfter: 7,
    });
    expect(parseRetryAfter(new Date(now + 30_000).toUTCString(), now)).toBe(30);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it('falls back to the status when the body is not ours (a proxy page), and to internal for unknown codes', () => {
    expect(errorFromResponse(502, undefined, null, now).code).toBe('internal');
    expect(errorFromResponse(503, '<html>', null, now).code).toBe('unavailable');
    expect(errorFromResponse(404, '<html>', null, now).code).toBe('not_found');
    expect(
      errorFromResponse(400, { error: { code: 'brand_new', message: 'm' } }, null, now).code,
    ).toBe('internal');
  });

  it('wraps a failed fetch in NetworkError', async () => {
    const http = new HttpTransport({
      baseUrl: '',
      credentials: 'same-origin',
      now: () => now,
      fetch: () => Promise.reject(new TypeError('Failed to fetch')),
    });
    await expect(http.request({ method: 'GET', path: '/api/me' })).rejects.toBeInstanceOf(
      NetworkError,
    );
  });

  it('sends no body and no content-type when there is no body; 204 resolves undefined', async () => {
    const { http, calls } = recording(() => new Response(null, { status: 204 }));
    expect(await http.request({ method: 'POST', path: '/api/auth/refresh' })).toBeUndefined();
    expect(calls[0]).toMatchObject({
      url: 'https://chat.example.com/api/auth/refresh',
      body: undefined,
    });
  });
});

describe('LetterApi routes', () => {
  it('calls every route with the contract’s method, path and body', async () => {
    const { http, calls } = recording((url) =>
      url.includes('/receipts')
        ? json(200, { receipts: [] })
        : json(200, {
            user: {},
            users: [],
            contacts: [],
            contact: {},
            conversations: [],
            conversation: {},
            message: {},
            messages: [],
            hasMore: false,
            results: [],
          }),
    );
    const api = new LetterApi(http, tokens);
    await api.me();
    await api.updateMe({ displayName: 'A' });
    await api.changePassword('old', 'newpassword');
    await api.exportMe();
    await api.deleteMe('pw');
    await api.searchUsers('al');
    await api.contacts();
    await api.addContact('bob');
    await api.removeContact('u/2');
    await api.blocks();
    await api.block('u2');
    await api.unblock('u2');
    await api.conversations();
    await api.conversation('c1');
    await api.createConversation({ kind: 'direct', userId: 'u2' });
    await api.createConversation({ kind: 'group', title: 'T', memberIds: ['u2'] });
    await api.renameConversation('c1', 'T2');
    await api.addMembers('c1', ['u3']);
    await api.removeMember('c1', 'u3');
    await api.setMemberRole('c1', 'u2', 'admin');
    await api.history('c1', { before: 10, limit: 20 });
    await api.history('c1', { after: 5 });
    await api.sendMessage('c1', { clientMsgId: 'x', body: 'hi' });
    await api.markRead('c1', 4);
    await api.editMessage('c1', 3, 'edited');
    await api.deleteMessage('c1', 3);
    await api.react('c1', 3, '👍');
    await api.unreact('c1', 3);
    await api.receipts('c1', 3);
    await api.search({ q: 'hello', conversationId: 'c1' });
    const base = 'https://chat.example.com';
    expect(calls.map((c) => [c.method, c.url.replace(base, ''), c.body])).toEqual([
      ['GET', '/api/me', undefined],
      ['PATCH', '/api/me', { displayName: 'A' }],
      ['POST', '/api/me/password', { currentPassword: 'old', newPassword: 'newpassword' }],
      ['GET', '/api/me/export', undefined],
      ['DELETE', '/api/me', { password: 'pw' }],
      ['GET', '/api/users?query=al', undefined],
      ['GET', '/api/contacts', undefined],
      ['POST', '/api/contacts', { username: 'bob' }],
      ['DELETE', '/api/contacts/u%2F2', undefined],
      ['GET', '/api/blocks', undefined],
      ['POST', '/api/blocks', { userId: 'u2' }],
      ['DELETE', '/api/blocks/u2', undefined],
      ['GET', '/api/conversations', undefined],
      ['GET', '/api/conversations/c1', undefined],
      ['POST', '/api/conversations', { kind: 'direct', userId: 'u2' }],
      ['POST', '/api/conversations', { kind: 'group', title: 'T', memberIds: ['u2'] }],
      ['PATCH', '/api/conversations/c1', { title: 'T2' }],
      ['POST', '/api/conversations/c1/members', { userIds: ['u3'] }],
      ['DELETE', '/api/conversations/c1/members/u3', undefined],
      ['PATCH', '/api/conversations/c1/members/u2', { role: 'admin' }],
      ['GET', '/api/conversations/c1/messages?before=10&limit=20', undefined],
      ['GET', '/api/conversations/c1/messages?after=5', undefined],
      ['POST', '/api/conversations/c1/messages', { clientMsgId: 'x', body: 'hi' }],
      ['POST', '/api/conversations/c1/read', { seq: 4 }],
      ['PATCH', '/api/conversations/c1/messages/3', { body: 'edited' }],
      ['DELETE', '/api/conversations/c1/messages/3', undefined],
      ['PUT', '/api/conversations/c1/messages/3/reactions', { emoji: '👍' }],
      ['DELETE', '/api/conversations/c1/messages/3/reactions', undefined],
      ['GET', '/api/conversations/c1/messages/3/receipts', undefined],
      ['GET', '/api/search?q=hello&conversationId=c1', undefined],
    ]);
    expect(calls.every((c) => c.auth === 'Bearer access')).toBe(true);
  });

  it('retries once with a renewed token after a 401, and not again', async () => {
    let n = 0;
    const { http, calls } = recording(() =>
      n++ < 2
        ? json(401, { error: { code: 'unauthorized', message: 'expired' } })
        : json(200, { user: { id: 'u1' } }),
    );
    const api = new LetterApi(http, tokens);
    await expect(api.me()).rejects.toMatchObject({ code: 'unauthorized' });
    expect(calls.map((c) => c.auth)).toEqual(['Bearer access', 'Bearer renewed']);
    expect(await api.me()).toEqual({ id: 'u1' });
  });

  it('fails with unauthorized without a request when signed out', async () => {
    const { http, calls } = recording();
    const api = new LetterApi(http, {
      accessToken: async () => null,
      renewAfterRejection: async () => null,
    });
    await expect(api.me()).rejects.toMatchObject({ code: 'unauthorized' });
    expect(calls).toEqual([]);
  });
});

describe('LetterApi.conversations', () => {
  const at = (minute: number) => new Date(now + minute * 60_000).toISOString();
  const conversation = (id: string, minute: number) => ({ id, lastActivityAt: at(minute) });

  /** A server of conversations paged two at a time; `onPage` may change them between pages. */
  function paged(list: { id: string; lastActivityAt: string }[], onPage: (n: number) => void) {
    let served = 0;
    return recording((url) => {
      onPage(++served);
      const ordered = [...list].sort(
        (a, b) => Date.parse(b.lastActivityAt) - Date.parse(a.lastActivityAt),
      );
      const cursor = new URL(url).searchParams.get('cursor');
      const start = cursor === null ? 0 : Number(cursor);
      const page = ordered.slice(start, start + 2);
      const nextCursor = start + 2 < ordered.length ? String(start + 2) : null;
      return json(200, { conversations: page, nextCursor });
    });
  }

  it('follows every page and returns each conversation once, in order', async () => {
    const list = ['a', 'b', 'c', 'd', 'e'].map((id, i) => conversation(id, 10 - i));
    const { http, calls } = paged(list, () => {});
    const all = await new LetterApi(http, tokens).conversations();
    expect(all.map((c) => c.id)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(calls.map((c) => new URL(c.url).search)).toEqual([
      '',
      '?cursor=2',
      '?cursor=4',
      // The first page again: what moved to the front meanwhile.
      '',
    ]);
  });

  it('keeps a conversation that moved to the front while later pages were read', async () => {
    const list = ['a', 'b', 'c', 'd', 'e'].map((id, i) => conversation(id, 10 - i));
    // After the first page, e (not read yet) gets a message and jumps to the front.
    const { http } = paged(list, (n) => {
      if (n === 2) list[4]!.lastActivityAt = at(20);
    });
    const all = await new LetterApi(http, tokens).conversations();
    expect(all.map((c) => c.id)).toEqual(['e', 'a', 'b', 'c', 'd']);
  });

  it('reads one page when there is only one', async () => {
    const { http, calls } = paged([conversation('a', 1)], () => {});
    expect((await new LetterApi(http, tokens).conversations()).map((c) => c.id)).toEqual(['a']);
    expect(calls).toHaveLength(1);
  });
});
