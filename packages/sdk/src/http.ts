/**
 * The HTTP transport: one `fetch`, JSON in and out, and every error body turned into a
 * `LetterError` (code, message, `retryAfter` from the Retry-After header). Knows nothing about
 * tokens beyond putting one in the Authorization header; refresh-on-401 lives in api.ts.
 */
import type { ErrorCode } from '@letter/protocol';
import { LetterError, NetworkError, toErrorCode } from './errors.js';

/** The subset of `fetch` the sdk uses; the browser's or Node's global fits. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export type Query = Record<string, string | number | undefined>;

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  path: string;
  query?: Query;
  /** JSON-encoded when present; absent means no body at all (cookie-mode refresh relies on it). */
  body?: unknown;
  token?: string | null;
  /** Extra request headers (the auth mode on sign-in and refresh). */
  headers?: Record<string, string>;
}

export interface HttpOptions {
  /** Origin (and optional prefix) of the server, e.g. `https://chat.example.com`; '' = same origin. */
  baseUrl: string;
  fetch: FetchLike;
  /** `include` when the API is on another origin and cookie-mode refresh must carry the cookie. */
  credentials: RequestCredentials;
  now: () => number;
}

const statusCodes: Record<number, ErrorCode> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'username_taken',
  413: 'payload_too_large',
  429: 'rate_limited',
  503: 'unavailable',
};

export class HttpTransport {
  constructor(private readonly options: HttpOptions) {}

  url(path: string, query?: Query): string {
    let url = this.options.baseUrl.replace(/\/$/, '') + path;
    if (query) {
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries(query)) {
        if (value !== undefined) params.set(key, String(value));
      }
      const text = params.toString();
      if (text) url += `?${text}`;
    }
    return url;
  }

  async request<T>(request: HttpRequest): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json', ...request.headers };
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    if (request.token) headers.authorization = `Bearer ${request.token}`;
    const init: RequestInit = {
      method: request.method,
      headers,
      credentials: this.options.credentials,
    };
    if (request.body !== undefined) init.body = JSON.stringify(request.body);
    let response: Response;
    try {
      response = await this.options.fetch(this.url(request.path, request.query), init);
    } catch (error) {
      throw new NetworkError(`${request.method} ${request.path} failed`, { cause: error });
    }
    const text = response.status === 204 ? '' : await response.text();
    let parsed: unknown = undefined;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        // A proxy's HTML error page: the status still tells what happened.
        if (response.ok) throw new LetterError('internal', 'the server answered with invalid JSON');
      }
    }
    if (!response.ok) {
      throw errorFromResponse(
        response.status,
        parsed,
        response.headers.get('retry-after'),
        this.options.now(),
      );
    }
    return parsed as T;
  }
}

/** Rebuilds the server's error: the body's code when it is one we know, else one from the status. */
export function errorFromResponse(
  status: number,
  body: unknown,
  retryAfterHeader: string | null,
  now: number,
): LetterError {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const code =
    typeof error?.code === 'string' ? toErrorCode(error.code) : (statusCodes[status] ?? 'internal');
  const message = typeof error?.message === 'string' ? error.message : undefined;
  return new LetterError(code, message, parseRetryAfter(retryAfterHeader, now));
}

/** Retry-After is either delta-seconds or an HTTP date; returns seconds (≥ 0) or undefined. */
export function parseRetryAfter(header: string | null, now: number): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const trimmed = header.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - now) / 1000));
}
