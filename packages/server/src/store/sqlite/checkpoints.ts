/**
 * The writer's side of checkpointing (sqlite/checkpointer.ts has the why): automatic checkpoints
 * off on the writer's connection, a checkpointer thread asked to run after writes, and the
 * finishing step that lets a long log restart. Should the thread fail, the writer falls back to
 * SQLite's automatic checkpoints, as before.
 */
import { Worker } from 'node:worker_threads';
import type { CheckpointStats } from '../store.js';
import type { Db } from './db.js';
import type { CheckpointerOptions, FromCheckpointer, ToCheckpointer } from './checkpointer.js';

/** SQLite's own default, restored should the checkpointer thread fail. */
const AUTOCHECKPOINT_PAGES = 1000;
/** A log this long (in pages, ~16 MiB) is finished by the writer, so it starts over. */
export const RESTART_FRAMES = 4000;
/**
 * The checkpointer runs at most this often. Each run copies a page once however often it was
 * written since the last, and costs two fsyncs (the log before, the database file after).
 */
const MIN_INTERVAL_MS = 100;

export class Checkpoints {
  readonly stats: CheckpointStats = { runs: 0, finished: 0, maxLog: 0, fallback: false };
  private thread: Worker | null;
  /** A run was asked for and has not reported yet. */
  private asked = false;
  private closed: Promise<void> | null = null;

  constructor(
    private readonly db: Db,
    file: string,
  ) {
    const workerData: CheckpointerOptions = {
      file,
      minIntervalMs: MIN_INTERVAL_MS,
      restartFrames: RESTART_FRAMES,
    };
    this.thread = new Worker(new URL('./checkpointer.js', import.meta.url), { workerData });
    this.thread.unref();
    db.pragma('wal_autocheckpoint = 0');
    this.thread.on('message', (message: FromCheckpointer) => {
      if (message.type === 'ran') this.ran(message.log);
    });
    this.thread.on('error', () => this.fallback());
    this.thread.on('exit', () => this.fallback());
  }

  /** After a batch that wrote committed. */
  wrote(): void {
    if (this.thread === null || this.asked) return;
    this.asked = true;
    this.post({ type: 'wrote' });
  }

  /** Stops the thread; the writer's connection, closed after, is then the last and checkpoints. */
  close(): Promise<void> {
    this.closed ??= new Promise<void>((resolve) => {
      const thread = this.thread;
      if (thread === null) return resolve();
      thread.removeAllListeners('exit');
      thread.once('exit', () => resolve());
      this.thread = null;
      thread.postMessage({ type: 'close' } satisfies ToCheckpointer);
    });
    return this.closed;
  }

  /**
   * A run ended. Messages reach this thread only between batches, so no transaction is open:
   * if the log is long, copy the frames committed during the run now (a few hundred pages at
   * most), and the next write transaction restarts the log from its first page.
   */
  private ran(log: number): void {
    this.asked = false;
    this.stats.runs += 1;
    this.stats.maxLog = Math.max(this.stats.maxLog, log);
    if (log < RESTART_FRAMES || !this.db.open) return;
    try {
      this.db.pragma('wal_checkpoint(PASSIVE)');
      this.stats.finished += 1;
    } catch {
      // Busy or an I/O error: the next run reports the log again.
    }
  }

  private post(message: ToCheckpointer): void {
    this.thread?.postMessage(message);
  }

  private fallback(): void {
    if (this.thread === null) return;
    this.thread = null;
    this.stats.fallback = true;
    if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
  }
}
