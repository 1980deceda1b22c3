/**
 * Where unsent messages wait, so they survive a reload or going offline. Implementations:
 * `memory.ts` (tests, Node), `indexeddb.ts` (browsers). Entries belong to a user: another account
 * signing in on the same browser never sends someone else's messages.
 *
 * Contract: `put` resolves once the entry is durable; `load` returns every entry of the user in
 * any order (the outbox sorts by `position`); `delete` of a missing entry is a no-op.
 */
import type { ErrorCode } from '@letter/protocol';
import type { UploadedFile } from '../uploads.js';

/** A file waiting with its message: the bytes until it is uploaded, then the server's id too. */
export interface OutboxFile {
  /** Stable key of this file within its entry (progress, React keys). */
  localId: string;
  name: string;
  size: number;
  mime: string;
  /** The bytes (IndexedDB keeps Blobs), kept until the message is acknowledged (previews). */
  blob: Blob;
  /** Set once `POST /api/files` took it. */
  uploaded: UploadedFile | null;
}

export interface OutboxEntry {
  userId: string;
  clientMsgId: string;
  conversationId: string;
  body: string;
  replyToSeq: number | null;
  /** Uploaded file ids sent with it (absent when none). */
  attachments?: string[];
  /** When it was composed (ISO), shown on the local echo. */
  createdAt: string;
  /** Composition order across the user's outbox: the replay order. */
  position: number;
  status: 'pending' | 'failed';
  /** The permanent error of a failed entry. */
  error: ErrorCode | null;
  /** Files to upload before the message is sent with their ids (in this order). */
  files?: OutboxFile[];
}

export interface OutboxStorage {
  load(userId: string): Promise<OutboxEntry[]>;
  put(entry: OutboxEntry): Promise<void>;
  delete(userId: string, clientMsgId: string): Promise<void>;
}
