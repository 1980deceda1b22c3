/**
 * A batch's transaction on a pipelined connection (pg's `pipeline` mode: a statement goes out
 * without waiting for the answer to the one before), in two round trips: BEGIN with the reads
 * the batch decides on, then its one write with COMMIT. Used by the group commits of appends
 * (append-batch.ts) and of positions (position-batch.ts).
 */
import type pg from 'pg';
import { isLostConnection, pgCode } from './db.js';

/** Waits for every pipelined query (none is left unhandled); throws the first one's error. */
export async function settled<T extends unknown[]>(
  queries: [...{ [K in keyof T]: Promise<T[K]> }],
): Promise<T> {
  const results = await Promise.allSettled(queries);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as T;
}

/** What a batch decided from its reads: its answer, and the statement that writes it (if any). */
export interface Decided<T> {
  value: T;
  write: pg.QueryConfig | null;
}

/**
 * Runs one READ COMMITTED transaction: `BEGIN` is sent, then `decide` sends its reads on the
 * same connection (pipelined behind BEGIN, so they run in the transaction, in order) and decides;
 * its write and `COMMIT` go out together. A failed write makes PostgreSQL answer COMMIT with
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
    const begin = client.query('BEGIN ISOLATION LEVEL READ COMMITTED');
    // Its failure surfaces through the reads behind it as well; awaited with them below.
    begin.catch(() => {});
    const decided = await decide(client);
    await begin;
    const write = decided.write ? client.query(decided.write) : Promise.resolve(null);
    // After this the transaction is over either way.
    open = false;
    const [, committed] = await settled<[pg.QueryResult | null, pg.QueryResult]>([
      write,
      client.query('COMMIT'),
    ]);
    if (committed.command !== 'COMMIT') throw new Error(`COMMIT answered ${committed.command}`);
    return decided.value;
  } catch (error) {
    if (isLostConnection(error)) broken = error as Error;
    else if (open) {
      await client.query('ROLLBACK').catch((failed: unknown) => {
        broken = failed instanceof Error ? failed : new Error(String(failed));
      });
    }
    throw error;
  } finally {
    client.release(broken);
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
