/**
 * Files (contract "Files"): POST /api/files streams one multipart part into the blob store;
 * GET /api/files/:id[/thumbnail] serves the bytes to the uploader and to members who may see
 * the message it is attached to, by bearer token or signed URL, 404 to anyone else.
 */
import { once } from 'node:events';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LetterError } from '@letter/protocol';
import { INLINE_IMAGE_TYPES, type FileService } from '../files/service.js';
import { contentDisposition } from '../files/names.js';
import { storedAttachment } from '../store/shared/attachments.js';
import type { FileRecord } from '../store/store.js';
import { authenticate, limit, type RouteContext } from './context.js';

/** What every download carries: nothing in it may run in Letter's origin. */
const DOWNLOAD_CSP = "sandbox; default-src 'none'";
const YEAR_SECONDS = 365 * 24 * 3600;
/**
 * What a multipart body adds around its one file (boundaries, the part's headers with its file
 * name): a declared Content-Length may exceed the file limit by this much, so a file of exactly
 * the limit is taken; the part itself is then held to the limit byte for byte.
 */
const MULTIPART_SLACK_BYTES = 16 * 1024;

export function fileRoutes(app: FastifyInstance, context: RouteContext, files: FileService): void {
  app.post('/api/files', { onResponse: discardUnreadBody }, async (request, reply) => {
    const { userId } = await authenticate(context, request);
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > files.maxUploadBytes + MULTIPART_SLACK_BYTES) {
      // Refused before a byte of the body is read; the connection goes with it.
      reply.header('connection', 'close');
      throw new LetterError(
        'payload_too_large',
        `Files are at most ${files.maxUploadBytes} bytes.`,
      );
    }
    limit(context.limiters.uploadByUser, `user:${userId}`);
    if (!request.isMultipart())
      throw new LetterError('bad_request', 'Send multipart/form-data with one part "file".');
    const part = await request.file({
      // One byte over the limit reaches the service, which then refuses the upload whole
      // (busboy would otherwise cut the file at the limit and call it complete).
      limits: { fileSize: files.maxUploadBytes + 1, files: 1, fields: 0, parts: 1 },
      throwFileSizeLimit: true,
    });
    if (!part || part.fieldname !== 'file') {
      part?.file.resume();
      throw new LetterError('bad_request', 'Send multipart/form-data with one part "file".');
    }
    let file: FileRecord;
    try {
      file = await files.upload(userId, part.filename, part.file);
    } catch (error) {
      // The rest of a refused body is not read (discardUnreadBody): the connection goes.
      reply.header('connection', 'close');
      throw error;
    }
    // The closing boundary may still be unread: read the body to its end before answering, or
    // the answer leaves a request half open (and a graceful stop waiting for it).
    if (!request.raw.readableEnded) {
      request.raw.resume();
      await once(request.raw, 'end');
    }
    return reply.code(201).send({ file: uploadView(file) });
  });

  app.get('/api/files/:id', (request, reply) => serve(request, reply, 'file'));
  app.get('/api/files/:id/thumbnail', (request, reply) => serve(request, reply, 'thumbnail'));

  async function serve(
    request: FastifyRequest,
    reply: FastifyReply,
    variant: 'file' | 'thumbnail',
  ) {
    const { id } = request.params as { id: string };
    reply.header('x-content-type-options', 'nosniff');
    reply.header('content-security-policy', DOWNLOAD_CSP);
    const grant = files.verify(id, request.query as Record<string, unknown>);
    if (grant === 'invalid') throw new LetterError('forbidden', 'The link is invalid or expired.');
    const viewerId = grant ? grant.userId : (await authenticate(context, request)).userId;
    const file = await files.forViewer(id, viewerId);
    const key = variant === 'file' ? file?.sha256 : file?.thumbSha256;
    if (!file || !key) throw new LetterError('not_found');
    const size = variant === 'file' ? file.size : await files.blobSize(key);
    if (size === null) throw new LetterError('not_found');
    const mime = variant === 'file' ? file.mime : 'image/webp';
    const range = parseRange(request.headers.range, size);
    const body = await files.read(key, range ?? undefined);
    if (!body) throw new LetterError('not_found');

    const maxAge = grant
      ? Math.max(0, grant.expiresAt - Math.floor(context.clock.now() / 1000))
      : YEAR_SECONDS;
    reply.header('cache-control', `private, max-age=${maxAge}, immutable`);
    reply.header('accept-ranges', 'bytes');
    reply.header(
      'content-disposition',
      contentDisposition(INLINE_IMAGE_TYPES.has(mime) ? 'inline' : 'attachment', file.name),
    );
    reply.type(mime);
    if (range) {
      reply.code(206);
      reply.header('content-range', `bytes ${range.start}-${range.end}/${size}`);
      reply.header('content-length', String(range.end - range.start + 1));
    } else {
      reply.header('content-length', String(size));
    }
    return reply.send(body);
  }
}

/**
 * After a refused upload the rest of its body is unread and the client may still be sending it:
 * read and drop it for a moment so the client sees the answer, then cut the connection (it was
 * answered with `connection: close`), so neither a slow client nor a graceful stop waits on it.
 */
async function discardUnreadBody(request: FastifyRequest): Promise<void> {
  const raw = request.raw;
  if (raw.readableEnded) return;
  raw.resume();
  setTimeout(() => raw.socket?.destroy(), DISCARD_MS).unref();
}
const DISCARD_MS = 1000;

/** The upload's answer (contract: `{file:{id, name, size, mime, width?, height?}}`). */
function uploadView(file: FileRecord) {
  const { thumb: _thumb, ...view } = storedAttachment(file);
  return view;
}

/**
 * One `bytes=a-b`, `bytes=a-` or `bytes=-n` range within the file; anything else (several
 * ranges, nonsense, out of bounds) is ignored and the whole file served, as RFC 9110 allows.
 */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | null {
  const match = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!match || size === 0) return null;
  const [, from, to] = match;
  if (from === '' && to === '') return null;
  if (from === '') {
    const suffix = Number(to);
    if (suffix === 0) return null;
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(from);
  const end = to === '' ? size - 1 : Math.min(Number(to), size - 1);
  if (start >= size || end < start) return null;
  return { start, end };
}
