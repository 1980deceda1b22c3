/**
 * The export index (`sent_messages`, migration 10): filled with the search index after the
 * commit (SqliteStore.indexPending), caught up before the reads that need it (READS_INDEXES),
 * equal to the messages with a sender in every committed state, and read by seeks, never scans.
 * The worker runs compiled code from dist/: run `npx tsc -b packages/server` first.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
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

describe('the export index (sent_messages)', () => {
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
    db.close();
    const store = await openSqliteStore({ file });
    await store.close();
    expectIndexEqualsMessages(file);
  });
});
