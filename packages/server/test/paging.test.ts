/**
 * Reads that could grow without bound: the conversation list comes in pages (`limit`,
 * `cursor`), and the export streams its document a page at a time and is rate-limited.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { limits } from '@letter/protocol';
import { openSqliteStore, type SqliteStoreHandle } from '../src/store/sqlite/worker-store.js';
import {
  api,
  register,
  startServer,
  tempDir,
  type TestServer,
  type TestUser,
} from '../src/testing/harness.js';

describe('GET /api/conversations in pages', () => {
  let server: TestServer;
  let ana: TestUser;
  let created: string[];

  beforeAll(async () => {
    server = await startServer();
    ana = await register(server, 'ana');
    const peers = await Promise.all(Array.from({ length: 7 }, () => register(server, 'peer')));
    created = [];
    for (const peer of peers) {
      const result = await api(server, 'POST', '/api/conversations', ana.accessToken, {
        kind: 'direct',
        userId: peer.user.id,
      });
      created.push(result.body.conversation.id as string);
    }
  });
  afterAll(() => server.stop());

  const list = (query: Record<string, string>) =>
    api(
      server,
      'GET',
      `/api/conversations?${new URLSearchParams(query).toString()}`,
      ana.accessToken,
    );

  it('returns every conversation exactly once, latest activity first, whatever the page size', async () => {
    const whole = await list({});
    expect(whole.status).toBe(200);
    expect(whole.body.nextCursor).toBeNull();
    const order = (whole.body.conversations as { id: string }[]).map((c) => c.id);
    expect([...order].sort()).toEqual([...created].sort());
    for (const limit of [1, 2, 3, 7]) {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: Record<string, string> = { limit: String(limit) };
        if (cursor !== null) query.cursor = cursor;
        const page = await list(query);
        expect(page.status).toBe(200);
        expect(page.body.conversations.length).toBeLessThanOrEqual(limit);
        seen.push(...(page.body.conversations as { id: string }[]).map((c) => c.id));
        cursor = page.body.nextCursor as string | null;
        pages += 1;
      } while (cursor !== null);
      expect(seen, `limit ${limit}`).toEqual(order);
      expect(pages).toBe(Math.ceil(order.length / limit));
    }
  });

  it('answers bad_request for a cursor it did not give and for a bad limit', async () => {
    const forged = (text: string) => Buffer.from(text).toString('base64url');
    const queries: Record<string, string>[] = [
      { cursor: 'not a cursor!' },
      { cursor: forged('12:') },
      { cursor: forged('abc:c_1') },
      { cursor: forged(`1:${'x'.repeat(65)}`) },
      { cursor: '' },
      { cursor: 'x'.repeat(201) },
      { limit: '0' },
      { limit: String(limits.conversationsMaxLimit + 1) },
      { limit: 'lots' },
    ];
    for (const query of queries) {
      const result = await list(query);
      expect(result.status, JSON.stringify(query)).toBe(400);
      expect(result.body.error.code).toBe('bad_request');
    }
    const cursorMessage = (await list({ cursor: 'nope' })).body.error.message as string;
    expect(cursorMessage).toMatch(/^cursor/);
    // A well-formed cursor past the end is simply the end.
    const past = await list({ cursor: forged('0:c_0') });
    expect(past.body).toEqual({ conversations: [], nextCursor: null });
  });
});

describe('GET /api/me/export, streamed', () => {
  let server: TestServer;
  let store: SqliteStoreHandle;
  let pagesRead = 0;
  const dataDir = tempDir();

  beforeAll(async () => {
    store = await openSqliteStore({ file: join(dataDir, 'letter.db') });
    // Counts the store reads of sent messages: the export must come in pages.
    const counted = new Proxy(store, {
      get(target, key, receiver) {
        if (key === 'sentMessages') {
          return (...args: Parameters<SqliteStoreHandle['sentMessages']>) => {
            pagesRead += 1;
            return target.sentMessages(...args);
          };
        }
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    server = await startServer({ store: counted, dataDir, config: { rateLimits: true } });
  });
  afterAll(async () => {
    await server.stop();
    await store.close();
  });

  it('streams a user with many messages as chunked, correct JSON, page by page', async () => {
    const [ana, ben] = (await Promise.all([register(server, 'ana'), register(server, 'ben')])) as [
      TestUser,
      TestUser,
    ];
    const direct = await api(server, 'POST', '/api/conversations', ana.accessToken, {
      kind: 'direct',
      userId: ben.user.id,
    });
    const conversationId = direct.body.conversation.id as string;
    const count = 1234;
    // Straight into the store: over REST the send limit would take minutes.
    await Promise.all(
      Array.from({ length: count }, (_, i) =>
        store.appendMessage({
          id: `m_export_${i}`,
          conversationId,
          senderId: ana.user.id,
          clientMsgId: `export-${i}`,
          body: `message number ${i + 1}`,
          replyToSeq: null,
          createdAt: Date.now(),
        }),
      ),
    );

    pagesRead = 0;
    const response = await fetch(`${server.url}/api/me/export`, {
      headers: { authorization: `Bearer ${ana.accessToken}` },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('transfer-encoding')).toBe('chunked');
    expect(response.headers.get('content-length')).toBeNull();
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('content-disposition')).toBe(
      `attachment; filename="letter-export-${ana.user.username}.json"`,
    );
    const document = JSON.parse(await response.text());
    expect(document).toMatchObject({ format: 'letter-export/1', user: { id: ana.user.id } });
    expect(document.conversations.map((c: { id: string }) => c.id)).toEqual([conversationId]);
    expect(document.messages).toHaveLength(count);
    expect(document.messages.map((m: { seq: number }) => m.seq)).toEqual(
      Array.from({ length: count }, (_, i) => i + 1),
    );
    // 1,234 messages in pages of 500: three reads, never one for all.
    expect(pagesRead).toBe(3);
  });

  it('allows a few exports, then 429 rate_limited with Retry-After, per user', async () => {
    const [cat, dan] = (await Promise.all([register(server, 'cat'), register(server, 'dan')])) as [
      TestUser,
      TestUser,
    ];
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 4; i++) {
      const response = await fetch(`${server.url}/api/me/export`, {
        headers: { authorization: `Bearer ${cat.accessToken}` },
      });
      statuses.push(response.status);
      if (response.status === 429) {
        retryAfter = response.headers.get('retry-after');
        expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
          'rate_limited',
        );
      } else {
        await response.text();
      }
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(Number(retryAfter)).toBeGreaterThan(60);
    expect((await api(server, 'GET', '/api/me/export', dan.accessToken)).status).toBe(200);
  });
});
