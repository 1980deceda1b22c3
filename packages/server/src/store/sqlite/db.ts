/**
 * The SQLite schema as kysely types, and the one way queries reach better-sqlite3: built with
 * kysely, compiled once, executed synchronously as cached prepared statements. Synchronous
 * execution is what lets the worker run a whole batch of requests inside one transaction.
 */
import type BetterSqlite3 from 'better-sqlite3';
import {
  DummyDriver,
  Kysely,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type Compilable,
} from 'kysely';
import type { SharedTables } from '../shared/tables.js';

export type Db = BetterSqlite3.Database;

// The tables both SQL stores share (shared/tables.ts); FTS5's virtual table is SQLite's own.
export type {
  BlocksTable,
  ContactsTable,
  ConversationsTable,
  MembersTable,
  MessagesTable,
  PositionLogTable,
  ReactionsTable,
  RefreshTokensTable,
  SessionsTable,
  UsersTable,
} from '../shared/tables.js';

/**
 * The FTS5 index (external content over messages). `messages_fts` is its hidden column, the
 * left side of MATCH; `rowid` equals messages.rowid.
 */
export interface MessagesFtsTable {
  rowid: number;
  body: string;
  messages_fts: string;
}

/**
 * The export index: one row per message with a sender, filled after the commit, in catch-ups of
 * its own (SqliteStore.indexExport), for receipts and the export.
 */
export interface SentMessagesTable {
  sender_id: string;
  conversation_id: string;
  seq: number;
  created_at: number;
}

/** The export index's mark: one row, the highest message rowid it holds (migration 11). */
export interface SentMessagesMarkTable {
  id: number;
  upto: number;
}

export interface DB extends SharedTables {
  messages_fts: MessagesFtsTable;
  sent_messages: SentMessagesTable;
  sent_messages_mark: SentMessagesMarkTable;
}

/** A query builder that never connects: it only compiles SQL for better-sqlite3 to run. */
export const qb = new Kysely<DB>({
  dialect: {
    createAdapter: () => new SqliteAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new SqliteIntrospector(db),
    createQueryCompiler: () => new SqliteQueryCompiler(),
  },
});

/**
 * Named parameters are compiled as marker strings, then mapped back to positions. The markers
 * start with NUL, which no real constant in our queries contains.
 */
const MARKER = '\u0000letter-param:';

type Binding = { name: string } | { value: unknown };

export interface Prepared<P, O> {
  all(params: P): O[];
  get(params: P): O | undefined;
  run(params: P): BetterSqlite3.RunResult;
  readonly sql: string;
}

/**
 * Compiles `build` once with placeholder parameters. The query's shape must not depend on the
 * parameter values (no arrays of varying length); pass a JSON array and read it with `json_each`.
 */
export function prepare<P extends object, O>(
  db: Db,
  build: (params: P) => Compilable<O>,
): Prepared<P, O> {
  const placeholders = new Proxy({}, { get: (_target, key) => `${MARKER}${String(key)}` }) as P;
  const compiled = build(placeholders).compile();
  const bindings: Binding[] = compiled.parameters.map((value) =>
    typeof value === 'string' && value.startsWith(MARKER)
      ? { name: value.slice(MARKER.length) }
      : { value },
  );
  let statement: BetterSqlite3.Statement | undefined;
  // Prepared lazily: statements cannot be prepared before the migrations created their tables.
  const stmt = (): BetterSqlite3.Statement => (statement ??= db.prepare(compiled.sql));
  const bind = (params: P): unknown[] =>
    bindings.map((b) =>
      'name' in b ? toSqlite((params as Record<string, unknown>)[b.name]) : toSqlite(b.value),
    );
  return {
    sql: compiled.sql,
    all: (params) => stmt().all(...bind(params)) as O[],
    get: (params) => stmt().get(...bind(params)) as O | undefined,
    run: (params) => stmt().run(...bind(params)),
  };
}

function toSqlite(value: unknown): unknown {
  // better-sqlite3 rejects undefined and booleans; SQLite has neither.
  if (value === undefined) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  return value;
}
