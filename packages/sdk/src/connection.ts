/**
 * One logical WebSocket connection that outlives its sockets: first-frame auth, request/answer
 * by frame `id` with timeouts, an app-level `ping` heartbeat (TCP can stay "open" for minutes
 * after the network is gone), and reconnection with full-jitter backoff driven by what the close
 * code says (`closeAction`: reconnect, refresh the token first, or stop).
 *
 * The backoff resets only after a connection stayed up for `stableAfterMs`, not on `ready`: a
 * server that accepts and then closes at once (1008, 1012 during a rolling restart) must not be
 * hammered in a tight loop.
 */
import { closeAction, serverFrameSchemas } from '@letter/protocol';
import type { ClientFrame, CloseAction, ServerFrame, ServerFrameOf } from '@letter/protocol';
import { Backoff, defaultBackoff } from './backoff.js';
import type { BackoffOptions } from './backoff.js';
import type { Clock, Random, TimerHandle } from './clock.js';
import { Emitter } from './emitter.js';
import { DisconnectedError, LetterError, TimeoutError, toErrorCode } from './errors.js';
import { OPEN } from './socket.js';
import type { WebSocketConstructor, WebSocketLike } from './socket.js';

export type ConnectionStatus = 'offline' | 'connecting' | 'online' | 'reconnecting';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A frame the app sends; the connection adds `id` and sends `auth` itself. */
export type OutgoingFrame = DistributiveOmit<Exclude<ClientFrame, { type: 'auth' }>, 'id'>;
/** Every server frame except the ones the connection consumes itself. */
export type PushFrame = Exclude<ServerFrame, { type: 'ok' | 'error' | 'ready' }>;
export type ReadyFrame = ServerFrameOf<'ready'>;
export type OkFrame = Record<string, unknown> & { type: 'ok' };

export interface ConnectionAuth {
  accessToken(): Promise<string | null>;
  refresh(): Promise<string | null>;
}

export interface ConnectionTimings {
  /** A request without an answer after this long fails with `TimeoutError`. */
  requestTimeoutMs: number;
  /** From creating the socket to `ready`. */
  connectTimeoutMs: number;
  pingIntervalMs: number;
  pingTimeoutMs: number;
  /** Connected this long → the backoff starts over. */
  stableAfterMs: number;
}

export const defaultTimings: ConnectionTimings = {
  requestTimeoutMs: 15_000,
  connectTimeoutMs: 15_000,
  pingIntervalMs: 25_000,
  pingTimeoutMs: 10_000,
  stableAfterMs: 10_000,
};

export interface ConnectionOptions {
  url: string;
  WebSocket: WebSocketConstructor;
  clock: Clock;
  random: Random;
  auth: ConnectionAuth;
  backoff?: BackoffOptions;
  timings?: Partial<ConnectionTimings>;
}

export type StopReason = 'signedOut' | 'closeCode';

export interface ConnectionEvents {
  status: ConnectionStatus;
  ready: ReadyFrame;
  frame: PushFrame;
  /** Every socket close, with what the connection does about it. */
  closed: { code: number; action: CloseAction };
  /** The connection gave up on its own; `start()` again after the user acts. */
  stopped: { reason: StopReason; code?: number };
  /** A frame that could not be parsed or an error frame without request id. */
  protocolError: { message: string; frame: unknown };
}

interface Pending {
  resolve(frame: OkFrame): void;
  reject(error: Error): void;
  timer: TimerHandle;
}

/** Our own close code for a socket we abandon (dead heartbeat, connect timeout): reconnect. */
export const abandonedCode = 4000;

export class Connection {
  readonly events = new Emitter<ConnectionEvents>();
  private socket: WebSocketLike | null = null;
  private running = false;
  private everReady = false;
  private current: ConnectionStatus = 'offline';
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private reconnectTimer: TimerHandle | null = null;
  private connectTimer: TimerHandle | null = null;
  private pingTimer: TimerHandle | null = null;
  private stableTimer: TimerHandle | null = null;
  /** Bumped by every open/stop so an async open that lost the race does nothing. */
  private attemptId = 0;
  private readonly backoff: Backoff;
  private readonly timings: ConnectionTimings;

  constructor(private readonly options: ConnectionOptions) {
    this.backoff = new Backoff(options.backoff ?? defaultBackoff, options.random);
    this.timings = { ...defaultTimings, ...options.timings };
  }

  get status(): ConnectionStatus {
    return this.current;
  }

  /** Connects (and keeps reconnecting) until `stop()` or a close code that says stop. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.everReady = false;
    this.backoff.reset();
    void this.open();
  }

  stop(): void {
    this.running = false;
    this.attemptId++;
    this.clearTimers();
    const socket = this.socket;
    if (socket) {
      this.detach(socket);
      this.rejectAll(new DisconnectedError('disconnected'));
      try {
        socket.close(1000, 'client closed');
      } catch {
        // Closing a socket that never opened may throw in some implementations.
      }
    }
    this.setStatus('offline');
  }

  /** Skips the rest of a backoff wait (the browser says the network is back). */
  reconnectNow(): void {
    if (!this.running || this.reconnectTimer === null) return;
    this.options.clock.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    void this.open();
  }

  /** Sends a frame with an `id` and resolves with its `ok` (or rejects with its `error`). */
  request<T extends object = Record<string, unknown>>(
    frame: OutgoingFrame,
    timeoutMs = this.timings.requestTimeoutMs,
  ): Promise<T & OkFrame> {
    const socket = this.socket;
    if (!socket || this.current !== 'online' || socket.readyState !== OPEN) {
      return Promise.reject(new DisconnectedError());
    }
    const id = ++this.nextId;
    return new Promise<T & OkFrame>((resolve, reject) => {
      const timer = this.options.clock.setTimeout(() => {
        this.pending.delete(id);
        reject(new TimeoutError(`${frame.type} got no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (frame: OkFrame) => void, reject, timer });
      try {
        socket.send(JSON.stringify({ ...frame, id }));
      } catch {
        this.settle(id)?.reject(new DisconnectedError());
      }
    });
  }

  /** Sends a frame that needs no answer (typing); false when not connected. */
  notify(frame: OutgoingFrame): boolean {
    const socket = this.socket;
    if (!socket || this.current !== 'online' || socket.readyState !== OPEN) return false;
    try {
      socket.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  private async open(): Promise<void> {
    const attempt = ++this.attemptId;
    this.setStatus(this.everReady ? 'reconnecting' : 'connecting');
    let token: string | null;
    try {
      token = await this.options.auth.accessToken();
    } catch {
      if (attempt === this.attemptId && this.running) this.scheduleReconnect();
      return;
    }
    if (attempt !== this.attemptId || !this.running) return;
    if (!token) return this.halt('signedOut');
    let socket: WebSocketLike;
    try {
      socket = new this.options.WebSocket(this.options.url);
    } catch {
      return this.scheduleReconnect();
    }
    this.socket = socket;
    this.connectTimer = this.options.clock.setTimeout(() => {
      this.connectTimer = null;
      this.abandon(socket);
    }, this.timings.connectTimeoutMs);
    socket.onopen = () => {
      if (this.socket !== socket) return;
      // Browsers cannot set headers on a WebSocket: the token goes in the first frame.
      socket.send(JSON.stringify({ type: 'auth', token }));
    };
    socket.onmessage = (event) => {
      if (this.socket === socket) this.receive(event.data);
    };
    socket.onclose = (event) => {
      if (this.socket === socket) this.disconnected(event.code);
    };
    socket.onerror = () => {
      // A close event always follows; that is where the decision is made.
    };
  }

  private receive(data: unknown): void {
    if (typeof data !== 'string') {
      return this.events.emit('protocolError', { message: 'binary frame', frame: data });
    }
    let raw: unknown;
    try {
      raw = JSON.parse(data);
    } catch {
      return this.events.emit('protocolError', { message: 'unparseable frame', frame: data });
    }
    const type = (raw as { type?: unknown } | null)?.type;
    if (typeof type !== 'string' || !Object.hasOwn(serverFrameSchemas, type)) {
      return; // A frame type from a newer server: ignoring it keeps old clients working.
    }
    const schema = serverFrameSchemas[type as keyof typeof serverFrameSchemas];
    const result = schema.safeParse(raw);
    if (!result.success) {
      return this.events.emit('protocolError', { message: result.error.message, frame: raw });
    }
    const frame = result.data as ServerFrame;
    switch (frame.type) {
      case 'ready':
        return this.ready(frame);
      case 'ok':
        if (typeof frame.id === 'number') this.settle(frame.id)?.resolve(frame as OkFrame);
        return;
      case 'error': {
        const pending = typeof frame.id === 'number' ? this.settle(frame.id) : undefined;
        if (pending) pending.reject(new LetterError(toErrorCode(frame.code), frame.message));
        else this.events.emit('protocolError', { message: frame.message, frame });
        return;
      }
      default:
        this.events.emit('frame', frame);
    }
  }

  private ready(frame: ReadyFrame): void {
    this.clearTimer('connectTimer');
    this.everReady = true;
    this.setStatus('online');
    this.stableTimer = this.options.clock.setTimeout(() => {
      this.stableTimer = null;
      this.backoff.reset();
    }, this.timings.stableAfterMs);
    this.schedulePing();
    this.events.emit('ready', frame);
  }

  private schedulePing(): void {
    this.pingTimer = this.options.clock.setTimeout(() => {
      this.pingTimer = null;
      const socket = this.socket;
      this.request({ type: 'ping' }, this.timings.pingTimeoutMs).then(
        () => {
          if (this.socket === socket && this.current === 'online') this.schedulePing();
        },
        (error: unknown) => {
          if (error instanceof TimeoutError && socket && this.socket === socket) {
            this.abandon(socket);
          }
        },
      );
    }, this.timings.pingIntervalMs);
  }

  /** Gives up on a socket that stopped answering: a dead network may never deliver `close`. */
  private abandon(socket: WebSocketLike): void {
    if (this.socket !== socket) return;
    this.detach(socket);
    try {
      socket.close(abandonedCode, 'unresponsive');
    } catch {
      // Already closing.
    }
    this.disconnected(abandonedCode);
  }

  private disconnected(code: number): void {
    if (this.socket) this.detach(this.socket);
    this.socket = null;
    this.clearTimer('connectTimer');
    this.clearTimer('pingTimer');
    this.clearTimer('stableTimer');
    this.rejectAll(new DisconnectedError(`socket closed (${code})`));
    const action = closeAction(code);
    this.events.emit('closed', { code, action });
    if (!this.running) return this.setStatus('offline');
    if (action === 'stop') return this.halt('closeCode', code);
    if (action === 'reconnect') return this.scheduleReconnect();
    this.setStatus('reconnecting');
    const attempt = ++this.attemptId;
    this.options.auth.refresh().then(
      (token) => {
        if (attempt !== this.attemptId || !this.running) return;
        if (token) this.scheduleReconnect();
        else this.halt('signedOut');
      },
      () => {
        if (attempt === this.attemptId && this.running) this.scheduleReconnect();
      },
    );
  }

  private scheduleReconnect(): void {
    this.setStatus('reconnecting');
    this.clearTimer('reconnectTimer');
    // Even the first retry waits a jittered delay: after a 1012 every client retries at once.
    this.reconnectTimer = this.options.clock.setTimeout(() => {
      this.reconnectTimer = null;
      void this.open();
    }, this.backoff.next());
  }

  private halt(reason: StopReason, code?: number): void {
    this.running = false;
    this.clearTimers();
    this.setStatus('offline');
    this.events.emit('stopped', code === undefined ? { reason } : { reason, code });
  }

  private settle(id: number): Pending | undefined {
    const pending = this.pending.get(id);
    if (!pending) return undefined;
    this.pending.delete(id);
    this.options.clock.clearTimeout(pending.timer);
    return pending;
  }

  private rejectAll(error: Error): void {
    for (const id of [...this.pending.keys()]) this.settle(id)?.reject(error);
  }

  private detach(socket: WebSocketLike): void {
    socket.onopen = null;
    socket.onmessage = null;
    socket.onclose = null;
    socket.onerror = null;
    if (this.socket === socket) this.socket = null;
  }

  private clearTimer(name: 'reconnectTimer' | 'connectTimer' | 'pingTimer' | 'stableTimer'): void {
    const timer = this[name];
    if (timer !== null) this.options.clock.clearTimeout(timer);
    this[name] = null;
  }

  private clearTimers(): void {
    this.clearTimer('reconnectTimer');
    this.clearTimer('connectTimer');
    this.clearTimer('pingTimer');
    this.clearTimer('stableTimer');
  }

  private setStatus(status: ConnectionStatus): void {
    if (status === this.current) return;
    this.current = status;
    this.events.emit('status', status);
  }
}
