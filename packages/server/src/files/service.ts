/**
 * Uploads and downloads: the type from the bytes, images re-encoded (no EXIF/GPS, orientation
 * applied, a 320 px WebP thumbnail and a thumbhash), bytes in the blob store, metadata in the
 * store, signed URLs. The HTTP shapes are http/file-routes.ts's.
 *
 * Nothing is ever buffered whole except an image being re-encoded, and images are bounded by
 * the upload limit and by `limitInputPixels` (a decompression bomb is refused from its header).
 */
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { fileTypeStream, type ReadableStreamWithFileType } from 'file-type';
import sharp from 'sharp';
import { rgbaToThumbHash } from 'thumbhash';
import { LetterError, type Conversation, type Message } from '@letter/protocol';
import { filePath } from '../store/shared/attachments.js';
import {
  BLOB_DELETION_WAIT_MS,
  type FileRecord,
  type FileSelector,
  type RemovedFiles,
  type Store,
} from '../store/store.js';
import type { Clock } from '../util/clock.js';
import type { Ids } from '../util/ids.js';
import { BlobTooLargeError, type BlobRange, type BlobStore } from './blob-store.js';
import { safeFileName } from './names.js';
import type { UrlSigner } from './signed-urls.js';

/** The raster types served inline (after re-encoding); everything else is a download. */
export const INLINE_IMAGE_TYPES = new Set([
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'image/avif',
]);

/** Decoded pixels an image may have: 50 megapixels (a 30,000 × 30,000 PNG is refused). */
export const MAX_IMAGE_PIXELS = 50_000_000;
const THUMBNAIL_PX = 320;
/** An upload never attached to a message is deleted after this long. */
export const UNATTACHED_TTL_MS = 24 * 3600 * 1000;
const SWEEP_BATCH = 500;

export interface FileServiceOptions {
  store: Store;
  blobs: BlobStore;
  signer: UrlSigner;
  clock: Clock;
  ids: Ids;
  maxUploadBytes: number;
  userQuotaBytes: number;
}

/** Signed URLs in messages live this long (within the contract's 5 min – 24 h). */
export const ATTACHMENT_URL_TTL_SECONDS = 12 * 3600;

export class FileService {
  constructor(private readonly options: FileServiceOptions) {}

  get maxUploadBytes(): number {
    return this.options.maxUploadBytes;
  }

  /** Stores one upload; `bytes` is consumed. */
  async upload(userId: string, rawName: string | undefined, bytes: Readable): Promise<FileRecord> {
    const { store, blobs, maxUploadBytes, userQuotaBytes } = this.options;
    const used = await store.uploadedBytes(userId);
    if (used >= userQuotaBytes) throw quotaFull();
    const limited = bytes.pipe(byteLimit(maxUploadBytes));
    bytes.on('error', (error) => limited.destroy(error));
    let detected: ReadableStreamWithFileType;
    try {
      detected = await fileTypeStream(limited, { sampleSize: 4100 });
    } catch (error) {
      throw asUploadError(error);
    }
    const mime = detected.fileType?.mime ?? 'application/octet-stream';
    const file = {
      id: this.options.ids.next('f'),
      uploaderId: userId,
      name: safeFileName(rawName),
      createdAt: this.options.clock.now(),
    };
    try {
      const stored = INLINE_IMAGE_TYPES.has(mime)
        ? await this.storeImage(detected)
        : await this.storeBytes(detected, mime);
      const keys = blobKeys(stored);
      if (used + stored.size > userQuotaBytes) {
        await this.deleteOrphans(keys);
        throw quotaFull();
      }
      const record = await store.createFile({ ...file, ...stored });
      // A deletion of the same bytes that ended between the put and the row took the blob
      // with it (createFile refuses only while one is under way): then this upload did not
      // take, and its row goes before anyone learned its id.
      for (const key of keys) {
        if ((await blobs.size(key)) !== null) continue;
        await this.remove({ kind: 'file', id: record.id });
        throw new LetterError('unavailable', 'The upload was lost; send it again.');
      }
      return record;
    } catch (error) {
      throw asUploadError(error);
    }
  }

  private async storeBytes(bytes: Readable, mime: string) {
    const put = await this.options.blobs.put(bytes, { maxBytes: this.options.maxUploadBytes });
    const none = { width: null, height: null, thumbSha256: null, thumbhash: null };
    return { size: put.size, mime, sha256: put.key, ...none };
  }

  private async storeImage(bytes: Readable) {
    const { blobs } = this.options;
    // An image is at most maxUploadBytes (the limit above): read whole, then decoded.
    const chunks: Buffer[] = [];
    for await (const chunk of bytes) chunks.push(chunk as Buffer);
    const input = sharp(Buffer.concat(chunks), {
      limitInputPixels: MAX_IMAGE_PIXELS,
      failOn: 'error',
    });
    const { format } = await input.metadata();
    const outputFormat =
      format === 'jpeg' || format === 'png' || format === 'gif' ? format : 'webp';
    // rotate() applies the EXIF orientation; sharp writes no metadata unless asked to, so EXIF
    // and GPS are gone. Animated images keep their first frame.
    const { data, info } = await input
      .rotate()
      .toFormat(outputFormat)
      .toBuffer({ resolveWithObject: true });
    const thumbnail = await sharp(data)
      .resize(THUMBNAIL_PX, THUMBNAIL_PX, { fit: 'inside', withoutEnlargement: true })
      .webp()
      .toBuffer();
    const small = await sharp(data)
      .resize(100, 100, { fit: 'inside' })
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const thumbhash = Buffer.from(
      rgbaToThumbHash(small.info.width, small.info.height, small.data),
    ).toString('base64');
    const put = await blobs.put(data);
    const thumb = await blobs.put(thumbnail);
    return {
      size: put.size,
      mime: `image/${outputFormat}`,
      width: info.width,
      height: info.height,
      sha256: put.key,
      thumbSha256: thumb.key,
      thumbhash,
    };
  }

  /** The file if `userId` may read it (the store's rule), else null. */
  forViewer(fileId: string, userId: string): Promise<FileRecord | null> {
    return this.options.store.fileForViewer(fileId, userId);
  }

  blobSize(key: string): Promise<number | null> {
    return this.options.blobs.size(key);
  }

  /** The bytes of a file or its thumbnail; null when the blob is gone. */
  read(key: string, range?: BlobRange): Promise<Readable | null> {
    return this.options.blobs.get(key, range);
  }

  signQuery(fileId: string, userId: string, ttlSeconds = ATTACHMENT_URL_TTL_SECONDS): string {
    return this.options.signer.sign(fileId, userId, this.options.clock.now(), ttlSeconds);
  }

  verify(fileId: string, query: Record<string, unknown>) {
    return this.options.signer.verify(fileId, query, this.options.clock.now());
  }

  /**
   * The message as `viewerId` gets it: each attachment's URLs signed for them alone (the store's
   * messages carry the paths unsigned). The same object when it has no attachments, so a
   * text message keeps its one serialization (hub messageJson).
   */
  signMessage(message: Message, viewerId: string, ttlSeconds?: number): Message {
    if (message.attachments.length === 0) return message;
    return {
      ...message,
      attachments: message.attachments.map((file) => {
        const query = this.signQuery(file.id, viewerId, ttlSeconds);
        const url = filePath(file.id);
        return {
          ...file,
          url: `${url}?${query}`,
          ...(file.thumbnailUrl !== undefined && { thumbnailUrl: `${url}/thumbnail?${query}` }),
        };
      }),
    };
  }

  /**
   * `serialize(message)` for each viewer with the URLs signed for them, as `signMessage` gives
   * them, but serialized once: a random marker stands where each file's query goes, and each
   * viewer costs only its HMACs and a join (a message to a big group: ChatService).
   */
  signedJson(
    message: Message,
    serialize: (message: Message) => string,
  ): (viewerId: string) => string {
    const marker = randomBytes(12).toString('base64url');
    const at = (i: number) => `?${marker}${i}${marker}`;
    const template = serialize({
      ...message,
      attachments: message.attachments.map((file, i) => ({
        ...file,
        url: `${filePath(file.id)}${at(i)}`,
        ...(file.thumbnailUrl !== undefined && {
          thumbnailUrl: `${filePath(file.id)}/thumbnail${at(i)}`,
        }),
      })),
    });
    // Text, file index, text, file index, …, text.
    const parts = template.split(marker);
    return (viewerId) => {
      const queries = message.attachments.map((file) => this.signQuery(file.id, viewerId));
      let json = parts[0]!;
      for (let k = 1; k < parts.length; k += 2) json += queries[Number(parts[k])]! + parts[k + 1]!;
      return json;
    };
  }

  /** A conversation as `viewerId` gets it: its lastMessage's URLs signed for them. */
  signConversation(conversation: Conversation, viewerId: string): Conversation {
    const last = conversation.lastMessage;
    if (!last || last.attachments.length === 0) return conversation;
    return { ...conversation, lastMessage: this.signMessage(last, viewerId) };
  }

  /** Deletes the selected file rows, then the bytes no file names any more. */
  async remove(selector: FileSelector): Promise<RemovedFiles> {
    const removed = await this.options.store.removeFiles(selector);
    await this.deleteOrphans(removed.orphanedBlobs);
    return removed;
  }

  /**
   * Deletes the bytes of those blobs no file row names. The store checks and marks them in one
   * write, and refuses a new row naming a marked blob until the bytes are gone, so an upload of
   * the same bytes meanwhile never ends up with a row whose blob vanished (see `upload`).
   */
  private async deleteOrphans(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    const { store, blobs, clock } = this.options;
    const orphaned = await store.startBlobDeletions(keys, clock.now());
    try {
      for (const key of orphaned) await blobs.delete(key);
    } finally {
      await store.endBlobDeletions(orphaned);
    }
  }

  /**
   * Deletes uploads never attached within a day of their upload (the sweeper); how many. Then
   * finishes blob deletions a crash left half done (their bytes would otherwise stay forever).
   */
  async sweepUnattached(): Promise<number> {
    const { clock, store } = this.options;
    const before = clock.now() - UNATTACHED_TTL_MS;
    let total = 0;
    for (;;) {
      const { ids } = await this.remove({ kind: 'unattached', before, limit: SWEEP_BATCH });
      total += ids.length;
      if (ids.length < SWEEP_BATCH) break;
    }
    const stale = await store.staleBlobDeletions(clock.now() - BLOB_DELETION_WAIT_MS, SWEEP_BATCH);
    await this.deleteOrphans(stale);
    return total;
  }
}

function blobKeys(stored: { sha256: string; thumbSha256: string | null }): string[] {
  return stored.thumbSha256 === null ? [stored.sha256] : [stored.sha256, stored.thumbSha256];
}

function quotaFull(): LetterError {
  return new LetterError('payload_too_large', 'Your storage quota is full; delete some files.');
}

function asUploadError(error: unknown): unknown {
  if (error instanceof LetterError) return error;
  if (error instanceof BlobTooLargeError) return new LetterError('payload_too_large');
  const message = error instanceof Error ? error.message : '';
  if (/pixel limit/i.test(message))
    return new LetterError('payload_too_large', 'The image has too many pixels.');
  if ((error as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE')
    return new LetterError('payload_too_large');
  // sharp could not decode what file-type took for an image.
  if (/Input|VipsForeign|unsupported image|corrupt|premature/i.test(message))
    return new LetterError('unsupported_media_type', 'The image cannot be read.');
  return error;
}

/** Passes at most `max` bytes; one more fails the stream with BlobTooLargeError. */
function byteLimit(max: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > max) return done(new BlobTooLargeError(max));
      done(null, chunk);
    },
  });
}
