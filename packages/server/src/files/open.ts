/** Picks the blob store: S3 when LETTER_S3_URL is set, else files under the data dir. */
import { join } from 'node:path';
import type { Config } from '../config.js';
import type { BlobStore } from './blob-store.js';
import { openDiskBlobStore } from './disk.js';

export async function openBlobStore(config: Pick<Config, 'dataDir' | 's3Url'>): Promise<BlobStore> {
  if (config.s3Url) {
    // Imported only when configured: the AWS SDK costs ~0.1 s of CPU to load at start-up.
    const { openS3BlobStore, parseS3Url } = await import('./s3.js');
    return openS3BlobStore(parseS3Url(config.s3Url));
  }
  return openDiskBlobStore(join(config.dataDir, 'files'));
}
