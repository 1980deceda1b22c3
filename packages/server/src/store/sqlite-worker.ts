/**
 * Worker-thread host of the SQLite store, doing group commit: every request that arrives while
 * the previous batch was committing runs in the next batch, one `BEGIN IMMEDIATE … COMMIT`, each
 * request in its own savepoint so a failing one undoes only itself. Replies go out only after
 * COMMIT returned, so an answer always means "durable". One fsync thus covers a whole burst.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { LetterError } from '@letter/protocol';
import type { StoreStats } from './store.js';
import { SqliteStore } from './sqlite.js';
import {
  isStoreMethod,
  type Call,
  type FromWorker,
  type Reply,
  type SerializedError,
  type ToWorker,
  type WorkerOptions,
} from './sqlite-rpc.js';

/** Bounds the latency a single batch adds to its first request. */
const MAX_BATCH = 1000;

const port = parentPort;
if (!port) throw new Error('sqlite-worker.ts must run in a worker thread');

const post = (message: FromWorker): void => port.postMessage(message);

// A failure here surfaces as the worker's 'error' event, which rejects openSqliteStore.
const options = workerData as WorkerOptions;
const store = new SqliteStore(
  options.file,
  options.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: options.busyTimeoutMs },
);
store.migrate();

const stats: StoreStats = { transactions: 0, requests: 0, maxBatch: 0 };
let queue: Call[] = [];
let flushScheduled = false;

port.on('message', (message: ToWorker) => {
  if (message.type === 'calls') {
    for (const call of message.calls) queue.push(call);
    // setImmediate runs after every message already waiting on the port has been queued.
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flush);
    }
  } else if (message.type === 'close') {
    flush();
    store.close();
    post({ type: 'closed', stats: { ...stats } });
    port.close();
  }
});
post({ type: 'ready' });

function flush(): void {
  flushScheduled = false;
  while (queue.length > 0) {
    const batch = queue.length <= MAX_BATCH ? queue : queue.slice(0, MAX_BATCH);
    queue = queue.length <= MAX_BATCH ? [] : queue.slice(MAX_BATCH);
    const replies = runBatch(batch);
    stats.requests += batch.length;
    post({ type: 'replies', replies, stats: { ...stats } });
  }
}

/** Inside the batch's transaction, better-sqlite3 runs this as a SAVEPOINT. */
const inSavepoint = store.db.transaction((call: Call): unknown => {
  if (!isStoreMethod(call.method)) throw new Error(`unknown store method ${String(call.method)}`);
  const method = store[call.method] as (...args: unknown[]) => unknown;
  return method.apply(store, call.args);
});

function runBatch(batch: Call[]): Reply[] {
  const db = store.db;
  /** Final answers: failed calls, and successes SQLite undid. */
  const settled: Reply[] = [];
  /** Successes that stand only if COMMIT does. */
  let pending: Reply[] = [];
  let beginError = begin();
  for (const call of batch) {
    if (beginError) {
      settled.push({ id: call.id, error: beginError });
      continue;
    }
    try {
      pending.push({ id: call.id, value: inSavepoint(call) });
    } catch (error) {
      settled.push({ id: call.id, error: serialize(error) });
    }
    if (!db.inTransaction) {
      // SQLite rolled the whole transaction back (e.g. disk full): the earlier successes of this
      // batch are gone too, so they must not be acknowledged.
      settled.push(...pending.map(undone));
      pending = [];
      beginError = begin();
    }
  }
  if (beginError) return settled;
  try {
    db.exec('COMMIT');
    stats.transactions += 1;
    stats.maxBatch = Math.max(stats.maxBatch, batch.length);
    return settled.concat(pending);
  } catch (error) {
    const failure = serialize(error);
    try {
      if (db.inTransaction) db.exec('ROLLBACK');
    } catch {
      // The failed COMMIT's own error is the one worth reporting.
    }
    return settled.concat(pending.map((reply) => ({ id: reply.id, error: failure })));
  }
}

/** Takes the write lock for a batch; a failure (e.g. SQLITE_BUSY) fails the batch, not the worker. */
function begin(): SerializedError | null {
  try {
    store.db.exec('BEGIN IMMEDIATE');
    return null;
  } catch (error) {
    return serialize(error);
  }
}

function undone(reply: Reply): Reply {
  if ('error' in reply) return reply;
  return { id: reply.id, error: { message: 'The transaction was rolled back; not saved.' } };
}

function serialize(error: unknown): SerializedError {
  if (error instanceof LetterError) return { code: error.code, message: error.message };
  if (error instanceof Error) {
    return error.stack === undefined
      ? { message: error.message }
      : { message: error.message, stack: error.stack };
  }
  return { message: String(error) };
}
