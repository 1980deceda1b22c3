/**
 * One Web Push request: `web-push` encrypts (RFC 8291 aes128gcm) and signs (RFC 8292 VAPID);
 * the POST itself is ours, so it goes only where endpoint-guard.ts allows, to the address it
 * checked, without following redirects, within a short timeout, reading at most a few KiB back.
 */
import https from 'node:https';
import { isIP } from 'node:net';
import webpush from 'web-push';
import { checkEndpoint, type Resolve } from './endpoint-guard.js';
import type { VapidKeys } from './vapid.js';

export interface PushTarget {
  endpoint: string;
  p256dh: string;
  auth: string;
}

/** What became of a push: delivered, gone (delete it), retry later, or refused/failed for good. */
export type SendOutcome =
  | { kind: 'sent'; status: number }
  | { kind: 'gone'; status: number }
  | { kind: 'retry'; status: number; retryAfterMs: number | undefined }
  | { kind: 'failed'; reason: string };

export interface SenderOptions {
  vapid: VapidKeys;
  /** `mailto:` or `https:` contact for push services (RFC 8292 `sub`). */
  subject: string;
  allowed: (url: URL) => boolean;
  timeoutMs: number;
  /** Extra trusted certificates (in-process tests; processes use NODE_EXTRA_CA_CERTS). */
  ca?: string | undefined;
  resolve?: Resolve;
}

const MAX_RESPONSE_BYTES = 4096;
/** A push waits at the push service this long for an offline browser. */
const TTL_SECONDS = 24 * 3600;

export async function sendPush(
  target: PushTarget,
  payload: string,
  options: SenderOptions,
): Promise<SendOutcome> {
  let checked;
  try {
    checked = await checkEndpoint(target.endpoint, options.allowed, options.resolve);
  } catch (error) {
    return { kind: 'failed', reason: (error as Error).message };
  }
  const details = webpush.generateRequestDetails(
    { endpoint: target.endpoint, keys: { p256dh: target.p256dh, auth: target.auth } },
    payload,
    {
      vapidDetails: {
        subject: options.subject,
        publicKey: options.vapid.publicKey,
        privateKey: options.vapid.privateKey,
      },
      TTL: TTL_SECONDS,
      contentEncoding: 'aes128gcm',
      urgency: 'high',
    },
  );
  const body = details.body ?? Buffer.alloc(0);
  return new Promise<SendOutcome>((resolve) => {
    const request = https.request(
      {
        method: 'POST',
        host: checked.hostname,
        // SNI carries names only (RFC 6066); an IP literal is checked against the certificate anyway.
        ...(isIP(checked.hostname) === 0 && { servername: checked.hostname }),
        port: checked.port,
        path: checked.url.pathname + checked.url.search,
        headers: { ...details.headers, 'content-length': String(body.length) },
        // The checked address, not a second lookup that could answer differently.
        lookup: (_host, opts, callback) => {
          if ((opts as { all?: boolean }).all)
            (callback as (e: null, a: { address: string; family: number }[]) => void)(null, [
              { address: checked.address, family: checked.family },
            ]);
          else callback(null, checked.address, checked.family);
        },
        timeout: options.timeoutMs,
        agent: false,
        ...(options.ca !== undefined && { ca: options.ca }),
      },
      (response) => {
        const status = response.statusCode ?? 0;
        let read = 0;
        response.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_RESPONSE_BYTES) response.destroy();
        });
        const done = () => resolve(classify(status, response.headers['retry-after']));
        response.on('end', done);
        response.on('close', done);
        response.on('error', done);
      },
    );
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', (error) => resolve({ kind: 'failed', reason: error.message }));
    request.end(body);
  });
}

function classify(status: number, retryAfter: string | undefined): SendOutcome {
  if (status >= 200 && status < 300) return { kind: 'sent', status };
  if (status === 404 || status === 410) return { kind: 'gone', status };
  if (status === 429 || status >= 500) {
    const seconds = retryAfter === undefined ? NaN : Number(retryAfter);
    return {
      kind: 'retry',
      status,
      retryAfterMs: Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined,
    };
  }
  // Redirects (3xx) are not followed; other 4xx mean the request itself was refused.
  return { kind: 'failed', reason: `push service answered ${status}` };
}
