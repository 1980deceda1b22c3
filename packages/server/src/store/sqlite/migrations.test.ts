/**
 * Schema steps that rebuild a table (`rebuildsTables`): foreign keys off around the transaction
 * (dropping the old table must not cascade), their check before it commits, and back on after.
 */
import { describe, expect, it } from 'vitest';
import { latestVersion, migrate, migrations, type Migration } from './migrations.js';
import { openDatabase } from './people.js';

/** A database at version 8 (before the idempotency index's rebuild) with a reacted message. */
function atVersion8() {
  const db = openDatabase(':memory:');
  migrate(db, 8);
  const user = db.prepare(
    'INSERT INTO users (id, username, display_name, password_hash, created_at) VALUES (?, ?, ?, ?, 0)',
  );
  user.run('u_a', 'a', 'A', 'h');
  user.run('u_b', 'b', 'B', 'h');
  db.prepare(
    `INSERT INTO conversations (id, kind, direct_key, last_seq, created_at, last_activity_at)
     VALUES ('c', 'direct', '["u_a","u_b"]', 2, 0, 0)`,
  ).run();
  const member = db.prepare(
    `INSERT INTO members (conversation_id, user_id, role, joined_at) VALUES ('c', ?, 'member', 0)`,
  );
  member.run('u_a');
  member.run('u_b');
  const message = db.prepare(
    `INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id, body, created_at)
     VALUES (?, 'c', ?, ?, ?, ?, 0)`,
  );
  message.run('m_1', 1, 'u_a', 'k1', 'first');
  message.run('m_2', 2, 'u_b', 'k1', 'second');
  db.prepare(
    `INSERT INTO reactions (conversation_id, seq, user_id, emoji, created_at) VALUES ('c', 1, 'u_b', '👍', 0)`,
  ).run();
  return db;
}

const idempotencyIndex = (db: ReturnType<typeof openDatabase>) =>
  (db.pragma('index_list(messages)') as { name: string; unique: number }[])
    .filter((index) => index.unique === 1)
    .map((index) =>
      (db.pragma(`index_info(${index.name})`) as { name: string }[]).map((c) => c.name),
    )
    .find((columns) => columns.includes('client_msg_id'));

describe('SQLite schema steps that rebuild a table', () => {
  it('rebuilds messages with the idempotency index led by the client id, losing nothing', () => {
    const db = atVersion8();
    const rowids = db.prepare('SELECT rowid, id FROM messages ORDER BY rowid').all();
    expect(idempotencyIndex(db)).toEqual(['sender_id', 'client_msg_id']);

    expect(migrate(db)).toBe(latestVersion);
    expect(idempotencyIndex(db)).toEqual(['client_msg_id', 'sender_id']);
    // Dropping the old table cascaded nothing; rowids (the search index's keys) are kept.
    expect(db.prepare('SELECT user_id, emoji FROM reactions').all()).toEqual([
      { user_id: 'u_b', emoji: '👍' },
    ]);
    expect(db.prepare('SELECT rowid, id FROM messages ORDER BY rowid').all()).toEqual(rowids);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    // The same rule: one message per (sender, client id); another sender may use the same id.
    const insert = db.prepare(
      `INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id, body, created_at)
       VALUES (?, 'c', ?, ?, 'k1', 'again', 0)`,
    );
    expect(() => insert.run('m_3', 3, 'u_a')).toThrow(/UNIQUE constraint failed/);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    // The triggers came back with the table: an edit reaches the search index.
    db.prepare(`INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')`).run();
    db.prepare(`UPDATE messages SET body = 'rewritten' WHERE id = 'm_1'`).run();
    db.prepare(`INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)`).run();
    expect(
      db.prepare(`SELECT rowid FROM messages_fts WHERE messages_fts MATCH 'rewritten'`).all(),
    ).toHaveLength(1);
    db.close();
  });

  it('refuses to commit a rebuild that leaves dangling foreign keys, and turns them back on', () => {
    const db = atVersion8();
    // A faulty rebuild: with foreign keys off, emptying messages orphans the reaction.
    const faulty: Migration[] = [
      ...migrations.filter((m) => m.version <= 8),
      {
        version: 9,
        name: 'faulty',
        rebuildsTables: true,
        sql: 'DROP TRIGGER messages_fts_delete; DELETE FROM messages;',
      },
    ];
    expect(() => migrate(db, 9, faulty)).toThrow(/foreign keys point nowhere/);
    expect(db.pragma('user_version', { simple: true })).toBe(8);
    expect(db.prepare('SELECT count(*) AS n FROM messages').get()).toEqual({ n: 2 });
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    db.close();
  });

  it('migrates a database that already had a dangling row, and keeps it', () => {
    const db = atVersion8();
    db.pragma('foreign_keys = OFF');
    db.prepare(
      `INSERT INTO reactions (conversation_id, seq, user_id, emoji, created_at) VALUES ('c', 9, 'u_a', '🙂', 0)`,
    ).run();
    db.pragma('foreign_keys = ON');

    expect(migrate(db)).toBe(latestVersion);
    expect(idempotencyIndex(db)).toEqual(['client_msg_id', 'sender_id']);
    expect(db.prepare('SELECT count(*) AS n FROM reactions').get()).toEqual({ n: 2 });
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    db.close();
  });
});
