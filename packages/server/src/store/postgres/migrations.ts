/**
 * Versioned schema steps for PostgreSQL, the same logical schema as sqlite-migrations.ts (its
 * first PostgreSQL version is SQLite's version 2). Applied versions are rows of
 * `schema_migrations`. Every step runs in its own transaction holding an advisory lock, so
 * nodes that start at once take turns: the second finds the step applied and skips it. Steps are
 * append-only: never edit a released step, add the next one.
 */
import { sql } from 'kysely';
import type { Db } from './db.js';
import { newerSchemaMessage } from '../shared/schema-version.js';

export interface PgMigration {
  version: number;
  name: string;
  sql: string;
}

export const pgMigrations: readonly PgMigration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
      -- Ids and usernames compare bytewise (COLLATE "C"), as in SQLite: the same orders
      -- everywhere (members by user id, contacts by username) and cheaper comparisons.
      CREATE TABLE users (
        id            text COLLATE "C" PRIMARY KEY,
        username      text COLLATE "C" NOT NULL,
        display_name  text NOT NULL,
        password_hash text NOT NULL,
        created_at    bigint NOT NULL,
        last_seen_at  bigint,
        deleted_at    bigint
      );
      -- Case-insensitive uniqueness by constraint, whatever case a caller passes. Deleted
      -- accounts carry a tombstone name and stand outside the rule. The same index serves the
      -- lookup by name and the prefix search (a range scan, C collation).
      CREATE UNIQUE INDEX users_username_key ON users (lower(username)) WHERE deleted_at IS NULL;

      CREATE TABLE sessions (
        id         text COLLATE "C" PRIMARY KEY,
        user_id    text COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at bigint NOT NULL,
        revoked_at bigint
      );
      CREATE INDEX sessions_by_user ON sessions (user_id);

      CREATE TABLE refresh_tokens (
        token_hash text COLLATE "C" PRIMARY KEY,
        session_id text COLLATE "C" NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        expires_at bigint NOT NULL,
        spent_at   bigint
      );
      CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id);

      CREATE TABLE contacts (
        owner_id   text COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        contact_id text COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at bigint NOT NULL,
        PRIMARY KEY (owner_id, contact_id)
      );
      -- presenceAudience asks "who has this user as a contact".
      CREATE INDEX contacts_by_contact ON contacts (contact_id, owner_id);

      CREATE TABLE blocks (
        blocker_id text COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        blocked_id text COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at bigint NOT NULL,
        PRIMARY KEY (blocker_id, blocked_id)
      );
      CREATE INDEX blocks_by_blocked ON blocks (blocked_id, blocker_id);

      CREATE TABLE conversations (
        id               text COLLATE "C" PRIMARY KEY,
        kind             text NOT NULL CHECK (kind IN ('direct', 'group')),
        title            text,
        -- The sorted pair of a direct conversation: one per pair by constraint (openDirect's
        -- ON CONFLICT target). NULL for groups; NULLs never clash.
        direct_key       text COLLATE "C" UNIQUE,
        -- Taken by UPDATE … RETURNING in the transaction that inserts the message: the row lock
        -- serialises appenders of one conversation and seqs have no gaps.
        last_seq         integer NOT NULL DEFAULT 0,
        created_at       bigint NOT NULL,
        last_activity_at bigint NOT NULL,
        -- Bumped by every membership change (see ChatService.send).
        members_version  integer NOT NULL DEFAULT 0,
        CHECK ((kind = 'direct') = (direct_key IS NOT NULL))
      );

      CREATE TABLE members (
        conversation_id text COLLATE "C" NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        user_id         text COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        role            text NOT NULL CHECK (role IN ('admin', 'member')),
        joined_at       bigint NOT NULL,
        read_seq        integer NOT NULL DEFAULT 0,
        delivered_seq   integer NOT NULL DEFAULT 0,
        -- The first seq the member may see (0 for founders, the "added" message for later ones).
        join_seq        integer NOT NULL DEFAULT 0,
        muted           smallint NOT NULL DEFAULT 0 CHECK (muted IN (0, 1)),
        archived        smallint NOT NULL DEFAULT 0 CHECK (archived IN (0, 1)),
        PRIMARY KEY (conversation_id, user_id),
        CHECK (delivered_seq >= read_seq)
      );
      CREATE INDEX members_by_user ON members (user_id, conversation_id);
      -- Every send un-archives the conversation for the others: a probe, not a scan of the group.
      CREATE INDEX members_archived ON members (conversation_id, user_id) WHERE archived = 1;

      CREATE TABLE messages (
        conversation_id text COLLATE "C" NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        seq             integer NOT NULL CHECK (seq > 0),
        id              text COLLATE "C" NOT NULL UNIQUE,
        sender_id       text COLLATE "C" REFERENCES users(id),
        client_msg_id   text COLLATE "C",
        body            text NOT NULL,
        created_at      bigint NOT NULL,
        edited_at       bigint,
        deleted_at      bigint,
        reply_to_seq    integer,
        system_json     text,
        -- Folded words with positions, computed by the store (postgres-search.ts) so matching
        -- ignores case and diacritics without the unaccent extension.
        search_vector   tsvector NOT NULL DEFAULT '',
        -- The history index: paging by seq within a conversation.
        PRIMARY KEY (conversation_id, seq),
        -- Idempotent sends (appendMessage's ON CONFLICT target); system messages (NULL sender)
        -- never clash.
        CONSTRAINT messages_client_msg_key UNIQUE (sender_id, client_msg_id)
      );
      CREATE INDEX messages_search ON messages USING gin (search_vector);

      CREATE TABLE reactions (
        conversation_id text COLLATE "C" NOT NULL,
        seq             integer NOT NULL,
        user_id         text COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        emoji           text NOT NULL,
        created_at      bigint NOT NULL,
        PRIMARY KEY (conversation_id, seq, user_id),
        FOREIGN KEY (conversation_id, seq) REFERENCES messages(conversation_id, seq)
          ON DELETE CASCADE
      );

      -- Every forward move of a member's delivered/read position, so receipts can tell when a
      -- position first reached a seq.
      CREATE TABLE position_log (
        conversation_id text COLLATE "C" NOT NULL,
        user_id         text COLLATE "C" NOT NULL,
        kind            text NOT NULL CHECK (kind IN ('delivered', 'read')),
        seq             integer NOT NULL,
        at              bigint NOT NULL,
        PRIMARY KEY (conversation_id, user_id, kind, seq),
        FOREIGN KEY (conversation_id, user_id) REFERENCES members(conversation_id, user_id)
          ON DELETE CASCADE
      );
    `,
  },
  {
    version: 2,
    name: 'messages by sender, for the export in pages',
    sql: `
      -- The export reads a user's messages page by page in (conversation, seq) order; without
      -- this index every page would read and sort all of them (quadratic in their number).
      CREATE INDEX messages_by_sender ON messages (sender_id, conversation_id, seq);
    `,
  },
  {
    version: 3,
    name: 'web push subscriptions, tied to a session; mentions',
    sql: `
      -- One row per browser endpoint (a re-subscription moves it to the new session). A session
      -- revoked for any reason (logout, revocation, password change, account deletion, a
      -- refresh token reused) takes its subscriptions with it: the trigger is that one rule.
      CREATE TABLE push_subscriptions (
        endpoint   text COLLATE "C" PRIMARY KEY,
        session_id text COLLATE "C" NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        user_id    text COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        p256dh     text NOT NULL,
        auth       text NOT NULL,
        created_at bigint NOT NULL
      );
      CREATE INDEX push_subscriptions_by_user ON push_subscriptions (user_id);
      -- Per user: whether pushes carry the message text (no row: yes).
      CREATE TABLE push_settings (
        user_id text COLLATE "C" PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
        preview smallint NOT NULL CHECK (preview IN (0, 1))
      );
      CREATE INDEX push_subscriptions_by_session ON push_subscriptions (session_id);
      CREATE FUNCTION push_subscriptions_revoked() RETURNS trigger LANGUAGE plpgsql
        SET search_path FROM CURRENT AS $fn$
      BEGIN
        DELETE FROM push_subscriptions WHERE session_id = NEW.id;
        RETURN NULL;
      END
      $fn$;
      CREATE TRIGGER push_subscriptions_revoked AFTER UPDATE OF revoked_at ON sessions
        FOR EACH ROW WHEN (NEW.revoked_at IS NOT NULL) EXECUTE FUNCTION push_subscriptions_revoked();

      -- The members a message mentions: on the message for its readers, and one row each for
      -- counting a member's unread mentions per conversation.
      ALTER TABLE messages ADD COLUMN mentions_json text;
      CREATE TABLE mentions (
        conversation_id text COLLATE "C" NOT NULL,
        user_id         text COLLATE "C" NOT NULL,
        seq             bigint NOT NULL,
        PRIMARY KEY (conversation_id, user_id, seq)
      );
    `,
  },
  {
    version: 4,
    name: 'files (uploads and message attachments)',
    sql: `
      -- Uploaded files; the bytes are the blob named by sha256 (several rows may share one).
      -- conversation_id/seq: the message it is attached to (set once), null before.
      CREATE TABLE files (
        id              text COLLATE "C" PRIMARY KEY,
        uploader_id     text COLLATE "C" NOT NULL REFERENCES users(id),
        name            text NOT NULL,
        size            bigint NOT NULL CHECK (size >= 0),
        mime            text NOT NULL,
        width           integer,
        height          integer,
        sha256          text COLLATE "C" NOT NULL,
        thumb_sha256    text COLLATE "C",
        thumbhash       text,
        created_at      bigint NOT NULL,
        conversation_id text COLLATE "C" REFERENCES conversations(id) ON DELETE CASCADE,
        seq             integer
      );
      CREATE INDEX files_by_uploader ON files (uploader_id);
      CREATE INDEX files_by_message ON files (conversation_id, seq);
      CREATE INDEX files_by_blob ON files (sha256);
      CREATE INDEX files_by_thumb ON files (thumb_sha256);
      CREATE INDEX files_unattached ON files (created_at) WHERE conversation_id IS NULL;
    `,
  },
  {
    version: 5,
    name: 'message attachments (metadata on the message row), blob deletions',
    sql: `
      -- The files of a message as sent (JSON), written with the message: reads need no join.
      ALTER TABLE messages ADD COLUMN attachments_json text;
      -- Blobs being deleted (no file row named them when the deletion started): an upload of
      -- the same bytes meanwhile is refused, so no new row can name a blob about to vanish.
      CREATE TABLE blob_deletions (
        key        text COLLATE "C" PRIMARY KEY,
        started_at bigint NOT NULL
      );
    `,
  },
  {
    version: 6,
    name: 'no foreign-key checks on the rows every append writes',
    sql: `
      -- A foreign key checks every inserted row with a query of its own (a trigger per row:
      -- about half of an append batch's write in PostgreSQL, docs/performance.md, round three).
      -- These three were never the guard: every writer of a message or position-log row holds
      -- the conversation's row lock and has read the member row (which has its own keys)
      -- under it, and no user or conversation row is ever deleted by the store (accounts are
      -- tombstoned). The two cascades that matter are kept as triggers on the rare deletes.
      ALTER TABLE messages DROP CONSTRAINT messages_conversation_id_fkey;
      ALTER TABLE messages DROP CONSTRAINT messages_sender_id_fkey;
      ALTER TABLE position_log DROP CONSTRAINT position_log_conversation_id_user_id_fkey;

      -- A member removed (or left) takes their position log along, as the cascade did.
      CREATE FUNCTION members_deleted() RETURNS trigger LANGUAGE plpgsql
        SET search_path FROM CURRENT AS $fn$
      BEGIN
        DELETE FROM position_log
          WHERE conversation_id = OLD.conversation_id AND user_id = OLD.user_id;
        RETURN NULL;
      END
      $fn$;
      CREATE TRIGGER members_deleted AFTER DELETE ON members
        FOR EACH ROW EXECUTE FUNCTION members_deleted();

      -- A conversation deleted by hand still takes its messages along (reactions follow them by
      -- their own cascade).
      CREATE FUNCTION conversations_deleted() RETURNS trigger LANGUAGE plpgsql
        SET search_path FROM CURRENT AS $fn$
      BEGIN
        DELETE FROM messages WHERE conversation_id = OLD.id;
        RETURN NULL;
      END
      $fn$;
      CREATE TRIGGER conversations_deleted AFTER DELETE ON conversations
        FOR EACH ROW EXECUTE FUNCTION conversations_deleted();
    `,
  },
  {
    version: 7,
    name: 'the export index covers live messages only',
    sql: `
      -- The append batch's idempotency probe (sender_id, client_msg_id) could also be served by
      -- messages_by_sender (sender_id, …) filtering client_msg_id, and when the cached plan was
      -- made with the table's statistics missing (autovacuum off, never analyzed) the two tied
      -- and PostgreSQL took this one: every append read all of its sender's messages (the
      -- pg-max row slowed down as the table grew, docs/performance.md, round four). The export
      -- reads live messages only, so the index can say so: a query that does not ask for
      -- deleted_at IS NULL (the probe must see deleted messages too) cannot use it, and the
      -- unique index is the probe's only index whatever the statistics say.
      DROP INDEX messages_by_sender;
      CREATE INDEX messages_by_sender_live ON messages (sender_id, conversation_id, seq)
        WHERE deleted_at IS NULL;
    `,
  },
  {
    version: 8,
    name: 'the idempotency index led by the client id',
    sql: `
      -- As SQLite's step 9: led by the sender, each append went to its sender's part of the
      -- index, one leaf page per sender a batch (and a full-page image of it in the WAL after
      -- each checkpoint); led by the client id, the sdk's time-ordered ids land at the right
      -- edge together. Same rule, same name (append-batch.ts retries on it).
      ALTER TABLE messages DROP CONSTRAINT messages_client_msg_key,
        ADD CONSTRAINT messages_client_msg_key UNIQUE (client_msg_id, sender_id);
    `,
  },
];

export const pgLatestVersion = pgMigrations.reduce((max, m) => Math.max(max, m.version), 0);

/** Advisory-lock class for migrations ('LeTM'); the second key is the schema's hash. */
const MIGRATION_LOCK_CLASS = 0x4c65544d;

/**
 * Applies every missing step, one transaction per step, each under a transaction-scoped advisory
 * lock keyed by the schema, so concurrent starters serialise and each step runs exactly once.
 * Returns the version the schema is at. `target` stops earlier (the upgrade tests build past
 * versions with it).
 */
export async function migratePostgres(
  db: Db,
  schema: string | undefined,
  target: number = pgLatestVersion,
): Promise<number> {
  const ordered = [...pgMigrations]
    .sort((a, b) => a.version - b.version)
    .filter((m) => m.version <= target);
  for (;;) {
    const applied = await db.transaction().execute(async (tx) => {
      const key = schema ?? null;
      await sql`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_CLASS}::int,
        hashtext(coalesce(${key}::text, current_schema(), '')))`.execute(tx);
      // Inside the lock: concurrent CREATE … IF NOT EXISTS can still clash on the catalog.
      if (schema !== undefined)
        await sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(schema)}`.execute(tx);
      await sql`CREATE TABLE IF NOT EXISTS schema_migrations (
        version    integer PRIMARY KEY,
        name       text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`.execute(tx);
      const rows = await tx.selectFrom('schema_migrations').select('version').execute();
      const done = new Set(rows.map((row) => row.version));
      const newest = Math.max(0, ...done);
      if (newest > pgLatestVersion) throw new Error(newerSchemaMessage(newest, pgLatestVersion));
      const step = ordered.find((m) => !done.has(m.version));
      if (!step) return null;
      await sql.raw(step.sql).execute(tx);
      await tx
        .insertInto('schema_migrations')
        .values({ version: step.version, name: step.name })
        .execute();
      return step.version;
    });
    if (applied === null) return Math.min(target, pgLatestVersion);
  }
}
