/**
 * Versioned schema steps. The applied version lives in `PRAGMA user_version` (part of the
 * database header, so it commits atomically with the step). Steps are append-only: never edit a
 * released step, add the next one.
 */
import type { Db } from './db.js';
import { newerSchemaMessage } from '../shared/schema-version.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
  /**
   * The step rebuilds a table others reference (SQLite's "create, copy, drop, rename"): foreign
   * keys are off around the transaction, as SQLite requires, so dropping the old table cascades
   * nothing; `PRAGMA foreign_key_check` may find no more rows after the steps than before.
   */
  rebuildsTables?: boolean;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
      CREATE TABLE users (
        id            TEXT PRIMARY KEY,
        -- Stored lower-case, so the plain UNIQUE is the case-insensitive uniqueness rule.
        username      TEXT NOT NULL UNIQUE,
        display_name  TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        created_at    INTEGER NOT NULL,
        last_seen_at  INTEGER,
        deleted_at    INTEGER
      ) STRICT;

      CREATE TABLE sessions (
        id         TEXT PRIMARY KEY,
        user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
      ) STRICT;
      CREATE INDEX sessions_by_user ON sessions(user_id);

      CREATE TABLE refresh_tokens (
        token_hash TEXT PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        expires_at INTEGER NOT NULL,
        spent_at   INTEGER
      ) STRICT;
      CREATE INDEX refresh_tokens_by_session ON refresh_tokens(session_id);

      CREATE TABLE contacts (
        owner_id   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        contact_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (owner_id, contact_id)
      ) STRICT, WITHOUT ROWID;
      -- presenceAudience asks "who has this user as a contact".
      CREATE INDEX contacts_by_contact ON contacts(contact_id, owner_id);

      CREATE TABLE blocks (
        blocker_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        blocked_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (blocker_id, blocked_id)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX blocks_by_blocked ON blocks(blocked_id, blocker_id);

      CREATE TABLE conversations (
        id               TEXT PRIMARY KEY,
        kind             TEXT NOT NULL CHECK (kind IN ('direct', 'group')),
        title            TEXT,
        -- The pair of a direct conversation, sorted: one direct conversation per pair by
        -- constraint. NULL for groups (NULLs never clash in a UNIQUE column).
        direct_key       TEXT UNIQUE,
        last_seq         INTEGER NOT NULL DEFAULT 0,
        created_at       INTEGER NOT NULL,
        last_activity_at INTEGER NOT NULL,
        CHECK ((kind = 'direct') = (direct_key IS NOT NULL))
      ) STRICT;

      CREATE TABLE members (
        conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        role            TEXT NOT NULL CHECK (role IN ('admin', 'member')),
        joined_at       INTEGER NOT NULL,
        read_seq        INTEGER NOT NULL DEFAULT 0,
        delivered_seq   INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (conversation_id, user_id),
        CHECK (delivered_seq >= read_seq)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX members_by_user ON members(user_id, conversation_id);

      CREATE TABLE messages (
        id              TEXT NOT NULL UNIQUE,
        conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        seq             INTEGER NOT NULL CHECK (seq > 0),
        sender_id       TEXT REFERENCES users(id),
        client_msg_id   TEXT,
        body            TEXT NOT NULL,
        created_at      INTEGER NOT NULL,
        edited_at       INTEGER,
        deleted_at      INTEGER,
        reply_to_seq    INTEGER,
        system_json     TEXT,
        -- The history index: paging by seq within a conversation.
        UNIQUE (conversation_id, seq),
        -- Idempotent sends; system messages (NULL sender) never clash.
        UNIQUE (sender_id, client_msg_id)
      ) STRICT;

      CREATE TABLE reactions (
        conversation_id TEXT NOT NULL,
        seq             INTEGER NOT NULL,
        user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        emoji           TEXT NOT NULL,
        created_at      INTEGER NOT NULL,
        PRIMARY KEY (conversation_id, seq, user_id),
        FOREIGN KEY (conversation_id, seq) REFERENCES messages(conversation_id, seq)
          ON DELETE CASCADE
      ) STRICT, WITHOUT ROWID;

      -- Every forward move of a member's delivered/read position, so receipts can tell when a
      -- position first reached a seq. Positions only grow, so per (member, kind) both seq and
      -- time increase along the primary key.
      CREATE TABLE position_log (
        conversation_id TEXT NOT NULL,
        user_id         TEXT NOT NULL,
        kind            TEXT NOT NULL CHECK (kind IN ('delivered', 'read')),
        seq             INTEGER NOT NULL,
        at              INTEGER NOT NULL,
        PRIMARY KEY (conversation_id, user_id, kind, seq),
        FOREIGN KEY (conversation_id, user_id) REFERENCES members(conversation_id, user_id)
          ON DELETE CASCADE
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    name: 'groups, message actions, search, per-member settings',
    sql: `
      -- The first seq a member may see: 0 for the founding members, the seq of the "added"
      -- system message for anyone added later (a re-add sets a new one).
      ALTER TABLE members ADD COLUMN join_seq INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE members ADD COLUMN muted INTEGER NOT NULL DEFAULT 0 CHECK (muted IN (0, 1));
      ALTER TABLE members ADD COLUMN archived INTEGER NOT NULL DEFAULT 0
        CHECK (archived IN (0, 1));
      -- Every send un-archives the conversation for everyone else: a probe of this partial
      -- index instead of a scan over the members of a large group.
      CREATE INDEX members_archived ON members(conversation_id, user_id) WHERE archived = 1;
      -- Bumped by every membership change, so a node can tell whether its cached member list
      -- is the one a message was appended under (see ChatService.send).
      ALTER TABLE conversations ADD COLUMN members_version INTEGER NOT NULL DEFAULT 0;

      -- Full-text search over message bodies. External content: the text lives only in
      -- messages; the triggers keep the index equal to it on insert, edit, delete-for-everyone
      -- (body set to '') and row deletion. System messages and tombstones have empty bodies
      -- and so no tokens. The key is messages' rowid, which VACUUM keeps (sqlite.test.ts checks
      -- with FTS5's integrity-check); after any other bulk rewrite of messages run
      -- INSERT INTO messages_fts(messages_fts) VALUES ('rebuild').
      CREATE VIRTUAL TABLE messages_fts USING fts5(
        body,
        content = 'messages',
        content_rowid = 'rowid',
        tokenize = 'unicode61 remove_diacritics 2'
      );
      CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts(rowid, body) VALUES (new.rowid, new.body);
      END;
      CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.rowid, old.body);
      END;
      CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.rowid, old.body);
        INSERT INTO messages_fts(rowid, body) VALUES (new.rowid, new.body);
      END;
      INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');
    `,
  },
  {
    version: 3,
    name: 'search index filled per batch, not per row',
    sql: `
      -- New messages reach messages_fts in one INSERT … SELECT per worker batch
      -- (SqliteStore.indexPending), before that batch commits: one FTS5 insert per row from a
      -- trigger cost ~25 µs a message (docs/performance.md). Edits, deletions and row deletes
      -- keep their triggers; the store runs indexPending before any of them (and before search).
      DROP TRIGGER messages_fts_insert;
    `,
  },
  {
    version: 4,
    name: 'search index with prefix indexes',
    sql: `
      -- Every search term is a prefix query ("ab"*). Without a prefix index FTS5 answers one by
      -- merging the doclists of every indexed word that starts with it: for a two-letter prefix
      -- that is a large part of the index. prefix = '2 3' keeps ready-merged doclists for the
      -- first 2 and 3 characters of every word (about twice the index size); longer prefixes
      -- match few words. One-character words are not searched at all (search-words.ts).
      -- An FTS5 table's options cannot be altered: the table is made again and rebuilt from
      -- messages, with the two triggers migration 3 kept.
      DROP TRIGGER messages_fts_delete;
      DROP TRIGGER messages_fts_update;
      DROP TABLE messages_fts;
      CREATE VIRTUAL TABLE messages_fts USING fts5(
        body,
        content = 'messages',
        content_rowid = 'rowid',
        tokenize = 'unicode61 remove_diacritics 2',
        prefix = '2 3'
      );
      CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.rowid, old.body);
      END;
      CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.rowid, old.body);
        INSERT INTO messages_fts(rowid, body) VALUES (new.rowid, new.body);
      END;
      INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');
    `,
  },
  {
    version: 5,
    name: 'messages by sender, for the export in pages',
    sql: `
      -- The export reads a user's messages page by page in (conversation, seq) order; without
      -- this index every page would read and sort all of them (quadratic in their number).
      CREATE INDEX messages_by_sender ON messages(sender_id, conversation_id, seq);
    `,
  },
  {
    version: 6,
    name: 'web push subscriptions, tied to a session; mentions',
    sql: `
      -- One row per browser endpoint (a re-subscription moves it to the new session). A session
      -- revoked for any reason (logout, revocation, password change, account deletion, a
      -- refresh token reused) takes its subscriptions with it: the trigger is that one rule.
      CREATE TABLE push_subscriptions (
        endpoint   TEXT PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        p256dh     TEXT NOT NULL,
        auth       TEXT NOT NULL,
        created_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX push_subscriptions_by_user ON push_subscriptions(user_id);
      -- Per user: whether pushes carry the message text (no row: yes).
      CREATE TABLE push_settings (
        user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
        preview INTEGER NOT NULL CHECK (preview IN (0, 1))
      ) STRICT;
      CREATE INDEX push_subscriptions_by_session ON push_subscriptions(session_id);
      CREATE TRIGGER push_subscriptions_revoked AFTER UPDATE OF revoked_at ON sessions
        WHEN new.revoked_at IS NOT NULL
      BEGIN
        DELETE FROM push_subscriptions WHERE session_id = new.id;
      END;

      -- The members a message mentions: on the message for its readers, and one row each for
      -- counting a member's unread mentions per conversation.
      ALTER TABLE messages ADD COLUMN mentions_json TEXT;
      CREATE TABLE mentions (
        conversation_id TEXT NOT NULL,
        user_id         TEXT NOT NULL,
        seq             INTEGER NOT NULL,
        PRIMARY KEY (conversation_id, user_id, seq)
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    version: 7,
    name: 'files (uploads and message attachments)',
    sql: `
      -- Uploaded files; the bytes are the blob named by sha256 (several rows may share one).
      -- conversation_id/seq: the message it is attached to (set once), null before.
      CREATE TABLE files (
        id              TEXT PRIMARY KEY,
        uploader_id     TEXT NOT NULL REFERENCES users(id),
        name            TEXT NOT NULL,
        size            INTEGER NOT NULL CHECK (size >= 0),
        mime            TEXT NOT NULL,
        width           INTEGER,
        height          INTEGER,
        sha256          TEXT NOT NULL,
        thumb_sha256    TEXT,
        thumbhash       TEXT,
        created_at      INTEGER NOT NULL,
        conversation_id TEXT REFERENCES conversations(id) ON DELETE CASCADE,
        seq             INTEGER
      ) STRICT;
      CREATE INDEX files_by_uploader ON files(uploader_id);
      CREATE INDEX files_by_message ON files(conversation_id, seq);
      CREATE INDEX files_by_blob ON files(sha256);
      CREATE INDEX files_by_thumb ON files(thumb_sha256);
      CREATE INDEX files_unattached ON files(created_at) WHERE conversation_id IS NULL;
    `,
  },
  {
    version: 8,
    name: 'message attachments (metadata on the message row), blob deletions',
    sql: `
      -- The files of a message as sent (JSON), written with the message: reads need no join.
      ALTER TABLE messages ADD COLUMN attachments_json TEXT;
      -- Blobs being deleted (no file row named them when the deletion started): an upload of
      -- the same bytes meanwhile is refused, so no new row can name a blob about to vanish.
      CREATE TABLE blob_deletions (
        key        TEXT PRIMARY KEY,
        started_at INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    version: 9,
    name: 'the idempotency index led by the client id',
    rebuildsTables: true,
    sql: `
      -- UNIQUE (sender_id, client_msg_id) put each append in its sender's part of the index: a
      -- batch touched one leaf page per sender, ~1.7 of an append's ~4 pages written (WAL and
      -- checkpoint). Led by the client id, the sdk's time-ordered ids (UUIDv7) land at the
      -- index's right edge, where a whole batch shares a page; random ids cost what they did.
      -- The same rule (one message per sender and client id). A table constraint's index cannot
      -- be dropped, so the table is rebuilt, rowids kept (messages_fts is keyed by them).
      CREATE TABLE messages_rebuilt (
        id               TEXT NOT NULL UNIQUE,
        conversation_id  TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        seq              INTEGER NOT NULL CHECK (seq > 0),
        sender_id        TEXT REFERENCES users(id),
        client_msg_id    TEXT,
        body             TEXT NOT NULL,
        created_at       INTEGER NOT NULL,
        edited_at        INTEGER,
        deleted_at       INTEGER,
        reply_to_seq     INTEGER,
        system_json      TEXT,
        mentions_json    TEXT,
        attachments_json TEXT,
        -- The history index: paging by seq within a conversation.
        UNIQUE (conversation_id, seq),
        -- Idempotent sends; system messages (NULL sender) never clash.
        UNIQUE (client_msg_id, sender_id)
      ) STRICT;
      INSERT INTO messages_rebuilt (rowid, id, conversation_id, seq, sender_id, client_msg_id,
          body, created_at, edited_at, deleted_at, reply_to_seq, system_json, mentions_json,
          attachments_json)
        SELECT rowid, id, conversation_id, seq, sender_id, client_msg_id, body, created_at,
          edited_at, deleted_at, reply_to_seq, system_json, mentions_json, attachments_json
        FROM messages ORDER BY rowid;
      DROP TABLE messages;
      ALTER TABLE messages_rebuilt RENAME TO messages;
      CREATE INDEX messages_by_sender ON messages(sender_id, conversation_id, seq);
      CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.rowid, old.body);
      END;
      CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.rowid, old.body);
        INSERT INTO messages_fts(rowid, body) VALUES (new.rowid, new.body);
      END;
    `,
  },
  {
    version: 10,
    name: 'the export index filled after the commit, with the search index',
    sql: `
      -- messages_by_sender (sender, conversation, seq) put each append in its sender's part of
      -- the index: one more leaf page per append (~1.4 of ~3.6 pages written at batches of 14),
      -- the largest scattered write left. Its rows now live in a table of their own, filled
      -- with the search index (SqliteStore.indexPending): after the commit, hundreds of rows at
      -- once and in key order, and before any read that needs them (receipts, the export).
      -- So both are complete up to the same rowid: the highest in messages_fts_docsize. The
      -- rows above it are the ones the next catch-up adds, so only those below are copied now.
      CREATE TABLE sent_messages (
        sender_id       TEXT NOT NULL,
        conversation_id TEXT NOT NULL,
        seq             INTEGER NOT NULL,
        created_at      INTEGER NOT NULL,
        PRIMARY KEY (sender_id, conversation_id, seq)
      ) STRICT, WITHOUT ROWID;
      INSERT INTO sent_messages (sender_id, conversation_id, seq, created_at)
        SELECT sender_id, conversation_id, seq, created_at FROM messages
        WHERE sender_id IS NOT NULL
          AND rowid <= (SELECT coalesce(max(id), 0) FROM messages_fts_docsize)
        ORDER BY sender_id, conversation_id, seq;
      DROP INDEX messages_by_sender;
      -- Messages are never deleted today (a deletion for everyone keeps the row); should a row
      -- go, its entry goes with it. A row goes only after a catch-up (as for the search index).
      CREATE TRIGGER sent_messages_delete AFTER DELETE ON messages
        WHEN old.sender_id IS NOT NULL BEGIN
        DELETE FROM sent_messages
          WHERE sender_id = old.sender_id AND conversation_id = old.conversation_id
            AND seq = old.seq;
      END;
    `,
  },
  {
    version: 11,
    name: 'the export index caught up on its own, less often than the search index',
    sql: `
      -- Filling the export index costs a catch-up more per row than the search index does: its
      -- rows go to each sender's part of the key, so the fewer rows per catch-up, the more
      -- leaves written per row. It now catches up every few thousand rows (and, as before,
      -- before every read that needs it), the search index every few hundred, so each needs
      -- its own mark: the export's is this one row, the highest message rowid it holds (it
      -- holds every row with a sender up to it and none above). The search index's is still
      -- the highest rowid in messages_fts_docsize. Until now both were that one.
      CREATE TABLE sent_messages_mark (
        id   INTEGER PRIMARY KEY CHECK (id = 1),
        upto INTEGER NOT NULL
      ) STRICT;
      INSERT INTO sent_messages_mark (id, upto)
        SELECT 1, coalesce(max(id), 0) FROM messages_fts_docsize;
      -- A new row takes rowid max + 1: were the last rows deleted, their rowids would come back
      -- below the mark and never be indexed. So the mark never stays above the table's end.
      CREATE TRIGGER sent_messages_mark_delete AFTER DELETE ON messages BEGIN
        UPDATE sent_messages_mark SET upto = (SELECT coalesce(max(rowid), 0) FROM messages)
          WHERE upto > (SELECT coalesce(max(rowid), 0) FROM messages);
      END;
    `,
  },
];

export const latestVersion = migrations.reduce((max, m) => Math.max(max, m.version), 0);

/**
 * Applies every step above the database's version up to `target` (the latest by default; the
 * upgrade fixtures stop earlier), all in one transaction. Returns the version. `steps`: the
 * schema's own, or a test's.
 */
export function migrate(
  db: Db,
  target: number = latestVersion,
  steps: readonly Migration[] = migrations,
): number {
  const newest = steps.reduce((max, m) => Math.max(max, m.version), 0);
  const pending = (current: number) =>
    [...steps]
      .sort((a, b) => a.version - b.version)
      .filter((step) => step.version > current && step.version <= target);
  const before = db.pragma('user_version', { simple: true }) as number;
  // Outside any transaction, or SQLite ignores it; read again under the write lock below.
  const keysOff =
    pending(before).some((step) => step.rebuildsTables) &&
    (db.pragma('foreign_keys', { simple: true }) as number) === 1;
  if (keysOff) db.pragma('foreign_keys = OFF');
  // Rows whose foreign keys point nowhere. A rebuild must add none; rows an old bug left behind
  // must not keep the server from starting.
  const dangling = () => (db.pragma('foreign_key_check') as unknown[]).length;
  try {
    return db
      .transaction((): number => {
        const current = db.pragma('user_version', { simple: true }) as number;
        if (current > newest) throw new Error(newerSchemaMessage(current, newest));
        const danglingBefore = keysOff ? dangling() : 0;
        for (const step of pending(current)) {
          if (!Number.isInteger(step.version)) throw new Error(`bad migration ${step.version}`);
          db.exec(step.sql);
          // PRAGMA takes no bound parameters; the version is a checked integer from this file.
          db.pragma(`user_version = ${step.version}`);
        }
        if (keysOff && dangling() > danglingBefore) {
          throw new Error('A schema step left rows whose foreign keys point nowhere.');
        }
        return Math.max(current, Math.min(target, newest));
      })
      .immediate();
  } finally {
    if (keysOff) db.pragma('foreign_keys = ON');
  }
}
