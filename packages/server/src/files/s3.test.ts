/**
 * The S3 blob store against s3rver (a local S3-compatible server started here), or against a
 * real endpoint when LETTER_TEST_S3_URL is set (each run under its own key prefix).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeBlobStore } from './blob-store.suite.js';
import { openS3BlobStore, parseS3Url, type S3Location } from './s3.js';

let location: S3Location;
let server: S3rver | undefined;

beforeAll(async () => {
  const url = process.env.LETTER_TEST_S3_URL;
  if (url) {
    location = parseS3Url(url);
    return;
  }
  server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: mkdtempSync(join(tmpdir(), 'letter-s3rver-')),
    configureBuckets: [{ name: 'letter' }],
  });
  const address = (await server.run()) as AddressInfo;
  location = parseS3Url(`http://S3RVER:S3RVER@127.0.0.1:${address.port}/letter`);
});

afterAll(async () => {
  await server?.close();
});

describeBlobStore('s3', () => {
  const prefix = `test-${randomBytes(6).toString('hex')}/`;
  return {
    open: () => openS3BlobStore(location, { prefix }),
    async listAll() {
      const client = new S3Client({
        endpoint: location.endpoint,
        region: location.region,
        forcePathStyle: true,
        credentials: location,
      });
      const listed = await client.send(
        new ListObjectsV2Command({ Bucket: location.bucket, Prefix: prefix }),
      );
      client.destroy();
      return (listed.Contents ?? []).map((object) => object.Key!);
    },
  };
});

describe('S3 URL', () => {
  it('parses keys, host, bucket and region, and refuses a URL without a bucket', () => {
    expect(parseS3Url('https://AK:s%2Fk@s3.example.org/files?region=eu-west-1')).toEqual({
      endpoint: 'https://s3.example.org',
      bucket: 'files',
      region: 'eu-west-1',
      accessKeyId: 'AK',
      secretAccessKey: 's/k',
    });
    expect(() => parseS3Url('https://s3.example.org/')).toThrow();
  });
});
