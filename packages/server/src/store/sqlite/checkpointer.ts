/**
 * The SQLite store's checkpointer: a second connection to the database, on a thread of its own
 * (started by sqlite/worker.ts), that copies the write-ahead log into the database file. The
 * writer's connection has automatic checkpoints off, so no commit ever waits for one.
 *
 * Why: an automatic checkpoint runs inside the COMMIT that pushes the log past 1,000 pages. It
 * reads those pages back, writes each to its place in the database file and fsyncs the file:
 * under sustained load, tens of milliseconds of one batch's replies, every few dozen batches
 * (docs/performance.md, "The SQLite writer's I/O"). A PASSIVE checkpoint on another connection
 * needs no write lock, so it runs while the writer commits.
 *
 * A PASSIVE checkpoint cannot restart the log while the writer keeps appending to it: the log
 * starts over only when a write transaction begins with every frame already copied. So after
 * each run this thread reports the log's length, and once that is long the writer copies the few
 * frames committed during the run itself, between two batches (`Checkpoints.betweenBatches` in
 * sqlite/worker.ts): its next transaction then restarts the log.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

export interface CheckpointerOptions {
  file: string;
  /** Runs at most this often: a run copies each page once however often it was written since. */
  minIntervalMs: number;
  /** A log at least this long gets a second run at once, so that little is left for the writer. */
  restartFrames: number;
}

export type ToCheckpointer =
  /** The writer committed: checkpoint soon. */
  { type: 'wrote' } | { type: 'close' };

export type FromCheckpointer =
  /** After a run: the log's frames, how many are in the database file now, and busy = another checkpoint ran. */
  { type: 'ran'; log: number; checkpointed: number; busy: boolean } | { type: 'closed' };

export interface CheckpointResult {
  busy: number;
  log: number;
  checkpointed: number;
}

const port = parentPort;
if (!port) throw new Error('sqlite/checkpointer.ts must run in a worker thread');

const options = workerData as CheckpointerOptions;
const db = new Database(options.file);
// A checkpoint fsyncs the log before copying it and the database file after (FULL, as the writer).
db.pragma('synchronous = FULL');
db.pragma('wal_autocheckpoint = 0');
// Never wait for a lock: a checkpoint that finds one busy simply runs again at the next commit.
db.pragma('busy_timeout = 0');

let lastRun = 0;
let timer: NodeJS.Timeout | undefined;
const post = (message: FromCheckpointer): void => port.postMessage(message);

port.on('message', (message: ToCheckpointer) => {
  if (message.type === 'wrote') {
    if (timer !== undefined) return;
    const wait = lastRun + options.minIntervalMs - performance.now();
    timer = setTimeout(run, Math.max(0, wait));
  } else {
    clearTimeout(timer);
    db.close();
    post({ type: 'closed' });
    port.close();
  }
});

function checkpoint(): CheckpointResult {
  try {
    return (db.pragma('wal_checkpoint(PASSIVE)') as CheckpointResult[])[0]!;
  } catch {
    // SQLITE_BUSY (another checkpoint is running) or an I/O error: the next commit asks again.
    return { busy: 1, log: -1, checkpointed: -1 };
  }
}

function run(): void {
  timer = undefined;
  lastRun = performance.now();
  let result = checkpoint();
  // The first run copied what was there when it began; the writer committed more meanwhile.
  // A second, shorter run copies most of that, leaving the writer a short tail to finish.
  if (result.busy === 0 && result.log >= options.restartFrames) result = checkpoint();
  post({
    type: 'ran',
    log: result.log,
    checkpointed: result.checkpointed,
    busy: result.busy !== 0,
  });
}
