/**
 * The error-code registry: every error Letter answers with, over REST and WebSocket alike.
 * docs/protocol.md lists exactly these codes; a test keeps the two in step.
 */
export const errorCodes = {
  bad_request: { status: 400, message: 'The request is malformed.' },
  unauthorized: { status: 401, message: 'Missing, expired or revoked credentials.' },
  invalid_credentials: { status: 401, message: 'Wrong username or password.' },
  forbidden: { status: 403, message: 'You lack the right to do this.' },
  blocked: { status: 403, message: 'One of you has blocked the other.' },
  not_found: { status: 404, message: 'Not found.' },
  username_taken: { status: 409, message: 'That username is taken.' },
  payload_too_large: { status: 413, message: 'The request body is too large.' },
  /** An upload the server refuses to decode (an image it cannot or will not read). */
  unsupported_media_type: { status: 415, message: 'That file cannot be read as what it claims.' },
  rate_limited: { status: 429, message: 'Too many requests; slow down.' },
  internal: { status: 500, message: 'Something went wrong on our side.' },
  /** A dependency (the database) is away; nothing was stored. Retry later. */
  unavailable: { status: 503, message: 'The service is unavailable; nothing was saved. Retry.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof errorCodes;

export const errorCodeList = Object.keys(errorCodes) as ErrorCode[];

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(errorCodes, code);
}

/** The REST error body: `{"error":{"code","message"}}`. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

/** An error that carries a registry code; thrown inside the server, rebuilt by the sdk. */
export class LetterError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Seconds until a retry may succeed (rate limits). */
  readonly retryAfter: number | undefined;

  constructor(code: ErrorCode, message?: string, retryAfter?: number) {
    super(message ?? errorCodes[code].message);
    this.name = 'LetterError';
    this.code = code;
    this.status = errorCodes[code].status;
    this.retryAfter = retryAfter;
  }
}
