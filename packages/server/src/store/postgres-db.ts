/**
 * The PostgreSQL connection side: the kysely DB type, the pool (one schema per store, bigint as
 * number), and the two ways a store method talks to the database — a read-committed write
 * transaction retried on deadlock or serialization failure, and a read-only snapshot for reads
 * that take more than one statement.
 */
import { LetterError } from '@letter/protocol';
import { Kysely, PostgresDialect, type ColumnType, type Transaction } from 'kysely';
import pg from 'pg';
import type { SharedTables, MessagesTable } from './tables.js';

export interface PgMessagesTable extends MessagesTable {
  /**
   * The message's words, folded and prefixed by position (postgres-search.ts); '' for system
   * messages and tombstones. Written as a tsvector literal, never read back as text.
   */
  search_vector: ColumnType<string, unknown, unknown>;
}

export interface SchemaMigrationsTable {
  version: number;
  name: string;
  applied_at: ColumnType<Date, never, never>;
}

export interface PgDB extends Omit<SharedTables, 'messages'> {
  messages: PgMessagesTable;
  schema_migrations: SchemaMigrationsTable;
}

/** Kysely over the pool or inside a transaction: every helper takes either. */
export type Db = Kysely<PgDB>;
export type Tx = Transaction<PgDB>;

export interface PostgresOptions {
  /** A `postgres://` connection URL. */
  url: string;
  /**
   * The schema to keep Letter's tables in (created when missing); the server default search path
   * (normally `public`) when unset. Tests give every store its own.
   */
  schema?: string | undefined;
  /** Most connections the pool opens (default 10). */
  maxConnections?: number | undefined;
}

/** A plain identifier: safe to splice into SQL and into the `options` startup parameter. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export function checkSchemaName(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) {
    throw new Error(`schema must match ${SCHEMA_NAME.source}, got ${JSON.stringify(schema)}`);
  }
  return schema;
}

const INT8_OID = 20;

/**
 * bigint (times in ms, count(*), sum()) comes back from pg as a string, because it may exceed
 * 2^53. Ours never do: epoch milliseconds stay below 2^53 for another 285,000 years.
 */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID && format !== 'binary') return (value: string) => Number(value);
    return format === undefined
      ? pg.types.getTypeParser(oid)
      : pg.types.getTypeParser(oid, format as 'text');
  },
};

export function createPool(
  options: PostgresOptions,
  settings: { synchronousCommit?: boolean } = {},
): pg.Pool {
  // Session settings are startup parameters of every connection, so no query can ever run
  // without them, not even the first one on a fresh connection.
  const startup: string[] = [];
  if (options.schema !== undefined) {
    startup.push(`-c search_path=${checkSchemaName(options.schema)}`);
  }
  if (settings.synchronousCommit) startup.push('-c synchronous_commit=on');
  const { url, urlOptions } = withoutOptions(options.url);
  const config: pg.PoolConfig = {
    connectionString: url,
    max: options.maxConnections ?? 10,
    types: types as pg.CustomTypesConfig,
  };
  // Ours come last, so they win over the same setting in the URL's own `options`.
  const combined = [urlOptions, ...startup].filter(Boolean).join(' ');
  if (combined) config.options = combined;
  const pool = new pg.Pool(config);
  // An idle connection that dies (server restart, network) must not crash the process: the
  // pool drops it and the next query opens a new one.
  pool.on('error', () => {});
  return pool;
}

/**
 * pg lets an `options` parameter in the URL replace the `options` of the config, which would
 * drop our settings; so it is taken out of the URL and merged instead.
 */
function withoutOptions(connectionString: string): { url: string; urlOptions: string } {
  try {
    const url = new URL(connectionString);
    const urlOptions = url.searchParams.get('options');
    if (urlOptions === null) return { url: connectionString, urlOptions: '' };
    url.searchParams.delete('options');
    return { url: url.toString(), urlOptions };
  } catch {
    // Not a URL pg-connection-string would read as one (e.g. a socket path): leave it alone.
    return { url: connectionString, urlOptions: '' };
  }
}

export function createDb(pool: pg.Pool): Db {
  return new Kysely<PgDB>({ dialect: new PostgresDialect({ pool }) });
}

/** Undoes the transaction, and the store call answers `value` (see `writeTx`). */
export class Abort<T> extends Error {
  constructor(readonly value: T) {
    super('transaction aborted on purpose');
  }
}

/** Deadlock detected, serialization failure: the whole transaction may simply run again. */
const RETRYABLE = new Set(['40P01', '40001']);
const MAX_ATTEMPTS = 5;

/**
 * Runs `work` in a READ COMMITTED transaction and resolves after COMMIT returned (with the
 * default synchronous_commit=on, after the WAL reached disk). Correctness comes from row locks
 * taken inside `work` (see ARCHITECTURE.md, "PostgreSQL"); lock order is users before
 * conversations before members and messages, so deadlocks should not happen, and if one does
 * PostgreSQL aborts one side, which is retried here. `work` may throw an `Abort` to roll back
 * and still answer normally (an idempotent repeat of a send).
 */
export async function writeTx<T>(db: Db, work: (tx: Tx) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().setIsolationLevel('read committed').execute(work);
    } catch (error) {
      if (error instanceof Abort) return error.value as T;
      if (attempt < MAX_ATTEMPTS && RETRYABLE.has(pgCode(error) ?? '')) {
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
        continue;
      }
      throw error;
    }
  }
}

/**
 * A read that takes several statements sees one snapshot (REPEATABLE READ, READ ONLY): a
 * conversation's lastSeq and its last message, a page and its reactions, agree with each other.
 * A read-only transaction never fails to serialize.
 */
export function readTx<T>(db: Db, work: (tx: Tx) => Promise<T>): Promise<T> {
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .setAccessMode('read only')
    .execute(work);
}

/** The SQLSTATE of a PostgreSQL error, if it is one. */
export function pgCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** The constraint a unique violation (23505) broke, else undefined. */
export function violatedConstraint(error: unknown): string | undefined {
  if (pgCode(error) !== '23505') return undefined;
  const constraint = (error as { constraint?: unknown }).constraint;
  return typeof constraint === 'string' ? constraint : undefined;
}

/**
 * Errors that are the caller's input, not a fault: PostgreSQL text cannot hold U+0000, which the
 * protocol's string schemas let through (SQLite stores it). Answered as `bad_request`.
 */
export function mapInputError(error: unknown): unknown {
  const code = pgCode(error);
  if (code === '22021' || code === '22P05') {
    return new LetterError('bad_request', 'Text must not contain the character U+0000.');
  }
  return error;
}
