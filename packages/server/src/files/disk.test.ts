import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeBlobStore } from './blob-store.suite.js';
import { openDiskBlobStore } from './disk.js';

/** Every file under `dir`, temporary ones included. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)));
}

describeBlobStore('disk', () => {
  const dir = mkdtempSync(join(tmpdir(), 'letter-blobs-'));
  return { open: () => openDiskBlobStore(dir), listAll: async () => filesUnder(dir) };
});

describe('disk blob store', () => {
  it('clears the temporary files a crash left behind when it opens', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'letter-blobs-'));
    await mkdir(join(dir, 'tmp'), { recursive: true });
    writeFileSync(join(dir, 'tmp', 'half-an-upload'), 'half');
    const store = await openDiskBlobStore(dir);
    expect(filesUnder(dir)).toEqual([]);
    await store.close();
  });
});
