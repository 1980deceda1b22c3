/**
 * A history page crosses from the SQLite worker as its answer's JSON when none of its messages
 * carries an attachment, and GET /api/conversations/:id/messages sends that JSON as it is
 * (sqlite/rpc.ts `toHistoryReply`, util/message-json.ts `pageJson`). The bytes must be the
 * route's object path's: the answer built from the store's objects, URLs signed, serialized.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HistoryPage } from '../store.js';
import { SqliteStore } from './sqlite-store.js';
import { pageJson } from '../../util/message-json.js';
import {
  api,
  directConversation,
  register,
  startServer,
  type TestServer,
  type TestUser,
} from '../../testing/harness.js';

const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

describe('history pages as JSON made in the SQLite worker', () => {
  let server: TestServer;
  let ana: TestUser;
  let bob: TestUser;
  let conversation: string;
  /** The database read directly: the store's objects, as the route's object path gets them. */
  let direct: SqliteStore;

  const send = async (user: TestUser, body: string, attachments?: string[]) => {
    const result = await api(
      server,
      'POST',
      `/api/conversations/${conversation}/messages`,
      user.accessToken,
      { clientMsgId: `c-${Math.random()}`, body, ...(attachments && { attachments }) },
    );
    expect(result.status).toBe(201);
    return result.body.message.seq as number;
  };

  /** The route's answer, as sent. */
  const fetchPage = async (query: string) => {
    const response = await fetch(
      `${server.url}/api/conversations/${conversation}/messages?${query}`,
      { headers: { authorization: `Bearer ${ana.accessToken}` } },
    );
    expect(response.status).toBe(200);
    return { text: await response.text(), type: response.headers.get('content-type') };
  };

  /** What the route's object path sends for this page. */
  const objectPath = (page: HistoryPage) =>
    JSON.stringify({
      messages: page.messages.map((m) => server.node.files.signMessage(m, ana.user.id)),
      hasMore: page.hasMore,
    });

  beforeAll(async () => {
    server = await startServer();
    ana = await register(server, 'ana');
    bob = await register(server, 'bob');
    conversation = await directConversation(server, ana, bob);
    // Bodies that JSON must escape, an edit, a reaction, a deletion, a reply's worth of fields.
    await send(ana, 'plain');
    await send(bob, 'quotes " and \\ backslash, tab\t, newline\n, emoji 🦊, e\u0301, \u2028');
    const edited = await send(ana, 'before the edit');
    expect(
      (
        await api(
          server,
          'PATCH',
          `/api/conversations/${conversation}/messages/${edited}`,
          ana.accessToken,
          { body: 'after the edit' },
        )
      ).status,
    ).toBe(200);
    const reacted = await send(bob, 'react to me');
    for (const [user, emoji] of [
      [ana, '👍'],
      [bob, '🎉'],
    ] as const) {
      const path = `/api/conversations/${conversation}/messages/${reacted}/reactions`;
      expect((await api(server, 'PUT', path, user.accessToken, { emoji })).status).toBe(200);
    }
    const deleted = await send(ana, 'delete me');
    const path = `/api/conversations/${conversation}/messages/${deleted}`;
    expect((await api(server, 'DELETE', path, ana.accessToken)).status).toBe(204);
    for (let i = 0; i < 8; i++) await send(i % 2 ? ana : bob, `filler ${i}`);
    direct = new SqliteStore(join(server.dataDir, 'letter.db'));
  });
  afterAll(async () => {
    direct?.close();
    await server?.stop();
  });

  const ranges = [
    { query: 'limit=50', range: { limit: 50 } },
    { query: 'limit=5', range: { limit: 5 } },
    { query: 'before=7&limit=3', range: { before: 7, limit: 3 } },
    { query: 'after=2&limit=4', range: { after: 2, limit: 4 } },
  ];

  it.each(ranges)('sends the same bytes as the object path ($query)', async ({ query, range }) => {
    const page = await server.node.store.history(conversation, ana.user.id, range);
    // The verbatim path is the one taken: otherwise the comparison below proves nothing.
    expect(pageJson(page!)).toBeTypeOf('string');
    const sent = await fetchPage(query);
    const objects = direct.history(conversation, ana.user.id, range)!;
    expect(objects.messages.length).toBeGreaterThan(0);
    expect(sent.text).toBe(objectPath(objects));
    expect(sent.type).toBe('application/json; charset=utf-8');
    // And the page's objects, for callers that read them, are the store's.
    expect(page).toEqual(objects);
  });

  it('forgets the JSON once a caller reads or replaces the messages', async () => {
    const read = (await server.node.store.history(conversation, ana.user.id, { limit: 5 }))!;
    expect(pageJson(read)).toBeTypeOf('string');
    // Read, the messages may be changed in place: the JSON would no longer say what they say.
    read.messages[0]!.body = 'changed';
    expect(pageJson(read)).toBeUndefined();
    expect(read.messages[0]!.body).toBe('changed');

    const replaced = (await server.node.store.history(conversation, ana.user.id, { limit: 5 }))!;
    expect(pageJson(replaced)).toBeTypeOf('string');
    replaced.messages = [];
    expect(pageJson(replaced)).toBeUndefined();
    expect(replaced.messages).toEqual([]);
  });

  it('signs pages with attachments per viewer, on the object path, same content type', async () => {
    const uploadForm = new FormData();
    uploadForm.append('file', new Blob([PNG]), 'dot.png');
    const uploaded = await fetch(`${server.url}/api/files`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ana.accessToken}` },
      body: uploadForm,
    });
    expect(uploaded.status).toBe(201);
    const fileId = ((await uploaded.json()) as { file: { id: string } }).file.id;
    await send(ana, 'with a file', [fileId]);
    const page = await server.node.store.history(conversation, ana.user.id, { limit: 3 });
    expect(pageJson(page!)).toBeUndefined();
    const plain = await fetchPage('before=3&limit=2');
    const sent = await fetchPage('limit=3');
    expect(sent.type).toBe(plain.type);
    const messages = (JSON.parse(sent.text) as HistoryPage).messages;
    const url = messages.at(-1)!.attachments[0]!.url;
    expect(new URL(url, server.url).searchParams.get('u')).toBe(ana.user.id);
  });
});
