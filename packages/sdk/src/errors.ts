/**
 * Errors the sdk raises besides `LetterError` (which carries a registry code from the server).
 * The split matters to the outbox: a `LetterError` with a permanent code ends a send, anything
 * else is transient and retried with the same clientMsgId.
 */
import { LetterError, isErrorCode } from '@letter/protocol';
import type { ErrorCode } from '@letter/protocol';

export { LetterError };

/** The request never got an HTTP answer (offline, DNS, CORS, connection reset). */
export class NetworkError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NetworkError';
  }
}

/** A WebSocket request got no answer in time; the server may still have acted on it. */
export class TimeoutError extends Error {
  constructor(message = 'request timed out') {
    super(message);
    this.name = 'TimeoutError';
  }
}

/** The socket closed (or was not open) before the answer came. */
export class DisconnectedError extends Error {
  constructor(message = 'not connected') {
    super(message);
    this.name = 'DisconnectedError';
  }
}

/** Codes that no retry can fix: the outbox marks the message failed instead of resending. */
export const permanentSendErrors: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'bad_request',
  'not_found',
  'blocked',
  'forbidden',
  'payload_too_large',
  // An upload the server will not decode (an image bomb, a broken image): no retry helps.
  'unsupported_media_type',
]);

export function isPermanentSendError(error: unknown): error is LetterError {
  return error instanceof LetterError && permanentSendErrors.has(error.code);
}

/** A code from the wire, unknown codes (a newer server) read as `internal`. */
export function toErrorCode(code: string): ErrorCode {
  return isErrorCode(code) ? code : 'internal';
}
