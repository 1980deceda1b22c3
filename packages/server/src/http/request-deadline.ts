/**
 * Request body deadlines, per route. Node's own `requestTimeout` is one number for every
 * request, and a whole 25 MB upload on a slow line needs far more than a JSON body should get;
 * so Node keeps the header deadline (slowloris) and this hook holds bodies to theirs:
 * - every request: its body must have arrived LETTER_REQUEST_TIMEOUT_MS after its headers;
 * - `POST /api/files`: no total, but the upload must make progress: LETTER_UPLOAD_IDLE_TIMEOUT_MS
 *   without a byte arriving ends it.
 * Either way the client gets `408` and the connection is closed, as Node does it.
 */
import type { FastifyInstance } from 'fastify';
import type { Socket } from 'node:net';

export interface DeadlineOptions {
  requestMs: number;
  uploadIdleMs: number;
}

const TIMEOUT_ANSWER = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n';

export function installRequestDeadlines(app: FastifyInstance, options: DeadlineOptions): void {
  app.addHook('onRequest', (request, reply, done) => {
    const raw = request.raw;
    const socket = raw.socket as Socket | null;
    const upload = request.method === 'POST' && request.url.split('?')[0] === '/api/files';
    const limitMs = upload ? options.uploadIdleMs : options.requestMs;
    if (raw.complete || !socket || limitMs <= 0) return done();
    // Polled, not a 'data' listener: that would start the body flowing before a route reads it.
    const tickMs = Math.max(20, Math.min(1000, Math.floor(limitMs / 4)));
    let lastBytes = socket.bytesRead;
    let since = Date.now();
    const timer = setInterval(() => {
      if (raw.complete || socket.destroyed) return clearInterval(timer);
      if (upload && socket.bytesRead !== lastBytes) {
        lastBytes = socket.bytesRead;
        since = Date.now();
        return;
      }
      if (Date.now() - since < limitMs) return;
      clearInterval(timer);
      request.log.info({ upload }, 'request body too slow: 408');
      if (!socket.writableEnded && !reply.sent) socket.end(TIMEOUT_ANSWER);
      socket.destroySoon();
    }, tickMs);
    timer.unref();
    raw.once('close', () => clearInterval(timer));
    done();
  });
}
