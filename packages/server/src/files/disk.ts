/**
 * The default blob store: files under `<dataDir>/files/<ab>/<sha256>`. Each upload is written
 * to a temporary file in `<dir>/tmp`, hashed on the way, fsynced, and only then renamed to its
 * key (and the directory fsynced), so a crash never leaves a half file under a key: at worst a
 * temporary file, which `open` clears at the next start.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  isBlobKey,
  spoolHashed,
  type BlobRange,
  type BlobStore,
  type PutResult,
} from './blob-store.js';

export async function openDiskBlobStore(dir: string): Promise<BlobStore> {
  const tmp = join(dir, 'tmp');
  await mkdir(tmp, { recursive: true, mode: 0o700 });
  // Leftovers of uploads that a crash cut short: never visible under a key, safe to drop.
  for (const name of await readdir(tmp)) await rm(join(tmp, name), { force: true });
  return new DiskBlobStore(dir, tmp);
}

class DiskBlobStore implements BlobStore {
  constructor(
    private readonly dir: string,
    private readonly tmp: string,
  ) {}

  private path(key: string): string {
    return join(this.dir, key.slice(0, 2), key);
  }

  async put(bytes: Readable | Uint8Array, options: { maxBytes?: number } = {}): Promise<PutResult> {
    const tmpPath = join(this.tmp, randomBytes(12).toString('hex'));
    const handle = await open(tmpPath, 'wx', 0o600);
    let kept = false;
    try {
      const { key, size } = await spoolHashed(bytes, handle, options.maxBytes);
      await handle.sync();
      await handle.close();
      const target = this.path(key);
      await mkdir(join(this.dir, key.slice(0, 2)), { recursive: true, mode: 0o700 });
      await rename(tmpPath, target);
      kept = true;
      await syncDir(join(this.dir, key.slice(0, 2)));
      return { key, size };
    } finally {
      if (!kept) {
        await handle.close().catch(() => undefined);
        await unlink(tmpPath).catch(() => undefined);
      }
    }
  }

  async get(key: string, range?: BlobRange): Promise<Readable | null> {
    if (!isBlobKey(key)) return null;
    const path = this.path(key);
    try {
      await stat(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    return createReadStream(path, range ? { start: range.start, end: range.end } : {});
  }

  async size(key: string): Promise<number | null> {
    if (!isBlobKey(key)) return null;
    try {
      return (await stat(this.path(key))).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    if (!isBlobKey(key)) return;
    await rm(this.path(key), { force: true });
  }

  async close(): Promise<void> {}
}

async function syncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
