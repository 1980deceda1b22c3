/**
 * Upgrades: a database of every past schema version (SQLite: the committed fixtures in
 * test/fixtures, made by `npm run fixtures`; PostgreSQL: built per run in a fresh schema with the
 * migrations up to that version) migrates to the current version with every row intact and then
 * passes the whole store suite. A database newer than the code is refused, untouched.
 * The SQLite worker runs compiled code: run `npx tsc -b` first.
 */
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { adminQuery, dropSchema, freshSchemaName } from '../src/store/postgres/testing.js';
import { openPostgresStore } from '../src/store/postgres/open.js';
import { pgLatestVersion, pgMigrations } from '../src/store/postgres/migrations.js';
import { latestVersion } from '../src/store/sqlite/migrations.js';
import type { Store } from '../src/store/store.js';
import { describeStore } from '../src/store/suite/suite.js';
import { openSqliteStore } from '../src/store/sqlite/worker-store.js';
import { postgresTestUrl } from '../src/testing/services.js';
import {
  FIXTURE,
  buildPostgresAt,
  sqliteFixtureFile,
  sqliteVersions,
} from '../src/testing/upgrade-fixtures.js';
import { cleanUp, scratchDir, startChild } from './child.js';

afterAll(cleanUp);

const pastSqlite = sqliteVersions().filter((v) => v < latestVersion);
const pastPostgres = pgMigrations.map((m) => m.version).filter((v) => v < pgLatestVersion);

/** A copy of the fixture of `version` in a scratch dir, as a data dir's letter.db. */
function copyFixture(version: number): string {
  const file = join(scratchDir('letter-upgrade-'), 'letter.db');
  copyFileSync(sqliteFixtureFile(version), file);
  return file;
}

function read<T>(file: string, query: (db: Database.Database) => T): T {
  const db = new Database(file, { readonly: true });
  try {
    return query(db);
  } finally {
    db.close();
  }
}

/** Everything the fixture holds, read through the current store. */
async function expectFixtureRows(store: Store): Promise<void> {
  const { alice, bob, carol } = FIXTURE;
  expect(await store.getUserByUsername(alice.username)).toMatchObject({
    id: alice.id,
    displayName: alice.displayName,
    deletedAt: null,
  });
  const direct = await store.history(FIXTURE.direct, alice.id, { limit: 10 });
  expect(direct?.messages.map((m) => m.body)).toEqual(FIXTURE.directBodies);
  expect(direct?.messages[0]?.reactions).toEqual({ '👍': [bob.id] });
  expect(direct?.messages[1]?.replyToSeq).toBe(1);
  expect(direct?.messages[2]?.deletedAt).not.toBeNull();
  const group = await store.history(FIXTURE.group, carol.id, { limit: 10 });
  expect(group?.messages.map((m) => m.body)).toEqual(FIXTURE.groupBodies);
  expect(group?.messages[1]?.editedAt).not.toBeNull();
  expect(await store.getConversation(FIXTURE.group, carol.id)).toMatchObject({
    title: FIXTURE.groupTitle,
    readSeq: 1,
    unreadCount: 1,
  });
  expect((await store.listContacts(alice.id)).map((c) => c.user.id)).toEqual([bob.id]);
  expect(await store.isBlockedEitherWay(bob.id, carol.id)).toBe(true);
  // Old messages are searchable after the upgrade.
  const found = await store.search(alice.id, { text: FIXTURE.searchWord, limit: 10 });
  expect(found?.map((r) => [r.conversationId, r.message.seq])).toEqual([[FIXTURE.direct, 1]]);
  // The export and receipts find old messages (SQLite reads both through its export index).
  const exported = await store.sentMessages(alice.id, { limit: 10 });
  expect(exported.map((m) => [m.conversationId, m.seq])).toEqual([
    [FIXTURE.direct, 1],
    [FIXTURE.group, 1],
  ]);
  const receipts = await store.receipts(FIXTURE.group, 1, alice.id);
  // Carol's reply (seq 2, at + 2) read it before her read entry (at + 6) did.
  expect(receipts?.find((r) => r.userId === carol.id)?.readAt).toBe(
    new Date(FIXTURE.at + 2).toISOString(),
  );
  // The session survives: its refresh token still rotates.
  expect((await store.getSession(FIXTURE.session))?.revokedAt).toBeNull();
  const rotated = await store.rotateRefreshToken(
    FIXTURE.refreshHash,
    `${FIXTURE.refreshHash}_next_${Date.now()}`,
    FIXTURE.at + 100,
    FIXTURE.at + 200,
  );
  expect(rotated.kind).toBe('rotated');
}

describe('SQLite upgrade fixtures', () => {
  it('has a fixture for every past schema version (else: npm run fixtures)', () => {
    expect(pastSqlite.length).toBeGreaterThan(0);
    for (const version of pastSqlite) expect(existsSync(sqliteFixtureFile(version))).toBe(true);
  });

  for (const version of pastSqlite) {
    it(`migrates version ${version} to ${latestVersion} with every row intact`, async () => {
      const file = copyFixture(version);
      expect(read(file, (db) => db.pragma('user_version', { simple: true }))).toBe(version);
      const store = await openSqliteStore({ file });
      try {
        await expectFixtureRows(store);
      } finally {
        await store.close();
      }
      const db = new Database(file);
      try {
        expect(db.pragma('user_version', { simple: true })).toBe(latestVersion);
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
        // FTS5's own check: the index equals its content table, row by row (throws otherwise).
        db.prepare(
          `INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)`,
        ).run();
      } finally {
        db.close();
      }
    });

    describeStore(`sqlite upgraded from version ${version}`, async () => {
      const store = await openSqliteStore({ file: copyFixture(version) });
      return { store, cleanup: () => store.close() };
    });
  }

  it('refuses a database newer than the code, and leaves it as it was', async () => {
    const file = copyFixture(pastSqlite.at(-1)!);
    const db = new Database(file);
    db.pragma(`user_version = ${latestVersion + 1}`);
    db.close();
    await expect(openSqliteStore({ file })).rejects.toThrow(
      `database schema version ${latestVersion + 1} is newer than this code (${latestVersion})`,
    );
    expect(read(file, (d) => d.pragma('user_version', { simple: true }))).toBe(latestVersion + 1);
    // The server itself stops with the same words rather than serving.
    await expect(startChild(join(file, '..'))).rejects.toThrow(/newer Letter/);
  });
});

const url = postgresTestUrl();
if (!url) {
  describe('PostgreSQL upgrades', () => {
    it.skip('needs LETTER_TEST_PG_URL (postgres://…): not set, so nothing ran', () => {});
  });
} else {
  describe('PostgreSQL upgrades', () => {
    const schemas: string[] = [];
    afterAll(async () => {
      for (const schema of schemas) await dropSchema(url, schema);
    });
    const fresh = (): string => {
      const schema = freshSchemaName();
      schemas.push(schema);
      return schema;
    };
    const version = (schema: string) =>
      adminQuery<{ v: number }>(url, `SELECT max(version) AS v FROM "${schema}".schema_migrations`);

    it('has past versions to test, or says it has none', () => {
      expect(pastPostgres).toEqual(pgMigrations.map((m) => m.version).slice(0, -1));
    });

    for (const past of pastPostgres) {
      it(`migrates version ${past} to ${pgLatestVersion} with every row intact`, async () => {
        const schema = fresh();
        await buildPostgresAt(url, schema, past);
        expect((await version(schema))[0]?.v).toBe(past);
        const store = await openPostgresStore({ url, schema, maxConnections: 2 });
        try {
          await expectFixtureRows(store);
        } finally {
          await store.close();
        }
        expect((await version(schema))[0]?.v).toBe(pgLatestVersion);
      });

      describeStore(`postgres upgraded from version ${past}`, async () => {
        const schema = fresh();
        await buildPostgresAt(url, schema, past);
        const store = await openPostgresStore({ url, schema, maxConnections: 8 });
        return { store, cleanup: () => store.close() };
      });
    }

    it('refuses a schema newer than the code', async () => {
      const schema = fresh();
      await buildPostgresAt(url, schema, pgLatestVersion);
      await adminQuery(
        url,
        `INSERT INTO "${schema}".schema_migrations (version, name) VALUES ($1, 'from the future')`,
        [pgLatestVersion + 1],
      );
      await expect(openPostgresStore({ url, schema, maxConnections: 1 })).rejects.toThrow(
        `database schema version ${pgLatestVersion + 1} is newer than this code (${pgLatestVersion})`,
      );
    });
  });
}
