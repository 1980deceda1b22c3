/**
 * The export index (`sent_messages`, migration 10): filled after the commit, in catch-ups of
 * its own that come less often than the search index's (migration 11, its mark), caught up
 * before the reads that need it (READS_INDEXES), equal to the messages with a sender up to its
 * mark in every committed state, and read by seeks, never scans.
 * The worker runs compiled code from dist/: run `npx tsc -b packages/server` first.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { migrate } from './migrations.js';
import { SqliteStore } from './sqlite-store.js';
import { openSqliteStore, type SqliteStoreHandle } from './worker-store.js';
import { T0, range } from '../suite/helpers.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'letter-sent-'));
  dirs.push(dir);
  return join(dir, 'letter.db');
}

const iso = (at: number) => new Date(at).toISOString();

/** What the export index must hold: one row per message with a sender. */
function expectIndexEqualsMessages(file: string): void {
  const db = new Database(file);
  try {
    const index = db
      .prepare('SELECT sender_id, conversation_id, seq, created_at FROM sent_messages')
      .all();
    const messages = db
      .prepare(
        `SELECT sender_id, conversation_id, seq, created_at FROM messages
         WHERE sender_id IS NOT NULL ORDER BY sender_id, conversation_id, seq`,
      )
      .all();
    expect(index).toEqual(messages);
    expect(index.length).toBeGreaterThan(0);
  } finally {
    db.close();
  }
}

async function pair(store: SqliteStoreHandle, tag: string) {
  const user = (name: string) =>
    store.createUser({
      id: `u_${tag}_${name}`,
      username: `${tag}${name}`,
      displayName: name,
      passwordHash: 'h',
      createdAt: T0,
    });
  const [a, b] = [await user('a'), await user('b')];
  const { conversation } = await store.openDirect(`c_${tag}`, a.id, b.id, T0);
  let n = 0;
  const send = (senderId: string, at: number) =>
    store.appendMessage({
      id: `m_${tag}_${++n}`,
      conversationId: conversation.id,
      senderId,
      clientMsgId: `cm_${tag}_${n}`,
      body: `message ${n}`,
      replyToSeq: null,
      createdAt: at,
    });
  return { a, b, c: conversation.id, send };
}

/** The export index's mark, the search index's highest rowid, and the table's, as committed. */
function marks(file: string): { exported: number; searchable: number; rows: number } {
  const db = new Database(file, { readonly: true });
  try {
    const one = (text: string) => db.prepare(text).pluck().get() as number;
    return {
      exported: one('SELECT upto FROM sent_messages_mark'),
      searchable: one('SELECT coalesce(max(id), 0) FROM messages_fts_docsize'),
      rows: one('SELECT coalesce(max(rowid), 0) FROM messages'),
    };
  } finally {
    db.close();
  }
}

describe('the export index (sent_messages)', () => {
  it('lags until 4,000 rows wait (the search index 1,000), and is caught up before the reads that need it', async () => {
    const file = await tempFile();
    // The idle catch-up never comes while the test looks.
    const store = await openSqliteStore({ file, indexIdleMs: 60_000 });
    try {
      const { a, b, c, send } = await pair(store, 'lag');
      const before = marks(file);
      // Fewer rows than a catch-up waits for: neither index has them.
      await Promise.all(range(1, 600).map((i) => send(a.id, T0 + i)));
      const after = marks(file);
      expect(after.rows).toBe(before.rows + 600);
      expect(after.searchable).toBe(before.searchable);
      expect(after.exported).toBe(before.exported);
      // A read that needs it catches it up first, and moves its mark to the end.
      const page = await store.sentMessages(a.id, { limit: 1000 });
      expect(page.map((m) => m.seq)).toEqual(range(1, 600));
      expect(marks(file)).toMatchObject({ exported: after.rows, searchable: before.searchable });
      // Bob's reply, not in the export index yet, dates his read of all 600: receipts catch up.
      await send(b.id, T0 + 700);
      expect(marks(file).exported).toBe(after.rows);
      expect(await store.receipts(c, 600, a.id)).toEqual([
        { userId: b.id, deliveredAt: iso(T0 + 700), readAt: iso(T0 + 700) },
      ]);
      // 1,000 rows waiting: the search index catches up on its own (after the replies, so
      // waited for); the export index, a quarter of its way further, waits for more.
      await Promise.all(range(1, 1000).map((i) => send(b.id, T0 + 1000 + i)));
      await vi.waitFor(() => {
        expect(marks(file)).toEqual({
          searchable: after.rows + 1001,
          exported: after.rows + 1,
          rows: after.rows + 1001,
        });
      });
      // 3,000 more: the export index, 4,000 rows behind by their end, has caught up in between
      // (its turn comes once the two lags together are due and it is further behind), and
      // neither index is more than its batch behind.
      await Promise.all(range(1, 3000).map((i) => send(b.id, T0 + 4000 + i)));
      await vi.waitFor(() => {
        const now = marks(file);
        expect(now.rows).toBe(after.rows + 4001);
        expect(now.exported).toBeGreaterThan(after.rows + 1);
        expect(now.rows - now.exported).toBeLessThan(4000);
        expect(now.rows - now.searchable).toBeLessThan(1000);
      });
    } finally {
      await store.close();
    }
    expectIndexEqualsMessages(file);
  });

  it('takes turns with the search index: never both in one catch-up, neither far behind', async () => {
    const file = await tempFile();
    const store = await openSqliteStore({ file, indexIdleMs: 60_000 });
    try {
      const { a, b, send } = await pair(store, 'turns');
      const seen = [marks(file)];
      // Batches of 100, as a steady load makes them: the schedule is looked at after each.
      for (const chunk of range(1, 60)) {
        await Promise.all(
          range(1, 100).map((i) => send(i % 2 ? a.id : b.id, T0 + chunk * 100 + i)),
        );
        // Queued behind any catch-up the batch started, so its commit is seen.
        await store.getUser(a.id);
        seen.push(marks(file));
      }
      const moves = { search: 0, export: 0, both: 0 };
      for (const [i, now] of seen.entries()) {
        // Neither lags by more than its batch of rows (and the last batch of appends).
        expect(now.rows - now.searchable).toBeLessThan(1000 + 100);
        expect(now.rows - now.exported).toBeLessThan(4000 + 100);
        if (i === 0) continue;
        const before = seen[i - 1]!;
        const search = now.searchable !== before.searchable;
        const exported = now.exported !== before.exported;
        if (search && exported) moves.both += 1;
        else if (search) moves.search += 1;
        else if (exported) moves.export += 1;
      }
      // 6,000 rows: the search index catches up about every 1,000 rows, the export index about
      // every 4,000 (when the two lags together come due), never both at once.
      expect(moves.both).toBe(0);
      expect(moves.search).toBeGreaterThanOrEqual(4);
      expect(moves.export).toBeGreaterThanOrEqual(1);
    } finally {
      await store.close();
    }
    expectIndexEqualsMessages(file);
  });

  it('is caught up alone before receipts and an export page, which wait for no search catch-up; a read position waits for neither', async () => {
    const file = await tempFile();
    const store = await openSqliteStore({ file, indexIdleMs: 60_000 });
    try {
      const { a, b, c, send } = await pair(store, 'alone');
      const before = marks(file);
      for (const i of range(1, 4)) await send(a.id, T0 + i);
      await send(b.id, T0 + 10);
      expect(marks(file)).toMatchObject({ searchable: before.rows, exported: before.rows });
      // A read position moves with every message a client sees; it changes no message, so
      // neither index catches up for it.
      expect(await store.advancePosition(c, a.id, 'read', 5, T0 + 11)).not.toBeNull();
      expect(marks(file)).toMatchObject({ searchable: before.rows, exported: before.rows });
      // Receipts catch the export index up, in a batch of its own (a write), and not the search
      // index: its catch-up and the merges it owes would only hold the receipts up.
      const transactions = store.stats().transactions;
      expect(await store.receipts(c, 4, a.id)).toEqual([
        { userId: b.id, deliveredAt: iso(T0 + 10), readAt: iso(T0 + 10) },
      ]);
      expect(marks(file)).toEqual({
        searchable: before.rows,
        exported: before.rows + 5,
        rows: before.rows + 5,
      });
      expect(store.stats().transactions).toBe(transactions + 1);
      // Once it is complete, an export page is a read, though the search index lags.
      const page = await store.sentMessages(a.id, { limit: 10 });
      expect(page.map((m) => m.seq)).toEqual(range(1, 4));
      expect(store.stats().transactions).toBe(transactions + 1);
      expect(marks(file).searchable).toBe(before.rows);
      // The search catches its own index up.
      const found = await store.search(a.id, { text: 'message', conversationId: c, limit: 10 });
      expect(found?.map((r) => r.message.seq).sort((x, y) => x - y)).toEqual(range(1, 5));
      expect(marks(file).searchable).toBe(before.rows + 5);
    } finally {
      await store.close();
    }
    expectIndexEqualsMessages(file);
  });

  it('is not caught up before a search, which waits for the search index alone', async () => {
    const file = await tempFile();
    const store = await openSqliteStore({ file, indexIdleMs: 60_000 });
    try {
      const { a, c, send } = await pair(store, 'find');
      const before = marks(file);
      for (const i of range(1, 5)) await send(a.id, T0 + i);
      expect(marks(file)).toMatchObject({ searchable: before.rows, exported: before.rows });
      // The search index is caught up for the search, in a batch of its own (a write)…
      const transactions = store.stats().transactions;
      const found = await store.search(a.id, { text: 'message', conversationId: c, limit: 10 });
      expect(found?.map((r) => r.message.seq).sort((x, y) => x - y)).toEqual(range(1, 5));
      expect(marks(file)).toEqual({
        searchable: before.rows + 5,
        exported: before.rows,
        rows: before.rows + 5,
      });
      expect(store.stats().transactions).toBe(transactions + 1);
      // …and once it is complete, a search is a read again, though the export index lags.
      await store.search(a.id, { text: 'message', limit: 10 });
      expect(store.stats().transactions).toBe(transactions + 1);
      // Receipts still catch the export index up.
      await store.receipts(c, 5, a.id);
      expect(marks(file).exported).toBe(before.rows + 5);
    } finally {
      await store.close();
    }
    expectIndexEqualsMessages(file);
  });

  it('finds after a restart the rows above its mark, and its mark never stays above the table', async () => {
    const file = await tempFile();
    const store = await openSqliteStore({ file });
    const { a, c, send } = await pair(store, 'mark');
    for (const i of range(1, 5)) await send(a.id, T0 + i);
    await store.close();
    // What a kill -9 after a search catch-up leaves: rows searchable, not yet in the export.
    let db = new Database(file);
    db.exec('DELETE FROM sent_messages; UPDATE sent_messages_mark SET upto = 0');
    db.close();
    const reopened = await openSqliteStore({ file });
    await reopened.close();
    expectIndexEqualsMessages(file);
    const { rows, exported } = marks(file);
    expect(exported).toBe(rows);
    // No code path deletes messages today; should the last rows go, their rowids come back and
    // must be indexed again.
    db = new Database(file);
    db.prepare('DELETE FROM messages WHERE conversation_id = ? AND seq >= 4').run(c);
    expect(marks(file).exported).toBe(rows - 2);
    db.close();
    const again = await openSqliteStore({ file });
    try {
      const other = await pair(again, 'mark2');
      await other.send(other.a.id, T0 + 9);
    } finally {
      await again.close();
    }
    expectIndexEqualsMessages(file);
    expect(marks(file).exported).toBe(marks(file).rows);
  });

  it('is caught up before receipts and an export page in the batch that appended the rows', async () => {
    const file = await tempFile();
    const store = await openSqliteStore({ file });
    try {
      const { a, b, c, send } = await pair(store, 'batch');
      await send(a.id, T0 + 1);
      // Issued in one tick: the worker runs them as one batch, in this order. Without the
      // catch-up, Bob's reply (not indexed yet) would not date his read, and the export would
      // miss Alice's second message.
      const [, , receipts, page] = await Promise.all([
        send(b.id, T0 + 2),
        send(a.id, T0 + 3),
        store.receipts(c, 1, a.id),
        store.sentMessages(a.id, { limit: 10 }),
      ]);
      expect(receipts).toEqual([{ userId: b.id, deliveredAt: iso(T0 + 2), readAt: iso(T0 + 2) }]);
      expect(page.map((m) => [m.seq, m.body])).toEqual([
        [1, 'message 1'],
        [3, 'message 3'],
      ]);
    } finally {
      await store.close();
    }
    expectIndexEqualsMessages(file);
  });

  it('is caught up before those reads outside a write batch too, and pages through every row', async () => {
    const file = await tempFile();
    const store = await openSqliteStore({ file });
    try {
      const { a, b, c, send } = await pair(store, 'reads');
      for (const i of range(1, 30)) await send(i % 3 === 0 ? b.id : a.id, T0 + i);
      // Reads alone, right after the appends (the idle catch-up waits 10 ms).
      const [receipts, first] = await Promise.all([
        store.receipts(c, 2, a.id),
        store.sentMessages(a.id, { limit: 7 }),
      ]);
      expect(receipts).toEqual([{ userId: b.id, deliveredAt: iso(T0 + 3), readAt: iso(T0 + 3) }]);
      const seqs = first.map((m) => m.seq);
      let after = first.at(-1)!;
      for (;;) {
        const page = await store.sentMessages(a.id, {
          limit: 7,
          after: { conversationId: c, seq: after.seq },
        });
        if (page.length === 0) break;
        seqs.push(...page.map((m) => m.seq));
        after = page.at(-1)!;
      }
      expect(seqs).toEqual(range(1, 30).filter((i) => i % 3 !== 0));
    } finally {
      await store.close();
    }
    expectIndexEqualsMessages(file);
    // A deleted row takes its entry with it (no code path deletes messages today).
    const db = new Database(file);
    db.exec('DELETE FROM messages WHERE seq IN (1, 3)');
    db.close();
    expectIndexEqualsMessages(file);
  });

  it('is read by seeks only', () => {
    const store = new SqliteStore(':memory:');
    try {
      store.migrate();
      const plans = [store.a.sentMessages.sql, store.a.sentReactions.sql, store.q.receipts.sql].map(
        (text) =>
          store.db
            .prepare(`EXPLAIN QUERY PLAN ${text}`)
            .all(...Array<null>(text.split('?').length - 1).fill(null))
            .map((row) => (row as { detail: string }).detail)
            .join('\n'),
      );
      for (const plan of plans) {
        expect(plan).not.toMatch(/SCAN/);
        expect(plan).toMatch(/SEARCH (s|own) USING PRIMARY KEY \(sender_id=\?/);
      }
    } finally {
      store.close();
    }
  });

  it('is filled by migration 10 up to the search index, and the rest by the next catch-up', async () => {
    const file = await tempFile();
    const db = new Database(file);
    migrate(db, 9);
    db.exec(`
      INSERT INTO users (id, username, display_name, password_hash, created_at)
        VALUES ('u_m_a', 'ma', 'A', 'h', ${T0}), ('u_m_b', 'mb', 'B', 'h', ${T0});
      INSERT INTO conversations (id, kind, direct_key, last_seq, created_at, last_activity_at)
        VALUES ('c_m', 'direct', 'u_m_a:u_m_b', 4, ${T0}, ${T0});
      INSERT INTO members (conversation_id, user_id, role, joined_at, join_seq)
        VALUES ('c_m', 'u_m_a', 'member', ${T0}, 1), ('c_m', 'u_m_b', 'member', ${T0}, 1);
      INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id, body, created_at)
        VALUES ('m_1', 'c_m', 1, 'u_m_a', 'k1', 'one', ${T0 + 1}),
               ('m_2', 'c_m', 2, 'u_m_b', 'k2', 'two', ${T0 + 2});
      INSERT INTO messages_fts (rowid, body) SELECT rowid, body FROM messages;
      -- Committed, not indexed yet (as the worker leaves rows between catch-ups).
      INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id, body, created_at)
        VALUES ('m_3', 'c_m', 3, 'u_m_a', 'k3', 'three', ${T0 + 3});
    `);
    migrate(db);
    const indexed = () =>
      db.prepare('SELECT seq FROM sent_messages ORDER BY seq').pluck().all() as number[];
    expect(indexed()).toEqual([1, 2]);
    // Migration 11 marks it where migration 10 filled it: at the search index's highest.
    expect(db.prepare('SELECT upto FROM sent_messages_mark').pluck().get()).toBe(2);
    db.close();
    const store = await openSqliteStore({ file });
    await store.close();
    expectIndexEqualsMessages(file);
  });
});
