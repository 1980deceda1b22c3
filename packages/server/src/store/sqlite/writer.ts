/**
 * The SQLite store's writer, doing group commit: every request that arrives while
 * the previous batch was committing runs in the next batch, one `BEGIN IMMEDIATE … COMMIT`, each
 * request in its own savepoint so a failing one undoes only itself (an append makes its own when
 * it writes more than one statement: sqlite/append.ts). Replies go out only after
 * COMMIT returned, and leave the store only once the WAL is fsynced: inside COMMIT
 * (`sync: 'commit'`), or by the main thread before it releases them (`pipelined`, the default,
 * sqlite/wal-sync.ts), so an answer always means "durable". One fsync thus covers a whole burst.
 *
 * A commit costs ~250 µs of CPU (WAL write and fsync) whatever its size, so a batch waits up to
 * `commitDelayMs` for company when the arrival rate says company is coming (shared/commit-delay.ts),
 * up to twice that while the process is busy; a lone request on a quiet server commits at once.
 * docs/performance.md has the measurements.
 *
 * It runs on a worker thread of its own (sqlite/worker.ts) or, with `writer: 'inline'`, on the
 * main thread (sqlite/inline-writer.ts): the same code, fed the same messages.
 */
import { performance } from 'node:perf_hooks';
import { LetterError } from '@letter/protocol';
import type { AppendResult, HistoryPage, StoreStats } from '../store.js';
import { READS_INDEXES, SqliteStore, type IndexNeed } from './sqlite-store.js';
import { DEFAULT_BUSY_TIMEOUT_MS } from './people.js';
import { ON_APPEND_STATE, keepsAppendState } from './append.js';
import { Checkpoints } from './checkpoints.js';
import { mergeInSlices, mergeSlices } from './search-merges.js';
import { fromWire } from './wire-calls.js';
import { CommitDelay, processBusy } from '../shared/commit-delay.js';
import {
  DEFAULT_COMMIT_DELAY_MS,
  isReadOnly,
  isStoreMethod,
  toAppendReply,
  toHistoryReply,
  type Call,
  type FromWorker,
  type Reply,
  type SerializedError,
  type ToWorker,
  type WorkerOptions,
} from './rpc.js';

/** Bounds the latency a single batch adds to its first request. */
const MAX_BATCH = 1000;
/** A waiting batch this large commits at once: waiting longer would save little. */
const FULL_BATCH = 256;
/**
 * How many rows each index catches up at a time, in a transaction of its own: each catch-up
 * holds the appends queued behind it, and costs less per row the more rows it adds. The search
 * index's costs ~3.3 µs per row to insert and commit, whatever its size, since its merges run
 * in slices of their own (search-merges.ts); smaller catch-ups make more segments to merge
 * (merging ~4.1 µs per row at 1,000, ~3.5 at 2,000; docs/performance.md, round seventeen): 1,000
 * rows, ~3.5 ms. The export index writes every sender's last leaf per catch-up (~2.1 µs per row
 * at 2,000, ~1.3 at 4,000; round sixteen). The two take turns (`dueIndex`), and a search catches
 * up the search index alone.
 */
const SEARCH_BATCH = 1000;
const EXPORT_BATCH = 4000;
/** Fewer wait until the worker has had nothing to do for this long (by default). */
const INDEX_IDLE_MS = 10;
/** After a catch-up found the database locked by another process. */
const INDEX_RETRY_MS = 200;
/**
 * The search index's merge slices (sqlite/search-merges.ts) come no closer together than this:
 * after a batch that wrote, or once the worker has idled for `indexIdleMs`. A few follow each
 * catch-up.
 */
const MERGE_SPACING_MS = 10;

/** How the writer talks to sqlite/worker-store.ts, wherever it runs. */
export interface WriterIo {
  /** Sends a message to the main thread's side; never called back synchronously. */
  post(message: FromWorker): void;
  /** After `closed` was posted: the writer has nothing left to do. */
  done(): void;
  /**
   * Timers and immediates run their work through this: on a worker thread it lets an exception
   * end the thread (its 'error' event fails the store); inline it fails the store instead of
   * the process.
   */
  guard(work: () => void): () => void;
}

/** One of the two indexes appended rows reach after their commit. */
type IndexPart = 'search' | 'export';
/** What the writer does between batches: an index's catch-up, or a slice of merging. */
type IndexWork = IndexPart | 'merge';

/** A writer fed with `receive`. */
export interface Writer {
  receive(message: ToWorker): void;
}

/**
 * Opens the database and starts the writer; throws (the store fails to open) if the database
 * cannot be opened or migrated. Posts `ready` once it can take calls.
 */
export function startWriter(options: WorkerOptions, io: WriterIo): Writer {
  const { post, guard } = io;
  const inline = options.inline === true;
  // Inline, the writer's timers never keep the process alive: the host is ref'd while answers
  // are owed (inline-writer.ts). A worker thread's keep only the thread alive.
  const timer = (handle: NodeJS.Timeout): NodeJS.Timeout => (inline ? handle.unref() : handle);
  const commitDelay = new CommitDelay(
    Math.max(0, options.commitDelayMs ?? DEFAULT_COMMIT_DELAY_MS),
    FULL_BATCH,
    processBusy(),
  );
  const busyTimeoutMs = Math.trunc(options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS);
  const indexIdleMs = Math.max(0, options.indexIdleMs ?? INDEX_IDLE_MS);
  const store = new SqliteStore(
    options.file,
    options.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: options.busyTimeoutMs },
  );
  try {
    if (options.maxPageCount !== undefined)
      store.db.pragma(`max_page_count = ${options.maxPageCount}`);
    store.migrate();
    // Appended rows reach the search and export indexes after their commit, in batches
    // (catchUpIndexes), and before any call that reads them or write that needs them there
    // (writeDeferred). Rows committed but not indexed when the process last stopped are
    // indexed now.
    store.deferSearchIndex = true;
    store.db.transaction(() => {
      store.indexPending();
      mergeInSlices(store.db);
    })();
  } catch (error) {
    // A thread would take the connection with it; inline, nothing else would close it.
    store.close();
    throw error;
  }
  // This thread is the database's only writer, and every call goes through store.call, which
  // keeps the append path's conversation state exact; runBatch writes what it defers
  // (flushWrites) before any other call and before COMMIT, and forgets it after a rollback.
  store.appends.keep = true;
  store.appends.defer = true;
  // Checkpoints run on a thread of their own (sqlite/checkpointer.ts), never inside a commit,
  // unless `checkpoints: 'inline'` leaves them to SQLite's automatic checkpoint.
  /** A file database (WAL); `:memory:` has no log to checkpoint or sync. */
  const wal = store.db.pragma('journal_mode', { simple: true }) === 'wal';
  const checkpoints =
    options.checkpoints !== 'inline' && wal ? new Checkpoints(store.db, options.file) : null;

  const stats: StoreStats = {
    transactions: 0,
    requests: 0,
    writes: 0,
    maxBatch: 0,
    searchMerges: 0,
  };
  const mergeSearch = mergeSlices(store.db);
  /**
   * Whether the search index may have segments to merge: anything wrote it since the last slice
   * that found none (so also at start, after a restart in the middle of a merge).
   */
  let mergeOwed = true;
  let lastMergeAt = -Infinity;
  let queue: Call[] = [];
  /** `now`: a flush is queued with setImmediate; `waiting`: a batch is waiting for company. */
  let scheduled: 'now' | 'waiting' | null = null;
  let delayTimer: NodeJS.Timeout | undefined;
  /** When the oldest queued call was posted: a batch waits from then, not from when we saw it. */
  let oldestSentAt = 0;
  /** Appends committed since the search index last caught up (0: it has every row). */
  let unindexedRows = 0;
  /** The same for the export index (behind or ahead of the search index: they take turns). */
  let unexportedRows = 0;
  /** The same counts within the open batch: committed with it, forgotten if it rolls back. */
  let batchUnindexed = 0;
  let batchUnexported = 0;
  let indexTimer: NodeJS.Timeout | undefined;

  const receive = (message: ToWorker): void => {
    if (message.type === 'calls') {
      if (queue.length === 0) oldestSentAt = message.sentAt;
      for (const call of message.calls) queue.push(fromWire(call));
      // sentAt is on the main thread's clock: made this thread's performance.now().
      const oldestAt = oldestSentAt - performance.timeOrigin;
      schedule(commitDelay.arrived(message.calls.length, oldestAt, queue.length));
    } else if (message.type === 'close') {
      flush();
      catchUpIndexes();
      clearTimeout(indexTimer);
      // The writer's connection closes last, so it checkpoints the whole log and removes it.
      void (checkpoints?.close() ?? Promise.resolve()).then(
        guard(() => {
          store.close();
          post({ type: 'closed', stats: snapshot() });
          io.done();
        }),
      );
    }
  };
  // With the WAL fsynced by the main thread before it releases replies (sqlite/wal-sync.ts),
  // commits need not sync it themselves: NORMAL still syncs around every checkpoint.
  const pipelined = options.sync !== 'commit' && wal;
  if (pipelined) store.db.pragma('synchronous = NORMAL');
  post({ type: 'ready', walFile: pipelined ? `${options.file}-wal` : null });

  function snapshot(): StoreStats {
    return checkpoints ? { ...stats, checkpoints: { ...checkpoints.stats } } : { ...stats };
  }

  /** Commits now, or after `waitMs` (CommitDelay: company is coming, the batch is not full). */
  function schedule(waitMs: number): void {
    if (scheduled === 'now') return;
    if (waitMs > 0) {
      if (scheduled === null) {
        scheduled = 'waiting';
        delayTimer = timer(setTimeout(guard(flush), waitMs));
      }
      return;
    }
    clearTimeout(delayTimer);
    scheduled = 'now';
    // setImmediate runs after every message already waiting on the port has been queued.
    setImmediate(guard(flush));
  }

  function flush(): void {
    clearTimeout(delayTimer);
    scheduled = null;
    let wrote = false;
    while (queue.length > 0) {
      const batch = queue.length <= MAX_BATCH ? queue : queue.slice(0, MAX_BATCH);
      queue = queue.length <= MAX_BATCH ? [] : queue.slice(MAX_BATCH);
      const reads = readsOnly(batch);
      const replies = reads ? runReads(batch) : runBatch(batch);
      stats.requests += batch.length;
      post({ type: 'replies', replies, wrote: !reads, stats: snapshot() });
      wrote ||= !reads;
    }
    scheduleIndex(wrote);
  }

  /** Reads only, and none that needs an index while it lacks rows (a catch-up is a write). */
  const readsOnly = (batch: Call[]): boolean =>
    batch.every(isRead) && !batch.some((call) => indexLacking(indexesRead(call)));

  /** Whether `need` (of a call: READS_INDEXES) names an index that lacks committed rows. */
  const indexLacking = (need: IndexNeed | undefined): boolean =>
    (covers(need, 'search') && unindexedRows > 0) || (covers(need, 'export') && unexportedRows > 0);

  /**
   * Appended rows reach the search and export indexes off the ack path: thousands of rows at
   * once (SEARCH_BATCH, EXPORT_BATCH), else once the worker idles. One FTS5 insert of hundreds
   * of rows costs far less per row than one per small batch, and the export index's rows,
   * inserted in key order, write each sender's last leaf once per catch-up, not once per append.
   */
  function scheduleIndex(wrote: boolean): void {
    clearTimeout(indexTimer);
    // A slice follows writes, never reads: reads do not wait for merging that writes owe (a
    // server started on an index with much to merge serves its reads first; it merges when idle).
    const due: IndexWork | null = dueIndex() ?? (wrote && mergeDue() ? 'merge' : null);
    // Inline, the batch's replies are still to be delivered (a microtask after this turn), and
    // the catch-up would hold them, and the fsync they wait for, for its whole run: it goes next.
    if (due !== null && inline) setImmediate(guard(() => doIndexWork(due)));
    else if (due !== null) doIndexWork(due);
    else catchUpWhenIdle();
  }

  const doIndexWork = (work: IndexWork): void =>
    work === 'merge' ? mergeSearchSlice() : catchUpIndexes(work);

  /** A slice of merging may go now: one is owed, and the last one is long enough ago. */
  const mergeDue = (): boolean => mergeOwed && performance.now() - lastMergeAt >= MERGE_SPACING_MS;

  /**
   * The index whose catch-up is due, if one is: once the two lags, each as a share of its batch,
   * reach 1.5 together (or either reaches 1), the one further behind. The appends wait behind a
   * catch-up, so the two never catch up together: they take turns, each catching up about its
   * batch of rows, and each stall is one index's, about half as long as both together
   * (docs/performance.md, round sixteen). A search keeps the search index current: the export
   * index then goes every EXPORT_BATCH rows.
   */
  function dueIndex(): IndexPart | null {
    const exportLag = unexportedRows / EXPORT_BATCH;
    const searchLag = unindexedRows / SEARCH_BATCH;
    if (exportLag + searchLag < 1.5 && Math.max(exportLag, searchLag) < 1) return null;
    return exportLag >= searchLag ? 'export' : 'search';
  }

  /**
   * Whatever the indexes still lack, they get once the worker has idled for indexIdleMs; then
   * the merge slices owed, one each time it has idled that long again.
   */
  function catchUpWhenIdle(): void {
    if (unexportedRows > 0 || unindexedRows > 0) {
      indexTimer = timer(setTimeout(guard(catchUpIndexes), indexIdleMs));
    } else if (mergeOwed) {
      const wait = Math.max(indexIdleMs, lastMergeAt + MERGE_SPACING_MS - performance.now());
      indexTimer = timer(setTimeout(guard(mergeSearchSlice), wait));
    }
  }

  /** Catches one index up (its turn came), or `all` (the worker idles, or it closes). */
  function catchUpIndexes(part: IndexPart | 'all' = 'all'): void {
    clearTimeout(indexTimer);
    if ((unexportedRows === 0 && unindexedRows === 0) || !store.db.open) return;
    // Calls are waiting: their batch goes first and schedules this again.
    if (queue.length > 0 && scheduled !== null) return;
    // On failure the rows stay committed and findable by catching up
    // (SqliteStore.deferSearchIndex): the next batch, search or retry does it.
    const committed = inOwnTransaction(() => {
      if (part !== 'search') store.indexExport();
      if (part !== 'export') store.indexSearch();
    }, catchUpIndexes);
    if (!committed) return;
    if (part !== 'search') unexportedRows = 0;
    if (part !== 'export') {
      unindexedRows = 0;
      mergeOwed = true;
    }
    // The other index's turn, when due already, comes next (after any calls that are waiting),
    // else with the appends, or when the worker idles.
    const next = dueIndex();
    if (next === null) catchUpWhenIdle();
    else {
      const turn = guard(() => catchUpIndexes(next));
      indexTimer = timer(setTimeout(turn, 0));
    }
  }

  /** One slice of the search index's merging, in a transaction of its own (search-merges.ts). */
  function mergeSearchSlice(): void {
    clearTimeout(indexTimer);
    if (!mergeOwed || !store.db.open) return;
    // Calls are waiting: their batch goes first and schedules this again.
    if (queue.length > 0 && scheduled !== null) return;
    let merged = false;
    if (!inOwnTransaction(() => (merged = mergeSearch()), mergeSearchSlice)) return;
    lastMergeAt = performance.now();
    if (merged) stats.searchMerges = (stats.searchMerges ?? 0) + 1;
    else mergeOwed = false;
    catchUpWhenIdle();
  }

  /**
   * Runs the writer's own work between batches (a catch-up, a merge slice) in a transaction of
   * its own, which never waits for a lock another process holds (a backup, say): on any
   * failure it is rolled back and `retry` runs INDEX_RETRY_MS later. True when it committed.
   */
  function inOwnTransaction(work: () => void, retry: () => void): boolean {
    const db = store.db;
    db.pragma('busy_timeout = 0');
    try {
      db.exec('BEGIN IMMEDIATE');
      work();
      db.exec('COMMIT');
      checkpoints?.wrote();
      return true;
    } catch {
      try {
        if (db.inTransaction) db.exec('ROLLBACK');
      } catch {
        // Nothing more to undo.
      }
      indexTimer = timer(setTimeout(guard(retry), INDEX_RETRY_MS));
      return false;
    } finally {
      db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    }
  }

  /** Whether a call with `need` reads (or must find complete) index `part`. */
  const covers = (need: IndexNeed | undefined, part: IndexPart): boolean =>
    need === 'all' || need === part;

  const isRead = (call: Call): boolean => isStoreMethod(call.method) && isReadOnly(call.method);
  const onAppendState = (call: Call): boolean =>
    isStoreMethod(call.method) && ON_APPEND_STATE.has(call.method);
  const indexesRead = (call: Call): IndexNeed | undefined =>
    isStoreMethod(call.method) ? READS_INDEXES.get(call.method) : undefined;

  function invoke(call: Call): unknown {
    if (!isStoreMethod(call.method)) throw new Error(`unknown store method ${String(call.method)}`);
    const value = store.call(call.method, call.args);
    if (call.method === 'appendMessage') return toAppendReply(value as AppendResult, inline);
    if (call.method === 'history') return toHistoryReply(value as HistoryPage | null);
    return value;
  }

  /**
   * Any call but an append sees the database as appends left it: their deferred seqs and
   * positions are written first; before a search the search index is caught up, before receipts
   * or an export page the export index (READS_INDEXES), and before a write that could touch a
   * body, both indexes.
   * Should that fail, the whole transaction is rolled back (runBatch then fails the batch's
   * earlier successes): an acknowledged append without its seq written must never commit.
   */
  function writeDeferred(call: Call): void {
    if (onAppendState(call)) return;
    try {
      store.flushWrites();
      const need = keepsAppendState(call.method) ? indexesRead(call) : 'all';
      // A search waits for the search index alone, receipts and an export page for the export
      // index alone: the other's lag stays its own (no catch-up, nor the merges it would owe,
      // in front of them).
      if (covers(need, 'export')) {
        store.indexExport();
        batchUnexported = 0;
      }
      if (covers(need, 'search')) {
        store.indexSearch();
        batchUnindexed = 0;
        // The catch-up, and a write that may change a body (its triggers), write the search
        // index: its segments merge in slices too.
        mergeOwed = true;
      }
    } catch (error) {
      if (store.db.inTransaction) store.db.exec('ROLLBACK');
      throw error;
    }
  }

  /** Inside the batch's transaction, better-sqlite3 runs this as a SAVEPOINT. */
  const inSavepoint = store.db.transaction(invoke);

  // Prepared once: db.pragma() prepares its statement at every call (~30 µs each, twice per
  // batch of reads; docs/performance.md, round three).
  const readOnlyOn = store.db.prepare('PRAGMA query_only = ON');
  const readOnlyOff = store.db.prepare('PRAGMA query_only = OFF');

  /**
   * A batch of reads only: one read transaction (a consistent snapshot, no write lock, nothing to
   * sync), with writes refused outright should a method labelled `read` ever write.
   */
  function runReads(batch: Call[]): Reply[] {
    const db = store.db;
    const replies: Reply[] = [];
    try {
      readOnlyOn.run();
      db.exec('BEGIN');
      for (const call of batch) {
        try {
          replies.push({ id: call.id, value: invoke(call) });
        } catch (error) {
          replies.push({ id: call.id, error: serialize(error) });
        }
      }
      db.exec('COMMIT');
    } catch (error) {
      // Only BEGIN or COMMIT of a read transaction can land here (e.g. an I/O error).
      const failure = serialize(error);
      const answered = new Set(replies.map((reply) => reply.id));
      for (const call of batch)
        if (!answered.has(call.id)) replies.push({ id: call.id, error: failure });
      if (db.inTransaction) db.exec('ROLLBACK');
    } finally {
      readOnlyOff.run();
    }
    return replies;
  }

  function runBatch(batch: Call[]): Reply[] {
    const db = store.db;
    /** Final answers: failed calls, and successes SQLite undid. */
    const settled: Reply[] = [];
    /** Successes that stand only if COMMIT does. */
    let pending: Reply[] = [];
    /** Writing calls in the transaction that is open. */
    let writes = 0;
    let beginError = begin();
    for (const call of batch) {
      if (beginError) {
        settled.push({ id: call.id, error: beginError });
        continue;
      }
      try {
        // A read needs no savepoint: it has nothing to undo. Nor does an append: it makes its
        // own when it writes more than its one INSERT (sqlite/append.ts). Nor a position: it
        // writes one row at most, after its reads (ON_APPEND_STATE). A savepoint per append
        // cost ~8 µs of this thread's ~70 per message (docs/performance.md, round twelve).
        writeDeferred(call);
        const read = isRead(call);
        if (!read) writes += 1;
        // Counted before the call: without a savepoint, an append that failed after its INSERT
        // (its reply could not be made) still left a row to index. Counting one too many only
        // makes a catch-up find less to do.
        if (call.method === 'appendMessage') {
          batchUnindexed += 1;
          batchUnexported += 1;
        }
        const value = read || onAppendState(call) ? invoke(call) : inSavepoint(call);
        pending.push({ id: call.id, value });
      } catch (error) {
        settled.push({ id: call.id, error: serialize(error) });
      }
      if (!db.inTransaction) {
        // SQLite rolled the whole transaction back (e.g. disk full): the earlier successes of this
        // batch are gone too, so they must not be acknowledged.
        store.forgetPending();
        settled.push(...pending.map(undone));
        pending = [];
        writes = 0;
        beginError = begin();
      }
    }
    if (beginError) return settled;
    try {
      store.flushWrites();
      db.exec('COMMIT');
      if (writes > 0) checkpoints?.wrote();
      unindexedRows = batchUnindexed;
      unexportedRows = batchUnexported;
      stats.transactions += 1;
      stats.writes += writes;
      stats.maxBatch = Math.max(stats.maxBatch, batch.length);
      return settled.concat(pending);
    } catch (error) {
      const failure = serialize(error);
      store.forgetPending();
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
    batchUnindexed = unindexedRows;
    batchUnexported = unexportedRows;
    // Nothing is pending here: a COMMIT indexed and wrote it all, and every rollback forgot it
    // (forgetPending, which also drops the append path's cached state).
    try {
      store.db.exec('BEGIN IMMEDIATE');
      return null;
    } catch (error) {
      return serialize(error);
    }
  }

  return { receive };
}

function undone(reply: Reply): Reply {
  if ('error' in reply) return reply;
  return {
    id: reply.id,
    error: { code: 'unavailable', message: 'The transaction was rolled back; nothing was saved.' },
  };
}

/**
 * SQLite result codes that say the database cannot work right now, not that the call was wrong:
 * a full disk, an I/O error, a lock held too long by another process, no memory, a file that
 * became read-only or vanished. The batch was rolled back; the call answers `unavailable`.
 */
const UNAVAILABLE = /^SQLITE_(FULL|IOERR|BUSY|LOCKED|NOMEM|CANTOPEN|READONLY|PROTOCOL)/;

function serialize(error: unknown): SerializedError {
  if (error instanceof LetterError) return { code: error.code, message: error.message };
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && UNAVAILABLE.test(code)) {
    return {
      code: 'unavailable',
      message: `The database is unavailable (${code}); nothing was saved.`,
    };
  }
  if (error instanceof Error) {
    return error.stack === undefined
      ? { message: error.message }
      : { message: error.message, stack: error.stack };
  }
  return { message: String(error) };
}
