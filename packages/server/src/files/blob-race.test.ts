/**
 * Blob deletion against an upload of the same bytes (blobs are content-addressed: two files
 * with the same bytes share one blob), and the blob of an upload refused for quota. The
 * invariant: every file row's blobs exist. Runs on the run's engine (LETTER_TEST_ENGINE).
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LetterError } from '@letter/protocol';
import { openTestStore, tempDir, type TestStore } from '../testing/harness.js';
import { systemClock } from '../util/clock.js';
import { timeOrderedIds } from '../util/ids.js';
import type { BlobStore } from './blob-store.js';
import { openDiskBlobStore } from './disk.js';
import { FileService } from './service.js';
import { UrlSigner } from './signed-urls.js';

/** A promise with its resolve, to hold one step of a blob store until the test lets it go. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

describe('blob deletion and uploads of the same bytes', () => {
  let test: TestStore;
  let disk: BlobStore;
  /** Set by a test: awaited inside delete (after the store's check) or after put. */
  let holdDelete: Promise<void> | null = null;
  let holdAfterPut: Promise<void> | null = null;
  let deleting: () => void = () => {};
  let put: () => void = () => {};
  let files: FileService;
  let userId: string;

  const bytes = Buffer.from('the same bytes, uploaded twice\n');
  const upload = (name: string) => files.upload(userId, name, Readable.from([bytes]));

  /** Every file row still readable has its blob: the invariant. */
  async function expectEveryRowHasItsBlob(ids: string[]) {
    for (const id of ids) {
      const file = await test.store.getFile(id);
      if (file) expect(await disk.size(file.sha256), `blob of ${id}`).toBe(bytes.length);
    }
  }

  beforeEach(async () => {
    test = await openTestStore();
    const real = await openDiskBlobStore(tempDir('letter-blobs-'));
    disk = real;
    const held: BlobStore = {
      put: async (input, options) => {
        const result = await real.put(input, options);
        put();
        if (holdAfterPut) await holdAfterPut;
        return result;
      },
      get: (key, range) => real.get(key, range),
      size: (key) => real.size(key),
      delete: async (key) => {
        deleting();
        if (holdDelete) await holdDelete;
        return real.delete(key);
      },
      close: () => real.close(),
    };
    const ids = timeOrderedIds();
    userId = ids.next('u');
    await test.store.createUser({
      id: userId,
      username: `race${Math.random().toString(36).slice(2, 8)}`,
      displayName: 'Race',
      passwordHash: 'x',
      createdAt: Date.now(),
    });
    files = new FileService({
      store: test.store,
      blobs: held,
      signer: new UrlSigner(Buffer.alloc(32, 1)),
      clock: systemClock,
      ids,
      maxUploadBytes: 1024 * 1024,
      userQuotaBytes: 1024,
    });
  });
  afterEach(async () => {
    holdDelete = holdAfterPut = null;
    deleting = put = () => {};
    await test.cleanup();
  });

  it('refuses an upload of the bytes while their blob is being deleted', async () => {
    const first = await upload('a.txt');
    const held = gate();
    const reached = gate();
    holdDelete = held.opened;
    deleting = reached.open;
    const removal = files.remove({ kind: 'file', id: first.id });
    await reached.opened; // the store found the blob orphaned; its bytes are about to go
    const second = await upload('b.txt').then(
      (file) => file,
      (error: unknown) => error,
    );
    held.open();
    await removal;
    expect(second).toBeInstanceOf(LetterError);
    expect((second as LetterError).code).toBe('unavailable');
    // Once the deletion is over, the same bytes upload again, and their blob is there.
    holdDelete = null;
    const third = await upload('c.txt');
    await expectEveryRowHasItsBlob([first.id, third.id]);
    expect(await disk.size(third.sha256)).toBe(bytes.length);
  });

  it('drops an upload whose blob was deleted between its put and its row', async () => {
    const first = await upload('a.txt');
    const held = gate();
    const stored = gate();
    holdAfterPut = held.opened;
    put = stored.open;
    const racing = upload('b.txt').then(
      (file) => file,
      (error: unknown) => error,
    );
    await stored.opened; // the bytes are written (the same blob), no row yet
    holdAfterPut = null;
    put = () => {};
    await files.remove({ kind: 'file', id: first.id }); // deletes the blob completely
    held.open();
    const second = await racing;
    expect(second).toBeInstanceOf(LetterError);
    expect((second as LetterError).code).toBe('unavailable');
    expect(await test.store.uploadedBytes(userId)).toBe(0); // its row went with it
  });

  it('deletes the blob of an upload refused for quota, unless another file names it', async () => {
    const big = Buffer.alloc(2000, 7);
    const refused = await files.upload(userId, 'big.bin', Readable.from([big])).then(
      () => null,
      (error: unknown) => error,
    );
    expect((refused as LetterError).code).toBe('payload_too_large');
    const key = createHash('sha256').update(big).digest('hex');
    expect(await disk.size(key)).toBeNull();

    // Same bytes as a kept file: the refused upload must not take that file's blob.
    const kept = await upload('kept.txt');
    await files.remove({ kind: 'file', id: kept.id });
    const again = await upload('kept.txt');
    // 31 + 990 bytes of the 1024 quota: the same 31 bytes again no longer fit.
    await files.upload(userId, 'more.txt', Readable.from([Buffer.alloc(990, 1)]));
    // Quota full now: the same bytes again are refused, and the kept file's blob stays.
    const refusedSame = await upload('dup.txt').catch((error: unknown) => error);
    expect((refusedSame as LetterError).code).toBe('payload_too_large');
    await expectEveryRowHasItsBlob([again.id]);
    expect(await disk.size(again.sha256)).toBe(bytes.length);
  });

  it('the sweeper finishes a blob deletion whose deleter died', async () => {
    const { key } = await disk.put(bytes);
    // A deletion started 11 minutes ago and never ended (the process was killed mid-way).
    const started = Date.now() - 11 * 60 * 1000;
    expect(await test.store.startBlobDeletions([key], started)).toEqual([key]);
    await files.sweepUnattached();
    expect(await disk.size(key)).toBeNull();
    expect(await test.store.staleBlobDeletions(Date.now(), 10)).toEqual([]);
    // And uploads of those bytes are taken again.
    const file = await upload('again.txt');
    expect(await disk.size(file.sha256)).toBe(bytes.length);
  });
});
