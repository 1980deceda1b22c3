/**
 * The messages between sqlite/worker-store.ts (main thread) and sqlite/writer.ts. Kept free of
 * better-sqlite3 so the main thread never loads the native module.
 */
import type { Message } from '@letter/protocol';
import type { AppendResult, HistoryPage, StoreStats } from '../store.js';
import type { StoreMethod } from '../shared/store-methods.js';
import type { WireCall } from './wire-calls.js';

export { isReadOnly, isStoreMethod, storeMethods } from '../shared/store-methods.js';

/** How long a batch may wait for company by default (LETTER_SQLITE_COMMIT_DELAY_MS). */
export const DEFAULT_COMMIT_DELAY_MS = 2;

export interface WorkerOptions {
  file: string;
  busyTimeoutMs?: number | undefined;
  /** Longest a batch may wait for company under sustained load (see sqlite/writer.ts). */
  commitDelayMs?: number | undefined;
  /**
   * `pipelined` (default): commits with synchronous=NORMAL and the main thread fsyncs the WAL
   * before releasing replies (sqlite/wal-sync.ts); `commit`: synchronous=FULL, the fsync inside
   * COMMIT on the worker's thread.
   */
  sync?: 'pipelined' | 'commit' | undefined;
  /** Where WAL checkpoints run: on a thread of their own (default), or inline, in commits. */
  checkpoints?: 'thread' | 'inline' | undefined;
  /** Caps the database at this many pages: past it, writes fail as on a full disk (tests). */
  maxPageCount?: number | undefined;
  /** See SqliteStoreOptions.indexIdleMs. */
  indexIdleMs?: number | undefined;
  /** Set by sqlite/inline-writer.ts: the writer shares the main thread (see AppendReply). */
  inline?: boolean | undefined;
}

export interface Call {
  id: number;
  method: StoreMethod;
  args: unknown[];
}

export type ToWorker =
  /**
   * Every call made in one turn of the main thread's event loop, posted as one message. `sentAt`:
   * performance.timeOrigin + performance.now() when posted (comparable across threads). To a
   * worker thread, plain appends cross as strings (sqlite/wire-calls.ts).
   */
  | { type: 'calls'; calls: WireCall[]; sentAt: number }
  /** Answer everything queued before this, close the database, then answer `closed`. */
  | { type: 'close' };

export interface SerializedError {
  /** A LetterError code, or undefined for anything else (a bug, an I/O error). */
  code?: string;
  message: string;
  stack?: string;
}

export type Reply = { id: number; value: unknown } | { id: number; error: SerializedError };

/**
 * How an appendMessage answer crosses the thread boundary: the message as its JSON, made once in
 * the worker (and reused for the frames that carry it), not an object graph to clone. A writer
 * on the main thread (`inline`) hands over the message object too, so nobody parses the JSON
 * back: the object is new for this answer and the writer keeps no reference to it.
 */
export type AppendReply = Omit<AppendResult, 'message'> & { json: string; message?: Message };

/**
 * Every other field of the result crosses as it is. The reply is the rest object with fields
 * set on it, not `{ ...rest, json }`: in V8 (Node 20) an object spread followed by more
 * properties gets a hidden class of its own every time, slower to make and to clone
 * (docs/performance.md, "Round thirteen").
 */
export function toAppendReply({ message, ...rest }: AppendResult, inline = false): AppendReply {
  const reply = rest as AppendReply;
  reply.json = JSON.stringify(message);
  if (inline) reply.message = message;
  return reply;
}

/**
 * How a history page crosses the thread boundary when none of its messages carries an attachment:
 * as the JSON of the route's whole answer, `{"messages":[…],"hasMore":…}`, made once in the
 * worker. It is then the same for every viewer (nothing to sign), so the route sends it as it is
 * (`pageJson`, util/message-json.ts), and nobody clones 50 message objects or serializes them
 * again. A page with attachments, or null, crosses as it is.
 */
export interface HistoryJsonReply {
  pageJson: string;
  hasMore: boolean;
}

export function toHistoryReply(page: HistoryPage | null): HistoryPage | HistoryJsonReply | null {
  if (page === null || page.messages.some((m) => m.attachments.length > 0)) return page;
  // The route's answer (http/conversation-routes.ts), key order included.
  const pageJson = JSON.stringify({ messages: page.messages, hasMore: page.hasMore });
  return { pageJson, hasMore: page.hasMore };
}

export function isHistoryJsonReply(value: unknown): value is HistoryJsonReply {
  return typeof (value as Partial<HistoryJsonReply> | null)?.pageJson === 'string';
}

export type FromWorker =
  /** `walFile`: the WAL the main thread must fsync before releasing a write's replies, or null. */
  | { type: 'ready'; walFile: string | null }
  /** One message per committed batch, sent after COMMIT returned; `wrote`: a write transaction. */
  | { type: 'replies'; replies: Reply[]; wrote: boolean; stats: StoreStats }
  | { type: 'closed'; stats: StoreStats };
