/**
 * Raw load-generator clients, one per wire protocol. All three are plain `ws` sockets with
 * permessage-deflate off; Socket.IO's engine.io v4 framing is spoken by hand (`0` open,
 * `40` connect, `42[...]` event, `2`/`3` ping/pong) so the generator stays cheap.
 *
 * Frames are never JSON-parsed on the hot path: every benchmark message carries a tag
 * `~b<run>.<seq>.<intendedMicros>~` that `parseTag` finds with one `indexOf`.
 */
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';

/** Where a client's incoming benchmark frames go; the load engine swaps these per run. */
export interface Hooks {
  /** `client`: the socket it arrived on (Letter only; the load engine answers positions on it). */
  onDelivery(data: Buffer, client?: BenchClient): void;
  /** Letter only: the `ok` for one of our own `send` frames. */
  onAck(data: Buffer): void;
  onError(text: string): void;
  /** Letter only: a `receipt` event (a recipient's delivered or read position moved). */
  onReceipt?(): void;
}

export const noHooks: Hooks = { onDelivery() {}, onAck() {}, onError() {} };

/** A connected, authenticated client. */
export interface BenchClient {
  readonly socket: WebSocket;
  /** Sends one text frame (ASCII/UTF-8) on the hot path; see `frameText`. */
  sendText(text: string): void;
  close(): void;
}

/**
 * One whole client-to-server text frame in one buffer: FIN + text opcode, the length, and a
 * zero masking key (masking with zeros leaves the payload as it is, so there is no XOR pass;
 * the server still unmasks, so its work is unchanged). Written straight to the TCP socket,
 * this is one `write` per message instead of ws's cork/write/write/uncork: at the bare relay's
 * rate the generator would otherwise cost about as much CPU per message as the relay itself.
 * Safe next to ws's own sends because without permessage-deflate ws writes synchronously.
 */
export function frameText(text: string): Buffer {
  const length = Buffer.byteLength(text);
  const header = length < 126 ? 6 : length < 65536 ? 8 : 14;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = 0x81;
  if (length < 126) {
    frame[1] = 0x80 | length;
  } else if (length < 65536) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  frame.writeUInt32BE(0, header - 4);
  frame.write(text, header);
  return frame;
}

export type Protocol = 'letter' | 'ws' | 'socketio';

export interface ConnectOptions {
  url: string;
  protocol: Protocol;
  hooks: Hooks;
  /** Letter: the access token. */
  token?: string;
  /** Relays: who we are and which rooms we join. */
  id?: string;
  rooms?: string[];
  timeoutMs?: number;
}

const OK = Buffer.from('"type":"ok"');
const MESSAGE = Buffer.from('"type":"message"');
const ERROR = Buffer.from('"type":"error"');
const RECEIPT = Buffer.from('"type":"receipt"');
const TAG = Buffer.from('~b');

function zeroMask(mask: Buffer): void {
  mask.fill(0);
}

/** Opens one socket and resolves once the server considers it authenticated and usable. */
export function connectClient(opts: ConnectOptions): Promise<BenchClient> {
  const { protocol, hooks } = opts;
  let url: string;
  const headers: Record<string, string> = {};
  if (protocol === 'letter') {
    url = `${opts.url}/ws`;
    headers.authorization = `Bearer ${opts.token ?? ''}`;
  } else if (protocol === 'ws') {
    const query = new URLSearchParams({ id: opts.id ?? '', rooms: (opts.rooms ?? []).join(',') });
    url = `${opts.url}/?${query.toString()}`;
  } else {
    url = `${opts.url}/socket.io/?EIO=4&transport=websocket`;
  }
  const socket = new WebSocket(url, {
    headers,
    perMessageDeflate: false,
    handshakeTimeout: opts.timeoutMs ?? 15_000,
    // The generator must stay cheaper than the cheapest server. A zero masking key makes ws
    // skip the XOR pass (the server still unmasks every frame, so its work is unchanged), and
    // our own frames need no UTF-8 check on the way back.
    generateMask: zeroMask,
    skipUTF8Validation: true,
  });
  let closing = false;
  const client: BenchClient = {
    socket,
    sendText: (text) => {
      // ws keeps the TCP socket in `_socket` once open; before that nothing is sent anyway.
      const raw = (socket as unknown as { _socket: Socket | null })._socket;
      if (raw && socket.readyState === WebSocket.OPEN) raw.write(frameText(text));
    },
    close: () => {
      closing = true;
      socket.terminate();
    },
  };

  return new Promise<BenchClient>((resolve, reject) => {
    let ready = false;
    const timer = setTimeout(
      () => fail(new Error('timed out waiting for the connection to be ready')),
      opts.timeoutMs ?? 15_000,
    );
    const fail = (err: Error) => {
      if (ready) return;
      ready = true;
      clearTimeout(timer);
      socket.terminate();
      reject(err);
    };
    const succeed = () => {
      if (ready) return;
      ready = true;
      clearTimeout(timer);
      resolve(client);
    };
    socket.on('error', (err) => fail(err));
    socket.on('close', (code, reason) => {
      // A server closing a ready socket mid-run (slow consumer, auth expiry) must show up.
      if (ready && !closing) hooks.onError(`socket closed by server: ${code} ${String(reason)}`);
      fail(new Error(`closed ${code} ${String(reason)}`));
    });
    socket.on('unexpected-response', (_req, res) =>
      fail(new Error(`handshake answered HTTP ${res.statusCode ?? '?'}`)),
    );

    if (protocol === 'ws') {
      socket.on('open', succeed);
      socket.on('message', (data: Buffer) => hooks.onDelivery(data));
    } else if (protocol === 'letter') {
      socket.on('message', (data: Buffer) => {
        if (!ready) {
          if (data.includes('"type":"ready"')) succeed();
          return;
        }
        // Order matters: an ok carries the whole message, including `"type":"message"`-free text.
        if (data.indexOf(TAG) === -1) {
          if (data.indexOf(ERROR) !== -1) hooks.onError(String(data));
          else if (data.indexOf(RECEIPT) !== -1) hooks.onReceipt?.();
        } else if (data.indexOf(OK) !== -1) hooks.onAck(data);
        else if (data.indexOf(MESSAGE) !== -1) hooks.onDelivery(data, client);
        else if (data.indexOf(ERROR) !== -1) hooks.onError(String(data));
      });
    } else {
      socket.on('message', (data: Buffer) => {
        const kind = data[0];
        if (kind === 0x32 /* '2' ping */ && data.length === 1) {
          socket.send('3');
        } else if (kind === 0x34 /* '4' message */) {
          if (data[1] === 0x32 /* '42' event */) hooks.onDelivery(data);
          else if (data[1] === 0x30 /* '40' connected */) succeed();
          else if (data[1] === 0x34 /* '44' connect error */) fail(new Error(String(data)));
        } else if (kind === 0x30 /* '0' engine.io open */) {
          socket.send(`40${JSON.stringify({ id: opts.id, rooms: opts.rooms ?? [] })}`);
        }
      });
    }
  });
}

/** A decoded benchmark tag. */
export interface Tag {
  run: number;
  seq: number;
  intendedMicros: number;
}

/** Reads the first `~b<run>.<seq>.<micros>~` in a frame without decoding the frame. */
export function parseTag(data: Buffer, into: Tag): boolean {
  let i = data.indexOf(TAG);
  if (i === -1) return false;
  i += 2;
  const nums = [0, 0, 0];
  let field = 0;
  for (; i < data.length; i++) {
    const c = data[i]!;
    if (c >= 0x30 && c <= 0x39) nums[field] = nums[field]! * 10 + (c - 0x30);
    else if (c === 0x2e /* . */ && field < 2) field++;
    else break;
  }
  if (field !== 2 || data[i] !== 0x7e /* ~ */) return false;
  into.run = nums[0]!;
  into.seq = nums[1]!;
  into.intendedMicros = nums[2]!;
  return true;
}

export function makeTag(run: number, seq: number, intendedMicros: number): string {
  return `~b${run}.${seq}.${intendedMicros}~`;
}

/**
 * Opens `count` connections with at most `concurrency` handshakes in flight. Returns the
 * clients that made it, the failures (first few reasons kept) and the wall time.
 */
export async function connectMany(
  count: number,
  concurrency: number,
  open: (index: number) => Promise<BenchClient>,
  deadlineMs: number,
): Promise<{
  clients: BenchClient[];
  failures: number;
  /** Indexes that did not connect (failed or never tried before the deadline). */
  failed: number[];
  reasons: string[];
  elapsedMs: number;
}> {
  const clients: BenchClient[] = [];
  const reasons: string[] = [];
  const done = new Uint8Array(count);
  let nextIndex = 0;
  const started = performance.now();
  const worker = async () => {
    while (nextIndex < count && performance.now() - started < deadlineMs) {
      const index = nextIndex++;
      try {
        clients.push(await open(index));
        done[index] = 1;
      } catch (err) {
        const reason = (err as Error).message;
        if (reasons.length < 5 && !reasons.includes(reason)) reasons.push(reason);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  const failed: number[] = [];
  for (let i = 0; i < count; i++) if (!done[i]) failed.push(i);
  return {
    clients,
    failures: failed.length,
    failed,
    reasons,
    elapsedMs: performance.now() - started,
  };
}

/** Closes clients and waits until their sockets are really gone (bounded). */
export async function closeAll(clients: BenchClient[], timeoutMs = 5000): Promise<void> {
  const closed = clients.map(
    (c) =>
      new Promise<void>((resolve) => {
        if (c.socket.readyState === WebSocket.CLOSED) return resolve();
        c.socket.once('close', () => resolve());
      }),
  );
  for (const c of clients) c.close();
  await Promise.race([Promise.all(closed), new Promise((r) => setTimeout(r, timeoutMs))]);
}
