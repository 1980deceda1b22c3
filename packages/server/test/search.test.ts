/**
 * Full-text search through REST: only the caller's conversations and seqs, ranked, snippets as
 * plain text with highlight offsets, correct after edits and deletes, immune to query syntax.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  directConversation,
  register,
  startServer,
  type TestServer,
  type TestUser,
} from '../src/testing/harness.js';

interface Result {
  message: { seq: number; body: string; conversationId: string; editedAt: string | null };
  conversationId: string;
  snippet: string;
  highlights: { start: number; length: number }[];
}

const marked = (result: Result): string[] =>
  result.highlights.map((h) => result.snippet.slice(h.start, h.start + h.length));

describe('search', () => {
  let server: TestServer;
  let ana: TestUser;
  let ben: TestUser;
  let eve: TestUser;
  let direct: string;
  let eveDirect: string;
  let n = 0;

  beforeAll(async () => {
    server = await startServer();
    [ana, ben, eve] = (await Promise.all(
      ['ana', 'ben', 'eve'].map((u) => register(server, u)),
    )) as [TestUser, TestUser, TestUser];
    direct = await directConversation(server, ana, ben);
    eveDirect = await directConversation(server, eve, ben);
  });
  afterAll(() => server.stop());

  const send = async (user: TestUser, conversationId: string, body: string) => {
    const result = await api(
      server,
      'POST',
      `/api/conversations/${conversationId}/messages`,
      user.accessToken,
      { clientMsgId: `s${++n}`, body },
    );
    expect(result.status).toBe(201);
    return result.body.message as { seq: number };
  };
  const search = async (user: TestUser, query: Record<string, string>) => {
    const result = await api(
      server,
      'GET',
      `/api/search?${new URLSearchParams(query).toString()}`,
      user.accessToken,
    );
    return result as { status: number; body: { results: Result[]; error?: { code: string } } };
  };

  it('finds messages of the caller’s conversations with plain-text snippets and highlights', async () => {
    await send(ana, direct, 'The <b>Bäckerei</b> on Main Street opens at 7');
    await send(ben, direct, 'Which bakery? The one near the station?');
    await send(ben, eveDirect, 'Eve, the Bäckerei is closed today');

    const result = await search(ana, { q: 'backerei' });
    expect(result.status).toBe(200);
    expect(result.body.results).toHaveLength(1);
    const [hit] = result.body.results;
    expect(hit!.conversationId).toBe(direct);
    expect(hit!.message).toMatchObject({ conversationId: direct, seq: 1 });
    // Plain text, markup included verbatim; the client marks the ranges itself.
    expect(hit!.snippet).toBe('The <b>Bäckerei</b> on Main Street opens at 7');
    expect(marked(hit!)).toEqual(['Bäckerei']);

    const benResults = await search(ben, { q: 'Bäckerei' });
    expect(benResults.body.results.map((r) => r.conversationId).sort()).toEqual(
      [direct, eveDirect].sort(),
    );
    const onlyOne = await search(ben, { q: 'bäckerei', conversationId: eveDirect });
    expect(onlyOne.body.results.map((r) => r.conversationId)).toEqual([eveDirect]);
    expect((await search(eve, { q: 'main street' })).body.results).toEqual([]);
    const foreign = await search(eve, { q: 'main', conversationId: direct });
    expect(foreign.status).toBe(404);
    expect(foreign.body.error!.code).toBe('not_found');
    const unknown = await search(eve, { q: 'main', conversationId: 'c_nonexistent' });
    expect(unknown.status).toBe(404);
  });

  it('cuts long bodies around the first match, with offsets into the snippet', async () => {
    const filler = 'lorem ipsum dolor sit amet '.repeat(20);
    await send(ana, direct, `${filler}the needle is here ${filler}`);
    const [hit] = (await search(ana, { q: 'needle' })).body.results;
    expect(hit!.snippet.startsWith('…')).toBe(true);
    expect(hit!.snippet.endsWith('…')).toBe(true);
    expect(hit!.snippet.length).toBeLessThanOrEqual(162);
    expect(marked(hit!)).toEqual(['needle']);
    expect(hit!.message.body.length).toBeGreaterThan(500);
  });

  it('ranks better matches first and honours the limit', async () => {
    await send(ana, direct, 'zebra');
    await send(
      ana,
      direct,
      'a long message that mentions a zebra only once among many other words',
    );
    const results = (await search(ana, { q: 'zebra' })).body.results;
    expect(results.map((r) => r.message.body)[0]).toBe('zebra');
    expect((await search(ana, { q: 'zebra', limit: '1' })).body.results).toHaveLength(1);
  });

  it('follows edits and deletes', async () => {
    const { seq } = await send(ana, direct, 'meeting on tuesday');
    const gone = await send(ana, direct, 'password is hunter2');
    await api(server, 'PATCH', `/api/conversations/${direct}/messages/${seq}`, ana.accessToken, {
      body: 'meeting on wednesday',
    });
    await api(
      server,
      'DELETE',
      `/api/conversations/${direct}/messages/${gone.seq}`,
      ana.accessToken,
    );
    expect((await search(ben, { q: 'tuesday' })).body.results).toEqual([]);
    const [edited] = (await search(ben, { q: 'wednesday' })).body.results;
    expect(edited!.message).toMatchObject({ seq, body: 'meeting on wednesday' });
    expect(edited!.message.editedAt).not.toBeNull();
    expect((await search(ben, { q: 'hunter2' })).body.results).toEqual([]);
  });

  it('treats search syntax as plain words and never fails on it', async () => {
    await send(ana, direct, 'special AND "quoted" (paren) NEAR star* col:on');
    for (const q of [
      '"',
      '*',
      '(',
      'NEAR(',
      'OR',
      '-',
      '^xy',
      'col:on',
      '""""',
      "'; DROP TABLE",
      '\\',
    ]) {
      const result = await search(ana, { q });
      expect(result.status, q).toBe(200);
    }
    expect((await search(ana, { q: '"quoted" special' })).body.results).toHaveLength(1);
    expect((await search(ana, { q: 'col:on' })).body.results).toHaveLength(1);
    expect((await search(ana, { q: 'special OR nothing' })).body.results).toEqual([]);
  });

  it('validates its query', async () => {
    for (const query of [
      {},
      { q: '' },
      { q: '   ' },
      { q: 'x'.repeat(201) },
      { q: 'x', limit: '0' },
      { q: 'x', limit: '101' },
    ]) {
      const result = await search(ana, query as Record<string, string>);
      expect(result.status, JSON.stringify(query)).toBe(400);
    }
    const anonymous = await api(server, 'GET', '/api/search?q=x');
    expect(anonymous.status).toBe(401);
  });

  it('answers a query of one-letter words with bad_request saying why', async () => {
    const result = await search(ana, { q: 'a b' });
    expect(result.status).toBe(400);
    expect(result.body.error).toEqual({
      code: 'bad_request',
      message: 'Search for words of at least 2 letters or digits.',
    });
    expect((await search(ana, { q: 'a needle' })).body.results).toHaveLength(1);
  });

  it('limits searches per user with 429 rate_limited and Retry-After', async () => {
    const limited = await startServer({ config: { rateLimits: true } });
    try {
      const [kim, lou] = await Promise.all([register(limited, 'kim'), register(limited, 'lou')]);
      const answers: { status: number; retryAfter: string | null; code?: string }[] = [];
      for (let i = 0; i < 22; i++) {
        const response = await fetch(`${limited.url}/api/search?q=hello`, {
          headers: { authorization: `Bearer ${kim!.accessToken}` },
        });
        const body = (await response.json()) as { error?: { code: string } };
        answers.push({
          status: response.status,
          retryAfter: response.headers.get('retry-after'),
          code: body.error?.code,
        });
      }
      expect(answers.slice(0, 20).every((a) => a.status === 200)).toBe(true);
      expect(answers[20]).toMatchObject({ status: 429, code: 'rate_limited' });
      expect(Number(answers[20]!.retryAfter)).toBeGreaterThan(0);
      // Per user: another user still searches.
      const other = await api(limited, 'GET', '/api/search?q=hello', lou!.accessToken);
      expect(other.status).toBe(200);
    } finally {
      await limited.stop();
    }
  });
});
