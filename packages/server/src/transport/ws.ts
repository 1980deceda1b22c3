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
import { WebSocketServer, type WebSocket } from 'ws';
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

interface SocketState {
  alive: boolean;
  connection: WsConnection | undefined;
  /** Not read from while it has the most frames in flight: it cannot answer pings then. */
  paused: boolean;
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
    if (tcp) tcp.write(textFrame(frame));
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
  private readonly states = new Map<WebSocket, SocketState>();
  private readonly socketsByUser = new Map<string, number>();
  private readonly unauthenticatedByAddress = new Map<string, number>();
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private accepting = true;

  constructor(private readonly deps: TransportDeps<C>) {
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
  private authenticate(token: string | undefined): Promise<C> {
    try {
      return this.deps.authenticate(token);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private onSocket(ws: WebSocket, claims: C | undefined, authenticated: () => void): void {
    const state: SocketState = { alive: true, connection: undefined, paused: false };
    this.states.set(ws, state);
    let handler: SocketHandler | undefined;
    let authTimer: ReturnType<typeof setTimeout> | undefined;
    let countedUser: string | undefined;
    const open = (claims: C) => {
      authenticated();
      const held = this.socketsByUser.get(claims.userId) ?? 0;
      if (held >= this.deps.maxSocketsPerUser) {
        return closeSocket(ws, closeCodes.policy.code, 'too many sockets for this user');
      }
      this.socketsByUser.set(claims.userId, held + 1);
      countedUser = claims.userId;
      const connection = new WsConnection(
        ws,
        claims.userId,
        claims.sessionId,
        this.deps.maxBufferedBytes,
      );
      state.connection = connection;
      handler = this.deps.onOpen(connection, claims);
    };
    // Frames in flight, and those read while at the limit, which wait here in order.
    let inFlight = 0;
    const waiting: string[] = [];
    const done = () => {
      inFlight--;
      while (inFlight < limits.maxFramesInFlight && waiting.length > 0) run(waiting.shift()!);
      if (state.paused && inFlight < limits.maxFramesInFlight) {
        state.paused = false;
        ws.resume();
      }
    };
    const run = (text: string) => {
      inFlight++;
      const handled = handler?.onText(text);
      if (handled) void handled.then(done, done);
      else done();
    };
    const receive = (text: string) => {
      if (inFlight >= limits.maxFramesInFlight || waiting.length > 0) waiting.push(text);
      else run(text);
      if (inFlight >= limits.maxFramesInFlight && !state.paused) {
        // ws may still emit the frames of data it already read; they wait in `waiting`.
        state.paused = true;
        ws.pause();
      }
    };
    if (claims) open(claims);
    else {
      authTimer = setTimeout(
        () => closeSocket(ws, closeCodes.auth_timeout.code, 'auth timeout'),
        this.deps.authTimeoutMs ?? limits.authTimeoutMs,
      );
    }
    let authenticating = false;
    // Frames a client pipelines behind its `auth` frame wait for the verdict, not the void.
    let early: string[] | undefined;
    ws.on('pong', () => (state.alive = true));
    ws.on('message', (data, isBinary) => {
      if (ws.readyState !== 1) return; // closing: e.g. refused for too many sockets
      state.alive = true;
      const text = isBinary ? '' : data.toString();
      if (handler) return receive(text);
      if (authenticating) {
        if ((early ??= []).length < MAX_FRAMES_BEFORE_AUTH) early.push(text);
        else closeSocket(ws, closeCodes.policy.code, 'too many frames before auth');
        return;
      }
      authenticating = true;
      this.authenticateFirstFrame(text)
        .then(
          (claims) => {
            clearTimeout(authTimer);
            if (ws.readyState !== 1) return;
            open(claims);
            if (!handler) return;
            const pipelined = early ?? [];
            early = undefined;
            for (const text of pipelined) receive(text);
          },
          (error: unknown) => {
            clearTimeout(authTimer);
            if (isUnavailable(error))
              closeSocket(ws, closeCodes.unavailable.code, 'try again later');
            else closeSocket(ws, closeCodes.unauthorized.code, 'unauthorized');
          },
        )
        .catch((error: unknown) => {
          this.deps.log.warn({ err: error }, 'opening a socket failed');
          closeSocket(ws, 1011, 'internal error');
        });
    });
    ws.on('error', (error) => this.deps.log.warn({ err: error.message }, 'socket error'));
    ws.on('close', () => {
      clearTimeout(authTimer);
      authenticated();
      this.states.delete(ws);
      waiting.length = 0;
      if (countedUser !== undefined) {
        const left = (this.socketsByUser.get(countedUser) ?? 1) - 1;
        if (left > 0) this.socketsByUser.set(countedUser, left);
        else this.socketsByUser.delete(countedUser);
      }
      handler?.onClose();
    });
  }

  private async authenticateFirstFrame(text: string): Promise<C> {
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
