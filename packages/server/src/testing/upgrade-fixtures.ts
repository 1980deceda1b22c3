/**
 * Upgrade fixtures: a database at every past schema version, made by the migration steps up to
 * that version (released steps never change, so today's code makes what that release made) and
 * filled with a little of everything through plain SQL on the columns of version 1 (later steps
 * only add columns with defaults). upgrade.test.ts migrates each to the current version, checks
 * the rows are all there and runs the store suite on it.
 *
 * SQLite fixtures are committed files (packages/server/test/fixtures/sqlite-v<N>.db); after a
 * new migration, `npm run fixtures` adds the file of the version that was current until then
 * (existing files are kept: they are what their release wrote). PostgreSQL ones are built by the
 * test in a fresh schema each run (`buildPostgresAt`).
 */
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { migrate, migrations } from '../store/sqlite/migrations.js';
import { createDb, createPool } from '../store/postgres/db.js';
import { migratePostgres } from '../store/postgres/migrations.js';
import { searchVector } from '../store/postgres/search.js';
import { directKeyOf } from '../store/shared/rules.js';

/** packages/server/test/fixtures, from src/testing (vitest) and dist/testing (the script) alike. */
export const fixturesDir = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));

export const sqliteFixtureFile = (version: number): string =>
  join(fixturesDir, `sqlite-v${version}.db`);

/** Every SQLite schema version there is, from the migration list (never a hard-coded count). */
export const sqliteVersions = (): number[] =>
  migrations.map((m) => m.version).sort((a, b) => a - b);

const T = 1_700_000_000_000;
const FAR = T + 10 * 365 * 24 * 3600 * 1000;

/** What every fixture holds, for the test to find again after the upgrade. */
export const FIXTURE = {
  alice: { id: 'u_fx_alice', username: 'fxalice', displayName: 'Alice Fixture' },
  bob: { id: 'u_fx_bob', username: 'fxbob', displayName: 'Bob Fixture' },
  carol: { id: 'u_fx_carol', username: 'fxcarol', displayName: 'Carol Fixture' },
  session: 's_fx_alice',
  refreshHash: 'fx_refresh_hash',
  direct: 'c_fx_direct',
  group: 'c_fx_group',
  groupTitle: 'Fixture group',
  /** The direct conversation's messages by seq (seq 3 deleted for everyone). */
  directBodies: ['hello zebrafish from the fixture', 'a reply from Bob', ''],
  groupBodies: ['welcome to the group', 'an edited group message'],
  searchWord: 'zebrafish',
  at: T,
} as const;

type Row = Record<string, string | number | null>;

function rows(): [table: string, rows: Row[]][] {
  const { alice, bob, carol, direct, group } = FIXTURE;
  const user = (u: { id: string; username: string; displayName: string }): Row => ({
    id: u.id,
    username: u.username,
    display_name: u.displayName,
    password_hash: 'fixture-hash',
    created_at: T,
    last_seen_at: T + 1000,
    deleted_at: null,
  });
  const member = (conversation: string, userId: string, role: string, read: number): Row => ({
    conversation_id: conversation,
    user_id: userId,
    role,
    joined_at: T,
    read_seq: read,
    delivered_seq: read,
  });
  const message = (
    conversation: string,
    seq: number,
    sender: string,
    body: string,
    extra: Row = {},
  ): Row => ({
    id: `m_fx_${conversation}_${seq}`,
    conversation_id: conversation,
    seq,
    sender_id: sender,
    client_msg_id: `cm_fx_${conversation}_${seq}`,
    body,
    created_at: T + seq,
    edited_at: null,
    deleted_at: null,
    reply_to_seq: null,
    system_json: null,
    ...extra,
  });
  const [d1, d2] = FIXTURE.directBodies;
  const [g1, g2] = FIXTURE.groupBodies;
  return [
    ['users', [user(alice), user(bob), user(carol)]],
    ['sessions', [{ id: FIXTURE.session, user_id: alice.id, created_at: T, revoked_at: null }]],
    [
      'refresh_tokens',
      [
        {
          token_hash: FIXTURE.refreshHash,
          session_id: FIXTURE.session,
          expires_at: FAR,
          spent_at: null,
        },
      ],
    ],
    [
      'contacts',
      [
        { owner_id: alice.id, contact_id: bob.id, created_at: T },
        { owner_id: bob.id, contact_id: alice.id, created_at: T },
      ],
    ],
    ['blocks', [{ blocker_id: carol.id, blocked_id: bob.id, created_at: T }]],
    [
      'conversations',
      [
        {
          id: direct,
          kind: 'direct',
          title: null,
          direct_key: directKeyOf(alice.id, bob.id),
          last_seq: 3,
          created_at: T,
          last_activity_at: T + 3,
        },
        {
          id: group,
          kind: 'group',
          title: FIXTURE.groupTitle,
          direct_key: null,
          last_seq: 2,
          created_at: T,
          last_activity_at: T + 2,
        },
      ],
    ],
    [
      'members',
      [
        member(direct, alice.id, 'member', 3),
        member(direct, bob.id, 'member', 1),
        member(group, alice.id, 'admin', 2),
        member(group, bob.id, 'member', 0),
        member(group, carol.id, 'member', 1),
      ],
    ],
    [
      'messages',
      [
        message(direct, 1, alice.id, d1!),
        message(direct, 2, bob.id, d2!, { reply_to_seq: 1 }),
        message(direct, 3, alice.id, '', { deleted_at: T + 10 }),
        message(group, 1, alice.id, g1!),
        message(group, 2, carol.id, g2!, { edited_at: T + 20 }),
      ],
    ],
    [
      'reactions',
      [{ conversation_id: direct, seq: 1, user_id: bob.id, emoji: '👍', created_at: T + 5 }],
    ],
    [
      'position_log',
      [
        { conversation_id: direct, user_id: bob.id, kind: 'delivered', seq: 1, at: T + 4 },
        { conversation_id: direct, user_id: bob.id, kind: 'read', seq: 1, at: T + 4 },
        { conversation_id: group, user_id: carol.id, kind: 'read', seq: 1, at: T + 6 },
      ],
    ],
  ];
}

/** Writes the fixture rows into a SQLite database at any schema version. */
export function seedSqlite(db: Database.Database): void {
  db.transaction(() => {
    for (const [table, list] of rows()) {
      for (const row of list) {
        const columns = Object.keys(row);
        // Table and column names come from rows() above, never from input.
        db.prepare(
          `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
        ).run(...Object.values(row));
      }
    }
    // Versions 3+ index new messages per batch in the store, not by trigger: do what it does.
    const has = (name: string) =>
      db.prepare(`SELECT 1 FROM sqlite_master WHERE name = ?`).get(name) !== undefined;
    if (has('messages_fts')) db.exec(`INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')`);
    // Versions 10+ fill the export index the same way (SqliteStore.indexExport), 11+ mark it.
    if (has('sent_messages')) {
      db.exec(`INSERT INTO sent_messages (sender_id, conversation_id, seq, created_at)
        SELECT sender_id, conversation_id, seq, created_at FROM messages
        WHERE sender_id IS NOT NULL`);
    }
    if (has('sent_messages_mark')) {
      db.exec(
        `UPDATE sent_messages_mark SET upto = (SELECT coalesce(max(rowid), 0) FROM messages)`,
      );
    }
  })();
}

/** Makes the SQLite fixture of `version` at `file` (replacing it). */
export function makeSqliteFixture(version: number, file: string): void {
  const partial = `${file}.partial`;
  rmSync(partial, { force: true });
  const db = new Database(partial);
  try {
    db.pragma('page_size = 1024');
    migrate(db, version);
    seedSqlite(db);
    db.exec('VACUUM');
  } finally {
    db.close();
  }
  renameSync(partial, file);
}

/**
 * Builds schema `schema` at PostgreSQL schema version `version` (migrations up to it) with the
 * fixture rows in it.
 */
export async function buildPostgresAt(url: string, schema: string, version: number): Promise<void> {
  const db = createDb(createPool({ url, schema, maxConnections: 1 }));
  try {
    await migratePostgres(db, schema, version);
    const pool = createPool({ url, schema, maxConnections: 1 });
    try {
      for (const [table, list] of rows()) {
        for (const row of list) {
          const values: Row =
            table === 'messages'
              ? {
                  ...row,
                  search_vector: row.deleted_at === null ? searchVector(String(row.body)) : '',
                }
              : row;
          const columns = Object.keys(values);
          const marks = columns.map((c, i) =>
            c === 'search_vector' ? `$${i + 1}::tsvector` : `$${i + 1}`,
          );
          await pool.query(
            `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${marks.join(', ')})`,
            Object.values(values),
          );
        }
      }
    } finally {
      await pool.end();
    }
  } finally {
    await db.destroy();
  }
}

/** `npm run fixtures`: adds the SQLite fixture of every version that has none (`--all` remakes all). */
function main(): void {
  const all = process.argv.includes('--all');
  mkdirSync(fixturesDir, { recursive: true });
  for (const version of sqliteVersions()) {
    const file = sqliteFixtureFile(version);
    if (existsSync(file) && !all) continue;
    makeSqliteFixture(version, file);
    console.log(`wrote ${file}`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
