/**
 * A batch's transaction on a pipelined connection (pg's `pipeline` mode: a statement goes out
 * without waiting for the answer to the one before), in two round trips: BEGIN with the reads
 * the batch decides on, then its writes with COMMIT. Used by the group commits of appends
 * (append-batch.ts) and of positions (position-batch.ts); appends that read without locks send
 * their reads outside any transaction, then their writes as one transaction in one go
 * (`pipelinedWrites`).
 */
import type pg from 'pg';
import { isLostConnection, isUnavailableError, pgCode } from './db.js';
import type { Pending } from './tick-batcher.js';

/** Waits for every pipelined query (none is left unhandled); throws the first one's error. */
export async function settled<T extends unknown[]>(
  queries: [...{ [K in keyof T]: Promise<T[K]> }],
): Promise<T> {
  const results = await Promise.allSettled(queries);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as T;
}

/** What a batch decided from its reads: the statements that write it, and its answer. */
export interface Decided<T> {
  /** Sent together with COMMIT, in this order; none when there is nothing to write. */
  writes: pg.QueryConfig[];
  /** The batch's answer, once COMMIT succeeded; given what the writes returned, in order. */
  finish(results: readonly pg.QueryResult[]): T;
}

/** A decision whose answer does not depend on what its write returns. */
export const decided = <T>(value: T, write: pg.QueryConfig | null): Decided<T> => ({
  writes: write ? [write] : [],
  finish: () => value,
});

const BEGIN = 'BEGIN ISOLATION LEVEL READ COMMITTED';

/**
 * Sends `writes` and COMMIT (after BEGIN with `begin`) in one write to the socket; the writes'
 * results once COMMIT succeeded. A failed write makes PostgreSQL answer COMMIT with ROLLBACK,
 * and the write's error is thrown.
 */
async function commitWrites(
  client: pg.PoolClient,
  writes: readonly pg.QueryConfig[],
  { begin = false } = {},
): Promise<pg.QueryResult[]> {
  const results = await settled<pg.QueryResult[]>(
    corked(client, () => [
      ...(begin ? [client.query(BEGIN)] : []),
      ...writes.map((write) => client.query(write)),
      client.query('COMMIT'),
    ]),
  );
  const committed = results.pop()!;
  if (committed.command !== 'COMMIT') throw new Error(`COMMIT answered ${committed.command}`);
  return begin ? results.slice(1) : results;
}

/** ROLLBACK after a failure; the error that makes the connection unfit for the pool, if any. */
async function rollback(client: pg.PoolClient): Promise<Error | undefined> {
  try {
    await client.query('ROLLBACK');
    return undefined;
  } catch (failed) {
    return failed instanceof Error ? failed : new Error(String(failed));
  }
}

/**
 * Runs one READ COMMITTED transaction: `BEGIN` is sent, then `decide` sends its reads on the
 * same connection (pipelined behind BEGIN, so they run in the transaction, in order) and decides;
 * its writes and `COMMIT` go out together. A failed write makes PostgreSQL answer COMMIT with
 * ROLLBACK, and the write's error is thrown. A connection that was lost, or cannot roll back, is
 * discarded, never handed to the next batch.
 */
export async function pipelinedTransaction<T>(
  pool: pg.Pool,
  decide: (client: pg.PoolClient) => Promise<Decided<T>>,
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  let open = true;
  try {
    const [begin, deciding] = corked(client, () => {
      const begin = client.query(BEGIN);
      // Its failure surfaces through the reads behind it as well; awaited with them below.
      begin.catch(() => {});
      // Sends its reads before its first await, so they share BEGIN's write to the socket.
      return [begin, decide(client)] as const;
    });
    const decided = await deciding;
    await begin;
    // After this the transaction is over either way.
    open = false;
    return decided.finish(await commitWrites(client, decided.writes));
  } catch (error) {
    if (isLostConnection(error)) broken = error as Error;
    else if (open) broken = await rollback(client);
    throw error;
  } finally {
    client.release(broken);
  }
}

/**
 * A batch whose reads take no lock (append-batch.ts, unlocked reads), run with no transaction
 * around them, each in a snapshot of its own (the writes check what they decided from); then its
 * writes in ONE transaction sent in one go: BEGIN, the writes, COMMIT, in one write to the
 * socket. The locks the first write takes are held only while PostgreSQL runs the statements
 * behind it, never across a round trip to the node; and every later statement takes its
 * snapshot after they were granted, so it never re-checks a row another transaction changed
 * meanwhile (EvalPlanQual, which a statement that locked its own rows ran for every row the
 * other node had written: docs/performance.md, round twenty-six). A failed write makes
 * PostgreSQL answer COMMIT with ROLLBACK, and the write's error is thrown; either way the
 * transaction is over when the answers are in.
 */
export async function pipelinedWrites<T>(
  pool: pg.Pool,
  decide: (client: pg.PoolClient) => Promise<Decided<T>>,
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  let begun = false;
  try {
    const decided = await corked(client, () => decide(client));
    if (decided.writes.length === 0) return decided.finish([]);
    begun = true;
    return decided.finish(await commitWrites(client, decided.writes, { begin: true }));
  } catch (error) {
    if (isLostConnection(error)) broken = error as Error;
    // The COMMIT sent ended the transaction (as ROLLBACK after a failed write) unless it never
    // went out; a ROLLBACK with none open is a warning, and the connection is clean either way.
    else if (begun) broken = await rollback(client);
    throw error;
  } finally {
    client.release(broken);
  }
}

/**
 * Runs `send` with the connection's socket corked: pg writes every statement to the socket on
 * its own (one writev, one wake-up of the backend each); the statements of one round trip go in
 * one write instead (docs/performance.md, round three).
 */
function corked<T>(client: pg.PoolClient, send: () => T): T {
  const stream = client.connection.stream;
  stream.cork();
  try {
    return send();
  } finally {
    stream.uncork();
  }
}

const MAX_ATTEMPTS = 5;
/** Deadlock detected, serialization failure: the whole transaction may simply run again. */
export const isRetryableConflict = (error: unknown): boolean =>
  pgCode(error) === '40P01' || pgCode(error) === '40001';

/** Runs `attempt` again (up to 5 times, after a short random pause) while `retryable` says so. */
export async function withRetries<T>(
  attempt: () => Promise<T>,
  retryable: (error: unknown) => boolean,
  onRetry: () => void = () => {},
): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (error) {
      if (n < MAX_ATTEMPTS && retryable(error)) {
        onRetry();
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * n));
        continue;
      }
      throw error;
    }
  }
}

/** Counters of a batcher, for the store's stats() (/metrics) and tests. */
export interface BatchStats {
  /** Transactions: batches, and the one-call transactions of a fallback. */
  batches: number;
  /** Calls decided in them (refused ones included). */
  calls: number;
  /** The most calls in one batch. */
  maxBatch: number;
  /** Batches run again (deadlock, or what the batcher's `retryable` names). */
  retries: number;
  /** Batches that fell back to one transaction per call. */
  fallbacks: number;
  /**
   * Appends only: conversations whose members changed between a batch's unlocked reads and its
   * write, whose messages were then decided again under the lock (append-batch.ts).
   */
  stale: number;
  /** Appends only: conversations whose batch's seqs moved up past messages stored meanwhile. */
  shifted: number;
}

export const newBatchStats = (): BatchStats => ({
  batches: 0,
  calls: 0,
  maxBatch: 0,
  retries: 0,
  fallbacks: 0,
  stale: 0,
  shifted: 0,
});

/**
 * Commits a batch and returns what it decided. When the database is away, every call of the
 * batch fails with that error (nothing was committed, nothing is acknowledged). When anything
 * else failed it, each call runs alone through `one`, in order, so whatever it was fails only
 * its own call; undefined then, and in both cases every call is settled here.
 */
export async function commitOrEachAlone<I, O, T>(
  batch: Pending<I, O>[],
  stats: BatchStats,
  commit: () => Promise<T>,
  one: (item: I) => Promise<O>,
): Promise<T | undefined> {
  try {
    const value = await commit();
    stats.batches++;
    stats.calls += batch.length;
    stats.maxBatch = Math.max(stats.maxBatch, batch.length);
    return value;
  } catch (error) {
    if (isUnavailableError(error)) {
      for (const pending of batch) pending.reject(error);
      return undefined;
    }
    stats.fallbacks++;
    stats.batches += batch.length;
    stats.calls += batch.length;
    // One after the other, in the batch's order: run at once, their transactions could take
    // the conversation's lock in any order, and seqs would not follow the calls' order.
    for (const pending of batch) await one(pending.item).then(pending.resolve, pending.reject);
    return undefined;
  }
}
