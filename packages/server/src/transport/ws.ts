/**
 * The WebSocket transport: handshake (path, Origin, auth), frame size, heartbeat and
 * backpressure. It turns sockets into hub `Connection`s and text into `FrameRouter` calls.
 *
 * Architecture Invariant: this is the only module that imports `ws`.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { closeCodes, limits, LetterError } from '@letter/protocol';
import type { AccessClaims } from '../auth/tokens.js';
import type { Connection } from '../hub/hub.js';

/**
 * `C`: what authentication yields, handed to `onOpen` as is (the composition root uses it to
 * carry a lookup started during the handshake).
 */
export interface TransportDeps<C extends AccessClaims = AccessClaims> {
  authenticate(token: string | undefined): Promise<C>;
  /** Whether a browser page of this origin may open a socket (`host` is the request's Host). */
  originAllowed(origin: string, host: string | undefined): boolean;
  /** LETTER_ALLOWED_HOSTS: the handshake's Host; refused with 400 and this error body if not. */
  hostRefused?(host: string | undefined): object | null;
  /**
   * Called once a socket is authenticated; returns the handler for its text frames. `onText`
   * resolves once the frame is handled: at most `limits.maxFramesInFlight` run at once per
   * socket, and the transport stops reading from a socket that has that many.
   */
  onOpen(connection: Connection, claims: C): SocketHandler;
  /** The client's address, as fastify's `request.ip` gives it (trustProxy applied). */
  clientAddress(request: IncomingMessage): string;
  /** Authenticated sockets one user may hold on this node; the next one is closed with 1008. */
  maxSocketsPerUser: number;
  /** Sockets from one address still waiting for their `auth` frame; more → HTTP 429. */
  maxUnauthenticatedPerAddress: number;
  maxBufferedBytes: number;
  heartbeatMs: number;
  authTimeoutMs?: number;
  log: { warn(details: object, message: string): void };
}

export interface SocketHandler {
  onText(text: string): Promise<void> | void;
  onClose(): void;
}

/**
 * Connection ids cross the bus (a delivery names the sender's socket, which gets an `ok`
 * instead): unique on this node by a counter, across nodes by a random prefix drawn once.
 */
const idPrefix = randomBytes(9).toString('base64url');
let idCount = 0;

class WsConnection implements Connection {
  readonly id = idPrefix + (idCount++).toString(36);

  constructor(
    private readonly socket: WebSocket,
    readonly userId: string,
    readonly sessionId: string,
    private readonly maxBufferedBytes: number,
  ) {}

  send(frame: Buffer): void {
    const socket = this.socket;
    if (socket.readyState !== 1) return;
    if (socket.bufferedAmount + frame.length > this.maxBufferedBytes) {
      // The frames corked this turn count in bufferedAmount too: hand them to the kernel first,
      // or a burst (a sync replaying a long backlog) would cut a reader that keeps up.
      uncork(socket);
      if (socket.bufferedAmount + frame.length > this.maxBufferedBytes) {
        // A reader this far behind would make us buffer without bound: cut it off instead.
        this.close(closeCodes.policy.code, 'slow consumer');
        return;
      }
    }
    const tcp = corkUntilNextTurn(socket);
    // The frame, header and payload in one buffer, straight to the socket: one buffered write
    // instead of ws's two (its header, then the payload), each a chunk of the turn's `writev`.
    // Safe beside ws's own writes (pings, close): without permessage-deflate, ws writes
    // synchronously and never queues, so the byte order is the call order.
    if (tcp) tcp.write(framed(frame));
    else socket.send(frame, { binary: false, compress: false });
  }

  close(code: number, reason: string): void {
    closeSocket(this.socket, code, reason);
  }
}

/** Frames a socket may send after `auth` and before its answer; more is a misbehaving client. */
const MAX_FRAMES_BEFORE_AUTH = 32;

/**
 * Frames written to one socket in one turn of the event loop leave in one write: a batch of store
 * replies resolves dozens of `ok`s for the same sender at once, and each would otherwise cost its
 * own syscall. `_socket` is ws's underlying net.Socket (ws 8 is pinned).
 */
const corked = new Set<Duplex>();
/** Corks the socket's TCP stream until the next turn; returns that stream. */
function corkUntilNextTurn(socket: WebSocket): Socket | undefined {
  const tcp = (socket as unknown as { _socket?: Socket })._socket;
  if (tcp) corkStream(tcp);
  return tcp;
}
function corkStream(tcp: Duplex): void {
  if (corked.has(tcp)) return;
  if (corked.size === 0) setImmediate(uncorkAll);
  corked.add(tcp);
  tcp.cork();
}

/**
 * The last payload framed, and its frame. A server's frames are not masked, so one payload makes
 * the same bytes for every socket: the hub hands one Buffer to each recipient of a delivery
 * (`sendToLocal`), and a message to a group of 1,000 is framed once, not 1,000 times (an
 * allocation and a copy of the payload each). Sockets only read what they are given to write.
 */
let lastPayload: Buffer | null = null;
let lastFrame: Buffer | null = null;
export function framed(payload: Buffer): Buffer {
  if (payload !== lastPayload) {
    lastFrame = textFrame(payload);
    lastPayload = payload;
  }
  return lastFrame!;
}

/**
 * An unmasked server-to-client text frame (RFC 6455 §5.2: FIN + opcode 1, then the payload
 * length in 7, 7 + 16 or 7 + 64 bits) holding `payload`, in one buffer.
 */
export function textFrame(payload: Buffer): Buffer {
  const length = payload.length;
  const header = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = 0x81;
  if (length < 126) {
    frame[1] = length;
  } else if (length < 65536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  payload.copy(frame, header);
  return frame;
}
function uncork(socket: WebSocket): void {
  const tcp = (socket as unknown as { _socket?: Socket })._socket;
  if (!tcp || !corked.delete(tcp)) return;
  tcp.uncork();
}
function uncorkAll(): void {
  for (const tcp of corked) tcp.uncork();
  corked.clear();
}

function closeSocket(socket: WebSocket, code: number, reason: string): void {
  if (socket.readyState === 2 || socket.readyState === 3) return;
  socket.close(code, reason);
  // A peer that never answers the close handshake (or cannot, being too slow) is dropped.
  setTimeout(() => socket.terminate(), 2000).unref();
}

export class WebSocketTransport<C extends AccessClaims = AccessClaims> {
  private readonly wss: WebSocketServer;
  private readonly states = new Map<WebSocket, SocketState<C>>();
  private readonly socketsByUser = new Map<string, number>();
  private readonly unauthenticatedByAddress = new Map<string, number>();
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private accepting = true;

  constructor(readonly deps: TransportDeps<C>) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: limits.maxFrameBytes,
      perMessageDeflate: false,
      clientTracking: false,
    });
  }

  /** Serves `GET /ws` upgrades on the HTTP server fastify listens with. */
  attach(server: Server): void {
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', destroyOnError);
      this.onUpgrade(request, socket, head).catch((error: unknown) => {
        this.deps.log.warn({ err: error }, 'WebSocket upgrade failed');
        socket.destroy();
      });
    });
    this.heartbeat = setInterval(() => this.beat(), this.deps.heartbeatMs);
    this.heartbeat.unref();
  }

  get socketCount(): number {
    return this.states.size;
  }

  /** Sockets not read from because they have the most frames in flight. */
  get pausedCount(): number {
    let n = 0;
    for (const state of this.states.values()) if (state.paused) n++;
    return n;
  }

  /** Refuses new sockets and closes every open one with `code` (1012 on restart). */
  async drain(code: number = closeCodes.restart.code, reason = 'server restart'): Promise<void> {
    this.accepting = false;
    clearInterval(this.heartbeat);
    for (const socket of this.states.keys()) closeSocket(socket, code, reason);
    const deadline = Date.now() + 3000;
    while (this.states.size > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    for (const socket of this.states.keys()) socket.terminate();
  }

  private async onUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const path = (request.url ?? '').split('?')[0];
    if (path !== '/ws') return refuse(socket, 404, 'Not Found');
    if (!this.accepting) return refuse(socket, 503, 'Service Unavailable');
    const hostError = this.deps.hostRefused?.(request.headers.host);
    if (hostError) return refuse(socket, 400, 'Bad Request', hostError);
    const origin = request.headers.origin;
    if (origin !== undefined && !this.deps.originAllowed(origin, request.headers.host)) {
      return refuse(socket, 403, 'Forbidden');
    }
    const header = request.headers.authorization;
    if (header !== undefined) {
      const token = /^Bearer (.+)$/i.exec(header)?.[1];
      let unavailable = false;
      const claims = await this.authenticate(token).catch((error: unknown) => {
        unavailable = isUnavailable(error);
        return null;
      });
      // The database is away: not the token's fault, so no 4401 (which would make the client
      // refresh its token, or give up): a 503 it retries with backoff.
      if (unavailable) return refuse(socket, 503, 'Service Unavailable');
      return this.upgrade(request, socket, head, claims, noop);
    }
    // Until its `auth` frame passes, a socket counts against its address, so one host cannot
    // hold thousands of sockets that never authenticate (each lives 10 s, then 4408).
    const address = this.deps.clientAddress(request);
    const waiting = this.unauthenticatedByAddress.get(address) ?? 0;
    if (waiting >= this.deps.maxUnauthenticatedPerAddress)
      return refuse(socket, 429, 'Too Many Requests');
    this.unauthenticatedByAddress.set(address, waiting + 1);
    let counted = true;
    const authenticated = () => {
      if (!counted) return;
      counted = false;
      const left = (this.unauthenticatedByAddress.get(address) ?? 1) - 1;
      if (left > 0) this.unauthenticatedByAddress.set(address, left);
      else this.unauthenticatedByAddress.delete(address);
    };
    // The raw socket closes however the upgrade ends, even when it never completes.
    socket.once('close', authenticated);
    this.upgrade(request, socket, head, undefined, authenticated);
  }

  /**
   * Hands the socket to ws. `claims`: from the Authorization header (null: refused, closed with
   * 4401 once upgraded), or undefined for a socket that authenticates with its first frame.
   * Kept apart from `onUpgrade`, so that no socket's closures hold the request or its headers.
   */
  private upgrade(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    claims: C | null | undefined,
    authenticated: () => void,
  ): void {
    // ws listens for errors from here on (and the WebSocket after it).
    socket.removeListener('error', destroyOnError);
    // Authenticated by its header: ws's 101 and the `ready` sent in this same turn (the user is
    // fetched before the upgrade) leave in one write, instead of a syscall and a packet each.
    if (claims) corkStream(socket);
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      if (claims === null) return closeSocket(ws, closeCodes.unauthorized.code, 'unauthorized');
      this.onSocket(ws, claims, authenticated);
    });
  }

  /**
   * Checks a token at once, in the turn that read it: the store client gathers every call of a
   * turn into one message to the SQLite worker (worker-store.ts), so the handshakes read in one
   * poll phase still share one worker round trip. Deferring them to the end of the turn (as
   * `authenticateSoon` did) only moved that message a loop iteration later.
   */
  authenticate(token: string | undefined): Promise<C> {
    try {
      return this.deps.authenticate(token);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private onSocket(ws: WebSocket, claims: C | undefined, authenticated: () => void): void {
    const state = new SocketState(this, ws, authenticated);
    this.states.set(ws, state);
    (ws as unknown as Record<typeof kState, SocketState<C>>)[kState] = state;
    ws.on('pong', onPong);
    ws.on('message', onMessage);
    ws.on('error', onError);
    ws.on('close', onClose);
    if (claims) state.open(claims);
    else state.awaitAuth(this.deps.authTimeoutMs ?? limits.authTimeoutMs);
  }

  /** Counts an authenticated socket of `userId`; false if the user holds the most already. */
  countUser(userId: string): boolean {
    const held = this.socketsByUser.get(userId) ?? 0;
    if (held >= this.deps.maxSocketsPerUser) return false;
    this.socketsByUser.set(userId, held + 1);
    return true;
  }

  /** A socket of `userId` counted by `countUser` closed. */
  uncountUser(userId: string): void {
    const left = (this.socketsByUser.get(userId) ?? 1) - 1;
    if (left > 0) this.socketsByUser.set(userId, left);
    else this.socketsByUser.delete(userId);
  }

  forget(ws: WebSocket): void {
    this.states.delete(ws);
  }

  async authenticateFirstFrame(text: string): Promise<C> {
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      throw new LetterError('unauthorized');
    }
    const { type, token } = (frame ?? {}) as { type?: unknown; token?: unknown };
    if (type !== 'auth' || typeof token !== 'string') throw new LetterError('unauthorized');
    return this.authenticate(token);
  }

  /** Terminates sockets that did not answer the previous ping. */
  private beat(): void {
    for (const [ws, state] of this.states) {
      // A paused socket's pong waits unread behind its frames: we are the slow side.
      if (state.paused) continue;
      if (!state.alive) {
        ws.terminate();
        continue;
      }
      state.alive = false;
      ws.ping();
    }
  }
}

const noop = (): void => {};

/** Until ws takes an upgrading socket over, an error (a reset) just ends it. */
function destroyOnError(this: Duplex): void {
  this.destroy();
}

function refuse(socket: Duplex, status: number, text: string, body?: object): void {
  const json = body ? Buffer.from(JSON.stringify(body)) : Buffer.alloc(0);
  const type = body ? 'Content-Type: application/json\r\n' : '';
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\n${type}Content-Length: ${json.length}\r\n\r\n${json}`,
  );
}

const isUnavailable = (error: unknown): boolean =>
  error instanceof LetterError && error.code === 'unavailable';

/**
 * One socket, from its upgrade to its close: its authentication, and the flow of its frames to
 * the handler (at most `limits.maxFramesInFlight` at once, the rest waiting in order, the socket
 * not read from meanwhile).
 *
 * A class with shared listeners, not closures: an idle node holds one of these per socket, and
 * a handshake makes one object instead of about ten closures and their contexts
 * (docs/performance.md, "Connect + auth (27 Nov, round four)"). The ws listeners are module
 * functions that find their state on the WebSocket (`kState`).
 */
class SocketState<C extends AccessClaims> {
  /** Answered the last ping (or sent something since). */
  alive = true;
  connection: WsConnection | undefined = undefined;
  /** Not read from while it has the most frames in flight: it cannot answer pings then. */
  paused = false;
  private handler: SocketHandler | undefined = undefined;
  private authTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  private countedUser: string | undefined = undefined;
  private authenticating = false;
  /** Frames a client pipelines behind its `auth` frame: they wait for the verdict. */
  private early: string[] | undefined = undefined;
  private inFlight = 0;
  /** Frames read while at the limit, in order. */
  private waiting: string[] | undefined = undefined;
  /** `done`, bound once, made on the first frame whose handling is asynchronous. */
  private settle: (() => void) | undefined = undefined;

  constructor(
    private readonly transport: WebSocketTransport<C>,
    private readonly ws: WebSocket,
    /** Releases the socket's count against its address (a no-op for header authentication). */
    private readonly authenticated: () => void,
  ) {}

  open(claims: C): void {
    this.authenticated();
    const transport = this.transport;
    if (!transport.countUser(claims.userId)) {
      return closeSocket(this.ws, closeCodes.policy.code, 'too many sockets for this user');
    }
    this.countedUser = claims.userId;
    const connection = new WsConnection(
      this.ws,
      claims.userId,
      claims.sessionId,
      transport.deps.maxBufferedBytes,
    );
    this.connection = connection;
    this.handler = transport.deps.onOpen(connection, claims);
  }

  /** A socket with no Authorization header: closed with 4408 unless its `auth` frame comes. */
  awaitAuth(timeoutMs: number): void {
    this.authTimer = setTimeout(closeForTimeout, timeoutMs, this.ws);
  }

  message(data: RawData, isBinary: boolean): void {
    const ws = this.ws;
    if (ws.readyState !== 1) return; // closing: e.g. refused for too many sockets
    this.alive = true;
    const text = isBinary ? '' : data.toString();
    if (this.handler) return this.receive(text);
    if (this.authenticating) {
      if ((this.early ??= []).length < MAX_FRAMES_BEFORE_AUTH) this.early.push(text);
      else closeSocket(ws, closeCodes.policy.code, 'too many frames before auth');
      return;
    }
    this.authenticating = true;
    this.transport
      .authenticateFirstFrame(text)
      .then(
        (claims) => this.authPassed(claims),
        (error: unknown) => this.authFailed(error),
      )
      .catch((error: unknown) => {
        this.transport.deps.log.warn({ err: error }, 'opening a socket failed');
        closeSocket(ws, 1011, 'internal error');
      });
  }

  private authPassed(claims: C): void {
    clearTimeout(this.authTimer);
    if (this.ws.readyState !== 1) return;
    this.open(claims);
    if (!this.handler) return;
    const pipelined = this.early ?? [];
    this.early = undefined;
    for (const text of pipelined) this.receive(text);
  }

  private authFailed(error: unknown): void {
    clearTimeout(this.authTimer);
    if (isUnavailable(error)) closeSocket(this.ws, closeCodes.unavailable.code, 'try again later');
    else closeSocket(this.ws, closeCodes.unauthorized.code, 'unauthorized');
  }

  private receive(text: string): void {
    if (this.inFlight >= limits.maxFramesInFlight || this.waiting?.length) {
      (this.waiting ??= []).push(text);
    } else this.run(text);
    if (this.inFlight >= limits.maxFramesInFlight && !this.paused) {
      // ws may still emit the frames of data it already read; they wait in `waiting`.
      this.paused = true;
      this.ws.pause();
    }
  }

  private run(text: string): void {
    this.inFlight++;
    const handled = this.handler?.onText(text);
    if (handled) {
      const settle = (this.settle ??= () => this.done());
      void handled.then(settle, settle);
    } else this.done();
  }

  private done(): void {
    this.inFlight--;
    const waiting = this.waiting;
    while (this.inFlight < limits.maxFramesInFlight && waiting && waiting.length > 0)
      this.run(waiting.shift()!);
    if (this.paused && this.inFlight < limits.maxFramesInFlight) {
      this.paused = false;
      this.ws.resume();
    }
  }

  error(error: Error): void {
    this.transport.deps.log.warn({ err: error.message }, 'socket error');
  }

  closed(): void {
    clearTimeout(this.authTimer);
    this.authenticated();
    this.transport.forget(this.ws);
    if (this.waiting) this.waiting.length = 0;
    if (this.countedUser !== undefined) this.transport.uncountUser(this.countedUser);
    this.handler?.onClose();
  }
}

/** Where a WebSocket's `SocketState` is, for the listeners shared by every socket. */
const kState = Symbol('letter.socketState');
const stateOf = (ws: WebSocket): SocketState<AccessClaims> =>
  (ws as unknown as Record<typeof kState, SocketState<AccessClaims>>)[kState];

function onPong(this: WebSocket): void {
  stateOf(this).alive = true;
}
function onMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  stateOf(this).message(data, isBinary);
}
function onError(this: WebSocket, error: Error): void {
  stateOf(this).error(error);
}
function onClose(this: WebSocket): void {
  stateOf(this).closed();
}
function closeForTimeout(ws: WebSocket): void {
  closeSocket(ws, closeCodes.auth_timeout.code, 'auth timeout');
}
