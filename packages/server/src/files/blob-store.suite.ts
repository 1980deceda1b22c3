/**
 * The one conformance suite every blob store passes (disk.test.ts, s3.test.ts). `open` gives a
 * fresh, empty store; `leftovers` (when the implementation can tell) lists what is kept besides
 * whole blobs, to prove that a refused or failed upload kept nothing.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BlobTooLargeError, type BlobStore } from './blob-store.js';

export interface BlobStoreHarness {
  open(): Promise<BlobStore>;
  /** Every object or file the store holds, whole or not. */
  listAll(): Promise<string[]>;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** A stream of `size` bytes in 64 KiB chunks, made lazily (never all in memory). */
function lazyBytes(size: number, fill = 7): Readable {
  let left = size;
  return new Readable({
    read() {
      if (left <= 0) return void this.push(null);
      const n = Math.min(left, 65536);
      left -= n;
      this.push(Buffer.alloc(n, fill));
    },
  });
}

export function describeBlobStore(name: string, harness: () => BlobStoreHarness): void {
  describe(`blob store: ${name}`, () => {
    let h: BlobStoreHarness;
    let store: BlobStore;
    beforeEach(async () => {
      h = harness();
      store = await h.open();
    });
    afterEach(async () => {
      await store.close();
    });

    it('stores bytes under their SHA-256 and reads them back', async () => {
      const bytes = Buffer.from('hello, letter');
      const put = await store.put(bytes);
      expect(put).toEqual({ key: sha256(bytes), size: bytes.length });
      expect(await store.size(put.key)).toBe(bytes.length);
      expect(await readAll((await store.get(put.key))!)).toEqual(bytes);
    });

    it('streams a large upload and stores it whole', async () => {
      const size = 3 * 1024 * 1024 + 17;
      const put = await store.put(lazyBytes(size));
      expect(put.size).toBe(size);
      expect(put.key).toBe(sha256(Buffer.alloc(size, 7)));
      expect(await store.size(put.key)).toBe(size);
    });

    it('stores the same bytes once', async () => {
      const a = await store.put(Buffer.from('same'));
      const b = await store.put(Readable.from([Buffer.from('sa'), Buffer.from('me')]));
      expect(b.key).toBe(a.key);
      expect((await h.listAll()).length).toBe(1);
    });

    it('reads an inclusive byte range', async () => {
      const put = await store.put(Buffer.from('0123456789'));
      const part = await readAll((await store.get(put.key, { start: 2, end: 5 }))!);
      expect(part.toString()).toBe('2345');
    });

    it('answers null for an unknown key and refuses keys that are not hashes', async () => {
      expect(await store.get('0'.repeat(64))).toBeNull();
      expect(await store.size('0'.repeat(64))).toBeNull();
      expect(await store.get('../../etc/passwd')).toBeNull();
      expect(await store.size('..')).toBeNull();
      await store.delete('../x');
    });

    it('deletes a blob, and deleting an unknown one is not an error', async () => {
      const put = await store.put(Buffer.from('gone soon'));
      await store.delete(put.key);
      expect(await store.get(put.key)).toBeNull();
      expect(await store.size(put.key)).toBeNull();
      await store.delete(put.key);
      expect(await h.listAll()).toEqual([]);
    });

    it('refuses a stream over maxBytes and keeps nothing', async () => {
      await expect(store.put(lazyBytes(200_000), { maxBytes: 100_000 })).rejects.toBeInstanceOf(
        BlobTooLargeError,
      );
      expect(await h.listAll()).toEqual([]);
      // Exactly at the limit is allowed.
      const put = await store.put(lazyBytes(100_000), { maxBytes: 100_000 });
      expect(put.size).toBe(100_000);
    });

    it('keeps nothing when the stream fails half way', async () => {
      let sent = 0;
      const failing = new Readable({
        read() {
          if (sent++ < 3) this.push(Buffer.alloc(65536, 1));
          else this.destroy(new Error('connection cut'));
        },
      });
      await expect(store.put(failing)).rejects.toThrow('connection cut');
      expect(await h.listAll()).toEqual([]);
    });

    it('takes 20 concurrent uploads', async () => {
      const bodies = Array.from({ length: 20 }, (_, i) => Buffer.alloc(50_000 + i, i));
      const puts = await Promise.all(bodies.map((body) => store.put(body)));
      for (const [i, put] of puts.entries()) {
        expect(put.key).toBe(sha256(bodies[i]!));
        expect(await readAll((await store.get(put.key))!)).toEqual(bodies[i]);
      }
      expect((await h.listAll()).length).toBe(20);
    });
  });
}
