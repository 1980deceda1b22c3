/**
 * The fsync of a commit, taken off the SQLite worker's thread (main-thread side of
 * `LETTER_SQLITE_SYNC=pipelined`, the default; `commit` syncs inside COMMIT).
 *
 * With `synchronous=FULL`, SQLite fsyncs the WAL inside every COMMIT, and the worker, SQLite's
 * only writer, waits: no statement of the next batch runs until the disk answered. Under load
 * that wait is a large share of the worker's time (docs/performance.md, "The SQLite writer's
 * I/O"). So the worker commits with `synchronous=NORMAL` (the WAL is written but not synced;
 * checkpoints still sync the WAL before and the database file after) and posts its replies at
 * once; here they wait for an `fdatasync` of the WAL file (on a thread of its own) started after they arrived, while the
 * worker already runs the next batch. One fsync covers every batch that arrived before it began.
 *
 * **Architecture Invariant:** no reply leaves the store before everything it could have seen is
 * durable: replies are released in the order the worker committed them, a write batch's after an
 * fsync that began after it arrived, and a read's after the fsync of every write before it. So an
 * `ok`, and anything read from the database, means what `synchronous=FULL` meant: on disk.
 */
import { Worker } from 'node:worker_threads';
import { distScript } from './dist-script.js';
import type { FromSyncer, ToSyncer, WalSyncerOptions } from './wal-syncer.js';

export interface Settled<T> {
  /** Whether the batch wrote (and must be synced before its replies leave). */
  wrote: boolean;
  /** Releases the batch's replies; `error` when the sync failed and they must fail instead. */
  settle: (error: Error | null) => void;
  batch: T;
}

/** How the WAL is synced: `fdatasync` of the file by default; tests inject their own. */
export type SyncFn = (done: (error: Error | null) => void) => void;

export class WalSync<T> {
  /** Batches that arrived while a sync ran, or before one could start: in commit order. */
  private waiting: Settled<T>[] = [];
  /** The batches the running sync covers, or null when none runs. */
  private running: Settled<T>[] | null = null;
  private idlers: (() => void)[] = [];

  constructor(private readonly sync: SyncFn) {}

  /** A batch of replies from the worker, in commit order. */
  arrived(batch: Settled<T>): void {
    // A read with nothing unsynced before it leaves at once (next: no write among the waiting).
    this.waiting.push(batch);
    this.next();
  }

  /** Resolves once no reply waits for a sync. */
  idle(): Promise<void> {
    if (this.running === null && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idlers.push(resolve));
  }

  private next(): void {
    if (this.running !== null) return;
    if (this.waiting.length === 0) {
      for (const resolve of this.idlers.splice(0)) resolve();
      return;
    }
    const covered = this.waiting;
    this.waiting = [];
    // Reads that waited only for an earlier sync (now done) need none of their own.
    if (!covered.some((batch) => batch.wrote)) {
      for (const batch of covered) batch.settle(null);
      this.next();
      return;
    }
    this.running = covered;
    this.sync((error) => {
      this.running = null;
      for (const batch of covered) batch.settle(error);
      this.next();
    });
  }
}

/**
 * `fdatasync` of the WAL file on a thread of its own (sqlite/wal-syncer.ts). The file is opened
 * at the first sync and stays open: SQLite keeps the same file while any of its connections is
 * open, and an fsync through any descriptor flushes the file's dirty pages.
 */
export function walFileSync(walFile: string): { sync: SyncFn; close: () => Promise<void> } {
  const workerData: WalSyncerOptions = { walFile };
  const thread = new Worker(distScript('./wal-syncer.js', import.meta.url), { workerData });
  thread.unref();
  let waiting: ((error: Error | null) => void) | null = null;
  let dead: Error | null = null;
  const settle = (error: Error | null): void => {
    const done = waiting;
    waiting = null;
    done?.(error);
  };
  thread.on('message', (message: FromSyncer) => {
    // Nothing owed until the next sync: the idle thread must not hold the process open.
    thread.unref();
    const { error } = message;
    settle(error === null ? null : Object.assign(new Error(error.message), { code: error.code }));
  });
  const died = (error: Error): void => {
    dead ??= error;
    settle(dead);
  };
  thread.on('error', died);
  thread.on('exit', () => died(new Error('the WAL sync thread exited')));
  const sync: SyncFn = (done) => {
    if (dead) return done(dead);
    // WalSync runs one sync at a time.
    waiting = done;
    thread.ref();
    thread.postMessage({ type: 'sync' } satisfies ToSyncer);
  };
  /** Only once no sync runs (the store closed after its last reply). */
  const close = async (): Promise<void> => {
    if (dead) return;
    const exited = new Promise<void>((resolve) => thread.once('exit', () => resolve()));
    thread.postMessage({ type: 'close' } satisfies ToSyncer);
    await exited;
  };
  return { sync, close };
}
