/** Uploads: uploadFile on both paths, and messages with files through the outbox. */
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { LetterError, NetworkError } from './errors.js';
import { IndexedDbOutboxStorage } from './outbox/indexeddb.js';
import type { LetterClientOptions } from './client.js';
import { FakeClock, FakeServer, createTestClient, settle } from './testing/index.js';
import type { XhrLike } from './uploads.js';

/** A controllable XMLHttpRequest: each instance waits for the test to answer it. */
class FakeXhr implements XhrLike {
  static all: FakeXhr[] = [];
  /** When set, every request is answered by this server as soon as it is sent. */
  static server: FakeServer | null = null;
  method = '';
  url = '';
  headers: Record<string, string> = {};
  body: FormData | null = null;
  status = 0;
  responseText = '';
  withCredentials = false;
  aborted = false;
  private answerHeaders = new Headers();
  upload: XhrLike['upload'] = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onabort: (() => void) | null = null;

  constructor() {
    FakeXhr.all.push(this);
  }
  open(method: string, url: string) {
    this.method = method;
    this.url = url;
  }
  setRequestHeader(name: string, value: string) {
    this.headers[name] = value;
  }
  send(body: FormData) {
    this.body = body;
    const server = FakeXhr.server;
    if (server) {
      void server
        .fetch(this.url, { method: this.method, headers: this.headers, body })
        .then(async (response) => this.answer(response.status, await response.text()));
    }
  }
  abort() {
    this.aborted = true;
    this.onabort?.();
  }
  getResponseHeader(name: string) {
    return this.answerHeaders.get(name);
  }
  progress(loaded: number, total: number) {
    this.upload.onprogress?.({ loaded, total });
  }
  answer(status: number, text: string, headers: Record<string, string> = {}) {
    this.status = status;
    this.responseText = text;
    this.answerHeaders = new Headers(headers);
    this.onload?.();
  }
}

async function world(options: LetterClientOptions = {}) {
  FakeXhr.all = [];
  FakeXhr.server = null;
  const clock = new FakeClock();
  const server = new FakeServer({ clock });
  const alice = server.addUser('alice', 'Alice');
  const bob = server.addUser('bob', 'Bob');
  const direct = server.openDirect(alice.id, bob.id);
  const client = createTestClient(server, options);
  await client.login('alice', 'password123');
  await settle();
  const sent = () =>
    server.conversations
      .get(direct.id)!
      .messages.map((m) => [m.body, m.attachments.map((a) => a.name)]);
  return { clock, server, alice, bob, direct, client, sent };
}

const photo = () => new File([new Uint8Array(3000)], 'photo.png', { type: 'image/png' });
const pdf = () => new File([new Uint8Array(500)], 'paper.pdf', { type: 'application/pdf' });

describe('uploadFile', () => {
  it('uploads by fetch where there is no XMLHttpRequest (Node) and reports the end', async () => {
    const { client, server, alice } = await world();
    const progress: [number, number][] = [];
    const file = await client.uploadFile(pdf(), { onProgress: (l, t) => progress.push([l, t]) });
    expect(file).toMatchObject({ name: 'paper.pdf', size: 500, mime: 'application/pdf' });
    expect(server.files.get(file.id)?.uploaderId).toBe(alice.id);
    expect(progress).toEqual([[500, 500]]);
    client.close();
  });

  it('reports progress by XMLHttpRequest, with the bearer token and the one part `file`', async () => {
    const { client } = await world({ XMLHttpRequest: FakeXhr });
    const progress: number[] = [];
    const upload = client.uploadFile(photo(), { onProgress: (loaded) => progress.push(loaded) });
    await settle();
    const xhr = FakeXhr.all[0]!;
    expect(xhr.method).toBe('POST');
    expect(xhr.url).toBe('http://fake.test/api/files');
    expect(xhr.headers.authorization).toMatch(/^Bearer /);
    expect((xhr.body!.get('file') as File).name).toBe('photo.png');
    xhr.progress(1000, 3000);
    xhr.progress(3000, 3000);
    xhr.answer(
      201,
      JSON.stringify({ file: { id: 'f9', name: 'photo.png', size: 3000, mime: 'image/png' } }),
    );
    expect(await upload).toMatchObject({ id: 'f9' });
    expect(progress).toEqual([1000, 3000]);
    client.close();
  });

  it('maps errors like every other call: 413, 429 with Retry-After, no answer, abort', async () => {
    const { client } = await world({ XMLHttpRequest: FakeXhr });
    const tooBig = client.uploadFile(photo());
    await settle();
    FakeXhr.all[0]!.answer(
      413,
      JSON.stringify({ error: { code: 'payload_too_large', message: 'big' } }),
    );
    await expect(tooBig).rejects.toMatchObject({ code: 'payload_too_large', status: 413 });

    const limited = client.uploadFile(photo());
    await settle();
    FakeXhr.all[1]!.answer(429, '', { 'retry-after': '7' });
    const error = await limited.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LetterError);
    expect(error).toMatchObject({ code: 'rate_limited', retryAfter: 7 });

    const lost = client.uploadFile(photo());
    await settle();
    FakeXhr.all[2]!.onerror?.();
    await expect(lost).rejects.toBeInstanceOf(NetworkError);

    const controller = new AbortController();
    const cancelled = client.uploadFile(photo(), { signal: controller.signal });
    await settle();
    controller.abort();
    await expect(cancelled).rejects.toMatchObject({ name: 'AbortError' });
    expect(FakeXhr.all[3]!.aborted).toBe(true);
    client.close();
  });

  it('renews an expired access token once and uploads again', async () => {
    const { client, server } = await world();
    let refused = 0;
    server.restOverride = (method, path) => {
      if (method !== 'POST' || path !== '/api/files' || refused++ > 0) return undefined;
      return new Response(JSON.stringify({ error: { code: 'unauthorized', message: 'x' } }), {
        status: 401,
      });
    };
    const file = await client.uploadFile(pdf());
    expect(server.files.has(file.id)).toBe(true);
    expect(server.requests.filter((r) => r === 'POST /api/auth/refresh')).toHaveLength(1);
    client.close();
  });
});

describe('messages with files', () => {
  it('wait offline with their files, then upload and go out in order with the text around them', async () => {
    const { client, server, direct, clock, sent } = await world();
    server.refuseSockets = true;
    server.closeAll(1012);
    await settle();
    client.send(direct.id, 'before');
    const pending = client.send(direct.id, 'look', { files: [photo(), pdf()] });
    client.send(direct.id, 'after');
    expect(pending.attachments?.map((a) => [a.name, a.size, a.uploadedBytes])).toEqual([
      ['photo.png', 3000, 0],
      ['paper.pdf', 500, 0],
    ]);
    expect(server.files.size).toBe(0);
    server.refuseSockets = false;
    await clock.advance(5_000);
    expect(sent()).toEqual([
      ['before', []],
      ['look', ['photo.png', 'paper.pdf']],
      ['after', []],
    ]);
    expect(client.getSnapshot().pending).toEqual({});
    const held = client.getSnapshot().timelines[direct.id]!.messages[1]!;
    expect(held.attachments[0]).toMatchObject({ name: 'photo.png', url: expect.any(String) });
    client.close();
  });

  it('a file alone needs no text; more than 10 or nothing at all is refused at once', async () => {
    const { client, direct, sent } = await world();
    client.send(direct.id, '', { files: [pdf()] });
    await settle();
    expect(sent()).toEqual([['', ['paper.pdf']]]);
    expect(() => client.send(direct.id, '  ')).toThrow(LetterError);
    const eleven = Array.from({ length: 11 }, pdf);
    expect(() => client.send(direct.id, 'x', { files: eleven })).toThrow(/at most 10/);
    client.close();
  });

  it('show upload progress in the pending message', async () => {
    const { client, direct } = await world({ XMLHttpRequest: FakeXhr });
    const { clientMsgId } = client.send(direct.id, 'big one', { files: [photo()] });
    await settle();
    FakeXhr.all[0]!.progress(1500, 3000);
    await settle();
    const pending = () =>
      client.getSnapshot().pending[direct.id]!.find((p) => p.clientMsgId === clientMsgId)!;
    expect(pending().attachments![0]).toMatchObject({ uploadedBytes: 1500, uploaded: false });
    client.close();
  });

  it('an upload refused for good shows as failed; Retry uploads it again', async () => {
    const { client, server, direct, sent } = await world();
    server.maxUploadBytes = 1000;
    const { clientMsgId } = client.send(direct.id, 'too big', { files: [photo()] });
    client.send(direct.id, 'next one still goes');
    await settle();
    const failed = client.getSnapshot().pending[direct.id]!;
    expect(failed.map((p) => [p.body, p.status, p.error])).toEqual([
      ['too big', 'failed', 'payload_too_large'],
    ]);
    expect(sent()).toEqual([['next one still goes', []]]);
    server.maxUploadBytes = 10_000;
    client.retrySend(clientMsgId);
    await settle();
    expect(sent().map(([body]) => body)).toEqual(['next one still goes', 'too big']);
    client.close();
  });

  it('several files: one refused fails the message; Retry uploads only what is missing, in order', async () => {
    const { client, server, direct, sent } = await world();
    server.maxUploadBytes = 1000;
    const { clientMsgId } = client.send(direct.id, 'album', { files: [pdf(), photo(), pdf()] });
    await settle();
    expect(client.getSnapshot().pending[direct.id]!.map((p) => [p.status, p.error])).toEqual([
      ['failed', 'payload_too_large'],
    ]);
    // The first file went up before the second was refused; the third never started.
    expect(server.files.size).toBe(1);
    expect(sent()).toEqual([]);
    server.maxUploadBytes = 10_000;
    client.retrySend(clientMsgId);
    await settle();
    expect(server.files.size).toBe(3);
    expect(sent()).toEqual([['album', ['paper.pdf', 'photo.png', 'paper.pdf']]]);
    expect(client.getSnapshot().pending).toEqual({});
    client.close();
  });

  it('cancel during the upload aborts it, drops the message, and the next one goes', async () => {
    const { client, direct, sent } = await world({ XMLHttpRequest: FakeXhr });
    const { clientMsgId } = client.send(direct.id, 'never mind', { files: [photo()] });
    client.send(direct.id, 'text after');
    await settle();
    expect(sent()).toEqual([]);
    client.discardSend(clientMsgId);
    await settle();
    expect(FakeXhr.all[0]!.aborted).toBe(true);
    expect(sent()).toEqual([['text after', []]]);
    expect(client.getSnapshot().pending).toEqual({});
    client.close();
  });

  it('survive a reload in IndexedDB with their bytes, and an uploaded file is not uploaded twice', async () => {
    const factory = new IDBFactory();
    const storage = () => new IndexedDbOutboxStorage({ indexedDB: factory });
    const { client, server, direct, clock, sent } = await world({ outboxStorage: storage() });
    // The upload goes through, then the socket is gone before the send.
    server.intercept = (_socket, frame) => (frame.type === 'send' ? 'loseAnswer' : undefined);
    client.send(direct.id, 'survives', { files: [photo(), pdf()] });
    await settle();
    expect(server.files.size).toBe(2);
    await client.outboxFlushed();
    client.close();
    server.intercept = null;
    server.closeAll(1012);
    // The lost send may have been stored already: drop it so the reload must send it.
    server.conversations.get(direct.id)!.messages.length = 0;
    for (const file of server.files.values()) file.attached = false;

    const reloaded = createTestClient(server, { outboxStorage: storage() });
    await reloaded.login('alice', 'password123');
    await clock.advance(2_000);
    expect(sent()).toEqual([['survives', ['photo.png', 'paper.pdf']]]);
    expect(server.files.size).toBe(2);
    reloaded.close();
  });
});
