/**
 * The blob store on any S3-compatible service, for several nodes sharing one set of files.
 * An upload is spooled to a local temporary file while it is hashed and measured (never held
 * in memory), then sent with one PutObject under its key: S3 makes an object visible only once
 * all of it arrived, so a crash never leaves a half blob under a key.
 *
 * Configured by one URL: `http(s)://ACCESS_KEY:SECRET@host[:port]/bucket[?region=…]`
 * (path-style addressing, which every S3-compatible service accepts).
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  isBlobKey,
  spoolHashed,
  type BlobRange,
  type BlobStore,
  type PutResult,
} from './blob-store.js';

export interface S3Location {
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export function parseS3Url(url: string): S3Location {
  const parsed = new URL(url);
  const bucket = parsed.pathname.replace(/^\/+|\/+$/g, '');
  if (!/^https?:$/.test(parsed.protocol) || !bucket || bucket.includes('/')) {
    throw new Error('an S3 URL is http(s)://ACCESS_KEY:SECRET@host[:port]/bucket');
  }
  return {
    endpoint: `${parsed.protocol}//${parsed.host}`,
    bucket,
    region: parsed.searchParams.get('region') ?? 'us-east-1',
    accessKeyId: decodeURIComponent(parsed.username),
    secretAccessKey: decodeURIComponent(parsed.password),
  };
}

export async function openS3BlobStore(
  location: S3Location,
  options: { prefix?: string; spoolDir?: string } = {},
): Promise<BlobStore> {
  const client = new S3Client({
    endpoint: location.endpoint,
    region: location.region,
    forcePathStyle: true,
    // Checksums only where S3 requires them: the default (aws-chunked bodies with a CRC
    // trailer) is not understood by every S3-compatible service, which then stores the framing.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    credentials: {
      accessKeyId: location.accessKeyId,
      secretAccessKey: location.secretAccessKey,
    },
  });
  const spool = await mkdtemp(join(options.spoolDir ?? tmpdir(), 'letter-s3-'));
  return new S3BlobStore(client, location.bucket, options.prefix ?? '', spool);
}

class S3BlobStore implements BlobStore {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly prefix: string,
    private readonly spool: string,
  ) {}

  private objectKey(key: string): string {
    return `${this.prefix}${key}`;
  }

  async put(bytes: Readable | Uint8Array, options: { maxBytes?: number } = {}): Promise<PutResult> {
    const spoolPath = join(this.spool, randomBytes(12).toString('hex'));
    try {
      const handle = await open(spoolPath, 'wx', 0o600);
      let put: PutResult;
      try {
        put = await spoolHashed(bytes, handle, options.maxBytes);
      } finally {
        await handle.close();
      }
      const { key, size } = put;
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.objectKey(key),
          Body: createReadStream(spoolPath),
          ContentLength: size,
        }),
      );
      return { key, size };
    } finally {
      await rm(spoolPath, { force: true });
    }
  }

  async get(key: string, range?: BlobRange): Promise<Readable | null> {
    if (!isBlobKey(key)) return null;
    try {
      const answer = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.objectKey(key),
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
        }),
      );
      return answer.Body as Readable;
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async size(key: string): Promise<number | null> {
    if (!isBlobKey(key)) return null;
    try {
      const head = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }),
      );
      return head.ContentLength ?? null;
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    if (!isBlobKey(key)) return;
    await this.client.send(
      new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }),
    );
  }

  async close(): Promise<void> {
    this.client.destroy();
    await rm(this.spool, { recursive: true, force: true });
  }
}

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
}
