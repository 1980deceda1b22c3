/**
 * The PostgreSQL connection side: the kysely DB type, the pool (one schema per store, bigint as
 * number), and the two ways a store method talks to the database — a read-committed write
 * transaction retried on deadlock or serialization failure, and a read-only snapshot for reads
 * that take more than one statement.
 */
import { LetterError } from '@letter/protocol';
import {
  Kysely,
  PostgresDialect,
  type ColumnType,
  type PostgresPool,
  type PostgresPoolClient,
  type Transaction,
} from 'kysely';
import pg from 'pg';
import type { SharedTables, MessagesTable } from '../shared/tables.js';
import { isUnavailableError } from '../../util/unavailable.js';

export interface PgMessagesTable extends MessagesTable {
  /**
   * The message's words, folded and prefixed by position (postgres/search.ts); '' for system
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
  /** How long a call waits for a connection, new or from the pool (default 5000 ms). */
  connectTimeoutMs?: number | undefined;
  /**
   * Longest a statement may run: PostgreSQL's `statement_timeout`, and a client-side read
   * timeout a second later for a path that went silent (default 15000 ms; 0 turns both off).
   */
  statementTimeoutMs?: number | undefined;
  /** An idle connection is closed after this long (default 30000 ms). */
  idleTimeoutMs?: number | undefined;
  /**
   * Told about every connection that fails outside a call (the database restarted, the network
   * dropped): the pool replaces the connection, the process carries on. Default: ignored.
   */
  onConnectionError?: ((error: Error) => void) | undefined;
}

export const POSTGRES_DEFAULTS = {
  connectTimeoutMs: 5000,
  statementTimeoutMs: 15_000,
  idleTimeoutMs: 30_000,
} as const;

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

export interface PoolSettings {
  /** Puts `synchronous_commit=on` into every session (the server's default was off). */
  synchronousCommit?: boolean | undefined;
  /**
   * Clients that send a query without waiting for the answer to the one before (pg's pipeline
   * mode): the append batches (postgres/append-batch.ts) send a transaction's statements at once.
   */
  pipeline?: boolean | undefined;
  /**
   * `plan_cache_mode=force_generic_plan`: a named statement is planned once per connection, not
   * at each run. For the batches' statements, whose plans do not depend on their parameters (id
   * arrays, each id an index probe); left to itself PostgreSQL re-planned the batch's read at
   * every run (docs/performance.md, round nine).
   */
  genericPlans?: boolean | undefined;
  /** Most connections, overriding `options.maxConnections`. */
  max?: number | undefined;
  /** Connections are closed (when next released) after this long and opened afresh. */
  maxLifetimeSeconds?: number | undefined;
}

export function createPool(options: PostgresOptions, settings: PoolSettings = {}): pg.Pool {
  // Session settings are startup parameters of every connection, so no query can ever run
  // without them, not even the first one on a fresh connection.
  const startup: string[] = [];
  if (options.schema !== undefined) {
    startup.push(`-c search_path=${checkSchemaName(options.schema)}`);
  }
  if (settings.synchronousCommit) startup.push('-c synchronous_commit=on');
  if (settings.genericPlans) startup.push('-c plan_cache_mode=force_generic_plan');
  const statementTimeoutMs = options.statementTimeoutMs ?? POSTGRES_DEFAULTS.statementTimeoutMs;
  if (statementTimeoutMs > 0) startup.push(`-c statement_timeout=${statementTimeoutMs}`);
  const { url, urlOptions } = withoutOptions(options.url);
  const config: pg.PoolConfig = {
    connectionString: url,
    max: settings.max ?? options.maxConnections ?? 10,
    types: types as pg.CustomTypesConfig,
    connectionTimeoutMillis: options.connectTimeoutMs ?? POSTGRES_DEFAULTS.connectTimeoutMs,
    idleTimeoutMillis: options.idleTimeoutMs ?? POSTGRES_DEFAULTS.idleTimeoutMs,
    // A path that dies without a reset (a black hole) is found by TCP keepalive, not never.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  };
  // PostgreSQL cancels a slow statement itself; this one fires when no answer can come at all.
  if (statementTimeoutMs > 0) config.query_timeout = statementTimeoutMs + 1000;
  // Ours come last, so they win over the same setting in the URL's own `options`.
  const combined = [urlOptions, ...startup].filter(Boolean).join(' ');
  if (combined) config.options = combined;
  if (settings.pipeline) config.pipeline = true;
  if (settings.maxLifetimeSeconds) config.maxLifetimeSeconds = settings.maxLifetimeSeconds;
  const pool = new pg.Pool(config);
  const report = options.onConnectionError ?? (() => {});
  // A connection that dies (server restart, failover, network) emits 'error' on its client; with
  // no listener that ends the process. The pool listens only while a client is idle (and then
  // emits on the pool), so every client gets its own listener for the time it is checked out,
  // where kysely holds it across a transaction. The call running on it fails (and answers
  // `unavailable`); the pool opens a new connection for the next one.
  pool.on('error', (error) => report(error));
  pool.on('connect', (client) => client.on('error', (error) => report(error)));
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
  return new Kysely<PgDB>({ dialect: new PostgresDialect({ pool: discardingBroken(pool) }) });
}

/**
 * Kysely releases a connection without saying how its last query went; a connection whose query
 * timed out unanswered or lost its server must not go back to the pool for the next call to hang
 * on (a statement PostgreSQL itself cancelled leaves a healthy one). Letter uses no cursors, so
 * only the (sql, parameters) form of `query` is passed through.
 */
function discardingBroken(pool: pg.Pool): PostgresPool {
  return {
    async connect(): Promise<PostgresPoolClient> {
      const client = await pool.connect();
      let broken: Error | undefined;
      const query = (sql: string, parameters: unknown[]) =>
        client.query(sql, parameters).catch((error: unknown) => {
          if (isLostConnection(error)) broken = error as Error;
          throw error;
        });
      return { query, release: () => client.release(broken) } as unknown as PostgresPoolClient;
    },
    end: () => pool.end(),
  };
}

/**
 * A query failed because its connection is gone or stuck (a client-side timeout, a reset, the
 * server shutting down), not because of what it asked: such a connection must not be reused.
 */
export function isLostConnection(error: unknown): boolean {
  const code = pgCode(error);
  const lost = code === undefined || code.startsWith('08') || code.startsWith('57P');
  return lost && isUnavailableError(error);
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

/**
 * Whether `error` says the database is away (or too slow to answer), not that the call was
 * wrong: the call is answered `unavailable`, anything else stays `internal`. One rule for every
 * dependency, in util/unavailable.ts (import-free, so main.ts can use it without loading pg).
 */
export { isUnavailableError };

/**
 * What a store call's failure becomes at the store's edge: input errors `bad_request`, an absent
 * database `unavailable`, everything else as it was (and `internal` on the wire). `unavailable`
 * means the transaction did not commit, except when the connection died while COMMIT was in
 * flight: then it may have, and the client's retry with the same clientMsgId finds the original.
 */
export function mapStoreError(error: unknown): unknown {
  if (error instanceof LetterError) return error;
  if (isUnavailableError(error)) {
    // The cause stays for the log (start-up says why it waits); clients see only the code.
    const unavailable = new LetterError(
      'unavailable',
      'The database is unavailable; nothing was saved.',
    );
    unavailable.cause = error;
    return unavailable;
  }
  return mapInputError(error);
}
