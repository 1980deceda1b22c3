/**
 * The SQLite store as seen from the main thread: every call is a message to the writer
 * (sqlite/writer.ts), answered after the batch holding it committed. The writer runs on a worker
 * thread, and then the event loop never waits on SQLite, not for queries, not for fsync, not for
 * WAL checkpoints; or (`writer: 'inline'`, sqlite/inline-writer.ts; the default on one core,
 * `defaultWriterPlace`) on the main thread, where the event loop runs the batches but still
 * never waits for an fsync or a checkpoint.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { LetterError, isErrorCode, type Message } from '@letter/protocol';
import type { AppendResult, HistoryPage, Store, StoreStats } from '../store.js';
import { InFlight } from '../../util/in-flight.js';
import { forgetPageJson, withMessageJson, withPageJson } from '../../util/message-json.js';
import {
  isHistoryJsonReply,
  storeMethods,
  type AppendReply,
  type HistoryJsonReply,
  type FromWorker,
  type Reply,
  type SerializedError,
  type ToWorker,
  type WorkerOptions,
} from './rpc.js';
import type { StoreMethod } from './sqlite-store.js';
import { distScript } from './dist-script.js';
import { WalSync, walFileSync, type SyncFn } from './wal-sync.js';
import { toWire, type WireCall } from './wire-calls.js';

export interface SqliteStoreHandle extends Store {
  stats(): StoreStats;
}

export interface SqliteStoreOptions {
  /** The database file; its directory is created when missing. */
  file: string;
  /** How long a batch waits for a write lock another process holds (default 5000 ms). */
  busyTimeoutMs?: number;
  /**
   * Under sustained load, how long a batch may wait for more requests before it commits
   * (default `DEFAULT_COMMIT_DELAY_MS`, 2 ms; 0 commits as soon as the previous commit is done). See sqlite/writer.ts.
   */
  commitDelayMs?: number;
  /** Where the WAL is fsynced (default `pipelined`; see sqlite/wal-sync.ts). */
  sync?: 'pipelined' | 'commit';
  /** Tests: replaces the `fdatasync` of the WAL in `pipelined` mode. */
  syncWal?: SyncFn;
  /** Where WAL checkpoints run (default `thread`; see sqlite/checkpointer.ts). */
  checkpoints?: 'thread' | 'inline';
  /**
   * Where the writer runs: a worker thread (`thread`), or the main thread (`inline`; see
   * sqlite/inline-writer.ts). Default: `defaultWriterPlace()`.
   */
  writer?: WriterPlace;
  /**
   * Caps the database file at this many pages (SQLite's max_page_count): past it, a batch fails
   * as on a full disk. Lets a test run out of space without filling a disk.
   */
  maxPageCount?: number;
  /**
   * How long the writer idles before the indexes catch up on rows below their batch sizes
   * (default 10 ms). Lets a test see the export index lag the search index.
   */
  indexIdleMs?: number;
}

/** The worker's script in the package's dist/ (see `distScript`). */
export function workerScriptUrl(from: string = import.meta.url): URL {
  return distScript('./worker.js', from);
}

export type WriterPlace = 'thread' | 'inline';

/**
 * Where the writer runs unless told: on a thread of its own when the process may use more than
 * one core (its batches then run beside the event loop), on the main thread when it may use one
 * (`cores` counts the CPU affinity, so `taskset` and cgroup cpusets, not a CPU quota such as
 * `docker --cpus`). On one core a thread adds no compute, only hand-offs between threads that
 * take turns on the core: there the main thread took 30,000-32,000 msg/s where the thread took
 * 16,000-24,000, for 13 % less CPU per message at 2,000 msg/s and the same at 5,000, where its
 * p99 was 1-10 ms higher: the writer's long steps then hold the event loop too
 * (docs/performance.md, round twenty-three). That p99 was measured before round twenty-four's GC
 * fix (util/in-flight.ts), which hit the main thread in both places; a second look on a noisy
 * machine settled nothing.
 */
export function defaultWriterPlace(cores: number = availableParallelism()): WriterPlace {
  return cores > 1 ? 'thread' : 'inline';
}

/** What the store needs of the writer's host: a Worker, or an InlineWriter acting as one. */
interface WriterHost {
  postMessage(message: ToWorker): void;
  on(event: 'message', listener: (message: FromWorker) => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
  on(event: 'exit', listener: (code: number) => void): this;
  off(event: 'message', listener: (message: FromWorker) => void): this;
  off(event: 'error', listener: (error: Error) => void): this;
  off(event: 'exit', listener: (code: number) => void): this;
  ref(): void;
  unref(): void;
  terminate(): Promise<number>;
}

/**
 * How to start the writer where `place` says. Starting it is synchronous, so the caller listens
 * before the writer can post `ready`.
 */
async function writerHost(place: WriterPlace): Promise<(data: WorkerOptions) => WriterHost> {
  if (place === 'inline') {
    // Only then does the main thread load better-sqlite3 (through the writer).
    const [{ startWriter }, { InlineWriter }] = await Promise.all([
      import('./writer.js'),
      import('./inline-writer.js'),
    ]);
    return (workerData) => new InlineWriter(startWriter, workerData);
  }
  const script = workerScriptUrl();
  if (!existsSync(script)) {
    throw new Error(`${fileURLToPath(script)} is missing: build the server first (npx tsc -b).`);
  }
  return (workerData) => new Worker(script, { workerData });
}

interface Pending {
  method: StoreMethod;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

export async function openSqliteStore(options: SqliteStoreOptions): Promise<SqliteStoreHandle> {
  if (options.file !== ':memory:') mkdirSync(dirname(options.file), { recursive: true });
  const place = options.writer ?? defaultWriterPlace();
  const startHost = await writerHost(place);
  const workerData: WorkerOptions = {
    file: options.file,
    busyTimeoutMs: options.busyTimeoutMs,
    commitDelayMs: options.commitDelayMs,
    sync: options.sync,
    checkpoints: options.checkpoints,
    maxPageCount: options.maxPageCount,
    indexIdleMs: options.indexIdleMs,
  };
  const worker = startHost(workerData);
  /** Not one Map for the store's life: util/in-flight.ts says why. */
  const pending = new InFlight<Pending>();
  let nextId = 1;
  let stats: StoreStats = { transactions: 0, requests: 0, writes: 0, maxBatch: 0 };
  /** Set once the store can take no more calls: closing, closed, or the worker died. */
  let unusable: Error | null = null;
  let closing: Promise<void> | null = null;
  let onClosed: (() => void) | null = null;
  /** Replies wait here for the WAL's fsync (sqlite/wal-sync.ts); null when commits sync it. */
  let walSync: WalSync<Reply[]> | null = null;
  let walFile: ReturnType<typeof walFileSync> | null = null;

  const fail = (error: Error): void => {
    unusable ??= error;
    for (const request of pending.values()) request.reject(error);
    pending.clear();
    onClosed?.();
  };

  await new Promise<void>((resolve, reject) => {
    const settle = (error: Error | null): void => {
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      if (error) reject(error);
      else resolve();
    };
    const onMessage = (message: FromWorker): void => {
      if (message.type !== 'ready') return;
      if (message.walFile !== null) {
        walFile = walFileSync(message.walFile);
        walSync = new WalSync(options.syncWal ?? walFile.sync);
      }
      settle(null);
    };
    const onError = (error: Error): void => settle(error);
    const onExit = (code: number): void =>
      settle(new Error(`the SQLite worker exited while starting (code ${code})`));
    worker.on('message', onMessage).on('error', onError).on('exit', onExit);
  });

  /** Answers a batch's calls; all fail with `unavailable` when the WAL could not be synced. */
  const answer = (replies: Reply[], syncError: Error | null): void => {
    for (const reply of replies) {
      const request = pending.take(reply.id);
      if (!request) continue;
      if (syncError) request.reject(unsynced(syncError));
      else if ('error' in reply) request.reject(rebuildError(reply.error));
      else if (request.method === 'appendMessage') {
        request.resolve(fromAppendReply(reply.value as AppendReply));
      } else if (request.method === 'history' && isHistoryJsonReply(reply.value)) {
        request.resolve(fromHistoryReply(reply.value));
      } else request.resolve(reply.value);
    }
    // Hold the process open only while answers are owed, so a forgotten close never hangs it.
    if (pending.size === 0) worker.unref();
  };

  worker.on('message', (message: FromWorker) => {
    if (message.type === 'replies') {
      stats = message.stats;
      const { replies, wrote } = message;
      if (walSync === null) answer(replies, null);
      else walSync.arrived({ wrote, batch: replies, settle: (error) => answer(replies, error) });
    } else if (message.type === 'closed') {
      stats = message.stats;
      onClosed?.();
    }
  });
  worker.on('error', (error) => fail(error));
  worker.on('exit', (code) => fail(new Error(`the SQLite worker exited (code ${code})`)));
  worker.unref();

  /**
   * Calls made in one turn of the event loop go to the worker as one message: a burst of sends
   * then costs one structured clone, one wake-up of the worker and one message event on each
   * side, not one per call. A turn, not a tick: each socket's data is a callback of its own,
   * with its own microtask checkpoint, so a microtask would post once per frame read.
   */
  let outgoing: WireCall[] = [];
  const post = (): void => {
    if (outgoing.length === 0) return;
    const sentAt = performance.timeOrigin + performance.now();
    const message: ToWorker = { type: 'calls', calls: outgoing, sentAt };
    outgoing = [];
    worker.postMessage(message);
  };

  const call = (method: StoreMethod, args: unknown[]): Promise<unknown> => {
    if (unusable) return Promise.reject(unusable);
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { method, resolve, reject });
      if (pending.size === 1) worker.ref();
      if (outgoing.length === 0) setImmediate(post);
      // On the main thread the writer takes the call as it is: nothing crosses.
      outgoing.push(place === 'thread' ? toWire({ id, method, args }) : { id, method, args });
    });
  };

  const close = (): Promise<void> => {
    closing ??= (async () => {
      if (unusable) return;
      unusable = new Error('The store is closed.');
      worker.ref();
      // The worker answers every call queued before `close`, then closes the database.
      const closed = new Promise<void>((resolve) => (onClosed = resolve));
      post();
      const message: ToWorker = { type: 'close' };
      worker.postMessage(message);
      await closed;
      await walSync?.idle();
      await walFile?.close();
      await worker.terminate();
    })();
    return closing;
  };

  const handle: Record<string, unknown> = { close, stats: () => ({ ...stats }) };
  for (const method of Object.keys(storeMethods) as StoreMethod[]) {
    handle[method] = (...args: unknown[]) => call(method, args);
  }
  return handle as unknown as SqliteStoreHandle;
}

/**
 * The worker sent the message as JSON: parsed once here, and the JSON kept for its frames. An
 * inline writer sent the object with it: nothing to parse.
 */
function fromAppendReply({ json, created, members, message: sent }: AppendReply): AppendResult {
  const message = withMessageJson(sent ?? (JSON.parse(json) as Message), json);
  return members === undefined ? { message, created } : { message, created, members };
}

/**
 * The worker sent the page as its answer's JSON (no attachments, see `toHistoryReply`): the route
 * sends that JSON as it is, so the messages are parsed only if some other caller reads them. A
 * caller that reads them may change them in place, and one may replace them: either way the JSON
 * is forgotten, so that it is never sent for messages it no longer describes.
 */
function fromHistoryReply({ pageJson, hasMore }: HistoryJsonReply): HistoryPage {
  const page = { hasMore } as HistoryPage;
  const settle = (messages: HistoryPage['messages']): HistoryPage['messages'] => {
    forgetPageJson(page);
    Object.defineProperty(page, 'messages', { value: messages, enumerable: true, writable: true });
    return messages;
  };
  Object.defineProperty(page, 'messages', {
    enumerable: true,
    configurable: true,
    get: () => settle((JSON.parse(pageJson) as HistoryPage).messages),
    set: settle,
  });
  return withPageJson(page, pageJson);
}

/** The WAL's fsync failed: nothing in the batch may count as saved. */
function unsynced(error: Error): LetterError {
  const code = (error as { code?: unknown }).code;
  return new LetterError(
    'unavailable',
    `The database could not be synced to disk (${typeof code === 'string' ? code : error.message}); nothing was saved.`,
  );
}

/** Errors cross the thread boundary as data; LetterErrors come back with their code. */
function rebuildError(error: SerializedError): Error {
  if (error.code !== undefined && isErrorCode(error.code)) {
    return new LetterError(error.code, error.message);
  }
  const rebuilt = new Error(error.message);
  if (error.stack !== undefined) rebuilt.stack = error.stack;
  return rebuilt;
}
