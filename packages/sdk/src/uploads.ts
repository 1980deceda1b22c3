/**
 * File uploads (`POST /api/files`, multipart with one part `file`). In browsers the bytes go by
 * XMLHttpRequest, the one browser API that reports upload progress; elsewhere (Node) by `fetch`,
 * which reports the end only. Either way a 401 renews the access token once and uploads again,
 * an abort (`signal`) rejects with an `AbortError`, and error answers become the same
 * `LetterError`s as every other call (`errorFromResponse`).
 */
import type { Attachment } from '@letter/protocol';
import type { TokenSource } from './api.js';
import { LetterError, NetworkError } from './errors.js';
import { errorFromResponse } from './http.js';
import type { FetchLike, HttpTransport } from './http.js';

/** The server's answer to an upload (contract "Files": `{file:{…}}`): an attachment without URLs. */
export type UploadedFile = Omit<Attachment, 'url' | 'thumbnailUrl'>;

export interface UploadOptions {
  /** Bytes sent so far and the total, as they go (browsers: many times; Node: at the end). */
  onProgress?: ((loaded: number, total: number) => void) | undefined;
  signal?: AbortSignal | undefined;
  /** The file name the server keeps; default: the File's own name, else `file`. */
  name?: string | undefined;
}

/** The part of XMLHttpRequest an upload uses; tests pass a fake. */
export interface XhrLike {
  open(method: string, url: string): void;
  setRequestHeader(name: string, value: string): void;
  send(body: FormData): void;
  abort(): void;
  getResponseHeader(name: string): string | null;
  readonly status: number;
  readonly responseText: string;
  withCredentials: boolean;
  upload: { onprogress: ((event: { loaded: number; total: number }) => void) | null };
  onload: (() => void) | null;
  onerror: (() => void) | null;
  onabort: (() => void) | null;
}
export type XhrConstructor = new () => XhrLike;

export interface UploaderOptions {
  http: HttpTransport;
  tokens: TokenSource;
  fetch: FetchLike;
  /** Browsers: the global XMLHttpRequest (progress); absent: `fetch`. */
  XMLHttpRequest: XhrConstructor | undefined;
  credentials: RequestCredentials;
  now: () => number;
}

interface RawAnswer {
  status: number;
  text: string;
  retryAfter: string | null;
}

/** An upload stopped by its `signal` (the user cancelled it). */
export function abortError(): Error {
  const error = new Error('upload cancelled');
  error.name = 'AbortError';
  return error;
}

export function isAbortError(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

/** The name a Blob uploads under: a File's own name, else `file`. */
export function fileNameOf(blob: Blob): string {
  const name = (blob as { name?: unknown }).name;
  return typeof name === 'string' && name.trim() !== '' ? name : 'file';
}

export class Uploader {
  constructor(private readonly options: UploaderOptions) {}

  async upload(blob: Blob, options: UploadOptions = {}): Promise<UploadedFile> {
    const token = await this.options.tokens.accessToken();
    if (!token) throw new LetterError('unauthorized', 'not signed in');
    let answer = await this.send(blob, token, options);
    if (answer.status === 401) {
      const renewed = await this.options.tokens.renewAfterRejection(token);
      if (renewed) answer = await this.send(blob, renewed, options);
    }
    let parsed: unknown;
    try {
      parsed = answer.text ? JSON.parse(answer.text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (answer.status < 200 || answer.status >= 300) {
      throw errorFromResponse(answer.status, parsed, answer.retryAfter, this.options.now());
    }
    const file = (parsed as { file?: UploadedFile } | undefined)?.file;
    if (!file || typeof file.id !== 'string')
      throw new LetterError('internal', 'the server answered an upload without a file');
    return file;
  }

  private send(blob: Blob, token: string, options: UploadOptions): Promise<RawAnswer> {
    if (options.signal?.aborted) return Promise.reject(abortError());
    const form = new FormData();
    form.append('file', blob, options.name ?? fileNameOf(blob));
    const url = this.options.http.url('/api/files');
    const Xhr = this.options.XMLHttpRequest;
    return Xhr
      ? this.viaXhr(Xhr, url, form, token, options)
      : this.viaFetch(url, form, blob, token, options);
  }

  private viaXhr(
    Xhr: XhrConstructor,
    url: string,
    form: FormData,
    token: string,
    options: UploadOptions,
  ): Promise<RawAnswer> {
    return new Promise((resolve, reject) => {
      const xhr = new Xhr();
      const onAbort = () => xhr.abort();
      const done = () => options.signal?.removeEventListener('abort', onAbort);
      xhr.open('POST', url);
      xhr.setRequestHeader('authorization', `Bearer ${token}`);
      xhr.setRequestHeader('accept', 'application/json');
      xhr.withCredentials = this.options.credentials === 'include';
      xhr.upload.onprogress = (event) => options.onProgress?.(event.loaded, event.total);
      xhr.onload = () => {
        done();
        resolve({
          status: xhr.status,
          text: xhr.responseText,
          retryAfter: xhr.getResponseHeader('retry-after'),
        });
      };
      xhr.onerror = () => {
        done();
        reject(new NetworkError('POST /api/files failed'));
      };
      xhr.onabort = () => {
        done();
        reject(abortError());
      };
      options.signal?.addEventListener('abort', onAbort);
      xhr.send(form);
    });
  }

  private async viaFetch(
    url: string,
    form: FormData,
    blob: Blob,
    token: string,
    options: UploadOptions,
  ): Promise<RawAnswer> {
    let response: Response;
    try {
      response = await this.options.fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
        body: form,
        credentials: this.options.credentials,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      if (options.signal?.aborted) throw abortError();
      throw new NetworkError('POST /api/files failed', { cause: error });
    }
    const text = await response.text();
    if (response.ok) options.onProgress?.(blob.size, blob.size);
    return { status: response.status, text, retryAfter: response.headers.get('retry-after') };
  }
}
