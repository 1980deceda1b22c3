/**
 * The blob store: where the bytes of uploaded files live. Blobs are content-addressed (the key
 * is the SHA-256 of the bytes, lower-case hex), so the same bytes are stored once and a key
 * always names exactly one content. The metadata (who uploaded what, where it is attached) lives
 * in the store; this seam knows only bytes.
 *
 * Implementations (`disk.ts`, `s3.ts`) are picked only in node.ts and all pass
 * `blob-store.suite.ts`.
 *
 * Contract for every implementation:
 * - `put` consumes the stream, hashes it and makes the blob visible under its key only once all
 *   its bytes are durable: a crash or an error at any point leaves either no blob or the whole
 *   one, never a half file under the key. When the stream errors (a cut upload, a size limit),
 *   `put` rejects and nothing is kept.
 * - `maxBytes` stops a stream longer than that with `BlobTooLargeError`, nothing kept.
 * - `get` returns null for an unknown key; `range` is inclusive, like HTTP's.
 * - `delete` of an unknown key is not an error.
 */
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';

export interface PutResult {
  /** SHA-256 of the bytes, lower-case hex: the blob's key. */
  key: string;
  size: number;
}

export interface BlobRange {
  start: number;
  /** Inclusive. */
  end: number;
}

export interface BlobStore {
  put(bytes: Readable | Uint8Array, options?: { maxBytes?: number }): Promise<PutResult>;
  get(key: string, range?: BlobRange): Promise<Readable | null>;
  /** The blob's size, or null when there is none. */
  size(key: string): Promise<number | null>;
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}

/** Thrown by `put` when the stream is longer than `maxBytes`; nothing was kept. */
export class BlobTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`blob over ${maxBytes} bytes`);
    this.name = 'BlobTooLargeError';
  }
}

const KEY = /^[0-9a-f]{64}$/;

/** Keys come from our own hashing; anything else (a path, `..`) is refused before any I/O. */
export function isBlobKey(key: string): boolean {
  return KEY.test(key);
}

/**
 * Writes `bytes` to `handle`, hashing and counting them on the way (both implementations spool
 * an upload to a local file first). More than `max` bytes destroy the source and fail with
 * BlobTooLargeError; the caller removes the file.
 */
export async function spoolHashed(
  bytes: Readable | Uint8Array,
  handle: FileHandle,
  max = Infinity,
): Promise<PutResult> {
  const source = bytes instanceof Uint8Array ? Readable.from([bytes]) : bytes;
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of source) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buffer.length;
    if (size > max) {
      source.destroy();
      throw new BlobTooLargeError(max);
    }
    hash.update(buffer);
    await handle.write(buffer);
  }
  return { key: hash.digest('hex'), size };
}
