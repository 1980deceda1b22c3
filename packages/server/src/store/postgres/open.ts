/**
 * Opens the PostgreSQL store (LETTER_DATABASE_URL): a `pg` pool, kysely over it, the schema
 * migrated, and a handle that knows which calls are still running so `close` can wait for them.
 * The logic lives in postgres/postgres-store.ts and its parts; ARCHITECTURE.md ("PostgreSQL") explains
 * the transaction and locking design.
 */
import type { Store, StoreStats } from '../store.js';
import { createDb, createPool, mapStoreError, type PostgresOptions } from './db.js';
import { PostgresStore } from './postgres-store.js';
import type { AppendReads } from './append-batch.js';
import { DEFAULT_PG_COMMIT_DELAY_MS } from './tick-batcher.js';
import { storeMethods, type StoreMethod } from '../shared/store-methods.js';

export interface PostgresStoreOptions extends PostgresOptions {
  /** Migrate the schema while opening (default true, as the SQLite store does). */
  migrate?: boolean | undefined;
  /** A search's statement_timeout in ms (default DEFAULT_SEARCH_TIMEOUT_MS, 5 s). */
  searchTimeoutMs?: number | undefined;
  /**
   * How append batches read (append-batch.ts): `unlocked` for nodes that share the database
   * with other nodes (node.ts: when Redis is configured), `locked` (the default) for one node.
   */
  appendReads?: AppendReads | undefined;
  /**
   * Under a steady rate, how long a batch of appends or of position moves may wait for more
   * before it commits (tick-batcher.ts; default DEFAULT_PG_COMMIT_DELAY_MS, 0: never).
   */
  commitDelayMs?: number | undefined;
}

export async function openPostgresStore(options: PostgresStoreOptions): Promise<Store> {
  let pool = createPool(options);
  let synchronousCommit = false;
  try {
    // Guarantee 1 needs COMMIT to wait for the WAL flush. That is PostgreSQL's default; a server
    // configured with synchronous_commit=off gets it back for Letter's sessions.
    const { rows } = await pool.query<{ synchronous_commit: string }>('SHOW synchronous_commit');
    if (rows[0]?.synchronous_commit === 'off') {
      await pool.end();
      synchronousCommit = true;
      pool = createPool(options, { synchronousCommit });
    }
  } catch (error) {
    await pool.end().catch(() => {});
    throw mapStoreError(error);
  }
  const db = createDb(pool);
  // Batches of appends and of positions run one at a time each (append-batch.ts,
  // position-batch.ts); a third connection stands by for when one was lost with its batch.
  // Their statements are named and planned once per connection (genericPlans), so each keeps
  // the plans it made in its first minutes, sized for the tables as they were then; without
  // autovacuum's ANALYZE nothing ever invalidates them (the write's joins stay sequential scans
  // of conversations and members as those grow, docs/performance.md, round four). A connection
  // lives ten minutes, then its successor plans for the tables as they are; every statement of
  // an append or position batch probes indexes even as planned for empty tables
  // (pending-list.test.ts).
  const appendPool = createPool(options, {
    synchronousCommit,
    pipeline: true,
    genericPlans: true,
    max: 3,
    maxLifetimeSeconds: 600,
  });
  const store = new PostgresStore(
    db,
    options.schema,
    appendPool,
    options.appendReads,
    options.commitDelayMs ?? DEFAULT_PG_COMMIT_DELAY_MS,
  );
  if (options.searchTimeoutMs !== undefined) store.searchTimeoutMs = options.searchTimeoutMs;
  const destroy = async () => {
    await db.destroy();
    await appendPool.end();
  };
  try {
    if (options.migrate !== false) await store.migrate();
  } catch (error) {
    await destroy().catch(() => {});
    throw mapStoreError(error);
  }

  const running = new Set<Promise<unknown>>();
  let closing: Promise<void> | null = null;
  // Every write call is one transaction (counted when it committed), but appends and position
  // moves: those are counted by their batches.
  const batched = new Set<StoreMethod>(['appendMessage', 'advancePosition']);
  const counts = { requests: 0, writes: 0 };
  const stats = (): StoreStats => {
    const appends = store.appendStats;
    const positions = store.positionStats;
    return {
      transactions: counts.writes + appends.batches + positions.batches,
      requests: counts.requests,
      writes: counts.writes + appends.calls + positions.calls,
      maxBatch: Math.max(appends.maxBatch, positions.maxBatch, counts.writes > 0 ? 1 : 0),
      staleConversations: appends.stale,
      shiftedConversations: appends.shifted,
      memberRereads: appends.rereads,
      batchFallbacks: appends.fallbacks + positions.fallbacks,
    };
  };

  const call = (method: StoreMethod, args: unknown[]): Promise<unknown> => {
    if (closing) return Promise.reject(new Error('The store is closed.'));
    counts.requests++;
    const oneTransaction = storeMethods[method] === 'write' && !batched.has(method);
    const run = (store[method] as (...a: unknown[]) => Promise<unknown>)
      .apply(store, args)
      .catch((error: unknown) => {
        throw mapStoreError(error);
      });
    const tracked = run.then(
      () => {
        if (oneTransaction) counts.writes++;
      },
      () => undefined,
    );
    running.add(tracked);
    void tracked.then(() => running.delete(tracked));
    return run;
  };

  const close = (): Promise<void> => {
    closing ??= (async () => {
      // Every call already running finishes (and commits) before the pool goes.
      while (running.size > 0) await Promise.all([...running]);
      await store.idle();
      await destroy();
    })();
    return closing;
  };

  const handle: Record<string, unknown> = { close, stats };
  for (const method of Object.keys(storeMethods) as StoreMethod[]) {
    handle[method] = (...args: unknown[]) => call(method, args);
  }
  return handle as unknown as Store;
}
