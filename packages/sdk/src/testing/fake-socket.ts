/**
 * An in-memory WebSocket pair: `FakeClientSocket` is what the sdk holds (it fits
 * `WebSocketConstructor` through FakeServer.WebSocket), `FakeServerSocket` is the server's end,
 * which tests steer: send frames, close with a code, or drop the line after N more frames.
 * Everything is delivered through microtasks, in order, like a real socket.
 */
import type { SocketCloseEvent, SocketMessageEvent, WebSocketLike } from '../socket.js';

export interface FakeSocketHost {
  /** A client connected; false refuses the handshake (the client sees 1006). */
  accept(socket: FakeServerSocket): boolean;
  receive(socket: FakeServerSocket, data: string): void;
  closed(socket: FakeServerSocket): void;
}

export class FakeClientSocket implements WebSocketLike {
  readyState = 0;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: SocketMessageEvent) => void) | null = null;
  onclose: ((event: SocketCloseEvent) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  readonly peer: FakeServerSocket;

  constructor(
    readonly url: string,
    host: FakeSocketHost,
  ) {
    this.peer = new FakeServerSocket(this, host);
    queueMicrotask(() => {
      if (this.readyState !== 0) return;
      if (!host.accept(this.peer)) {
        this.peer.open = false;
        this.readyState = 3;
        this.onclose?.({ code: 1006, reason: 'refused' });
        return;
      }
      this.readyState = 1;
      this.onopen?.({});
    });
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('socket is not open');
    const peer = this.peer;
    queueMicrotask(() => peer.fromClient(data));
  }

  close(code = 1000, reason = ''): void {
    if (this.readyState >= 2) return;
    this.readyState = 2;
    queueMicrotask(() => {
      this.readyState = 3;
      this.peer.closedByClient();
      this.onclose?.({ code, reason });
    });
  }

  /** @internal server → client */
  deliver(data: string): void {
    queueMicrotask(() => {
      if (this.readyState === 1) this.onmessage?.({ data });
    });
  }

  /** @internal the server closed; `abrupt` loses frames still in flight. */
  closeFromServer(code: number, reason: string, abrupt: boolean): void {
    if (this.readyState === 3) return;
    const finish = () => {
      if (this.readyState === 3) return;
      this.readyState = 3;
      this.onclose?.({ code, reason });
    };
    if (abrupt) {
      this.readyState = 3;
      queueMicrotask(() => this.onclose?.({ code, reason }));
    } else {
      // Frames already in flight are delivered before the close, as TCP would.
      queueMicrotask(finish);
    }
  }
}

export class FakeServerSocket {
  open = true;
  userId: string | null = null;
  sessionId: string | null = null;
  /** Every frame delivered to the client, for assertions. */
  readonly sent: Record<string, unknown>[] = [];
  /** Every frame the client sent, parsed. */
  readonly received: Record<string, unknown>[] = [];
  /** Deliver this many more frames, then drop the line (1006) and lose the rest. */
  failAfter: number | null = null;
  /** Frames for which this returns true never reach the client (a lossy path). */
  lose: ((frame: Record<string, unknown>) => boolean) | null = null;

  constructor(
    readonly client: FakeClientSocket,
    private readonly host: FakeSocketHost,
  ) {}

  send(frame: Record<string, unknown>): void {
    if (!this.open || this.lose?.(frame)) return;
    if (this.failAfter !== null) {
      if (this.failAfter <= 0) return this.drop(false);
      this.failAfter--;
    }
    this.sent.push(frame);
    this.client.deliver(JSON.stringify(frame));
  }

  /** A clean close from the server: frames already sent arrive first. */
  close(code: number, reason = ''): void {
    if (!this.open) return;
    this.open = false;
    this.host.closed(this);
    this.client.closeFromServer(code, reason, false);
  }

  /** The line dies (1006); `abrupt` loses frames still in flight, else they arrive first. */
  drop(abrupt = true): void {
    if (!this.open) return;
    this.open = false;
    this.host.closed(this);
    this.client.closeFromServer(1006, '', abrupt);
  }

  /** @internal */
  fromClient(data: string): void {
    if (!this.open) return;
    try {
      this.received.push(JSON.parse(data) as Record<string, unknown>);
    } catch {
      // The host answers unparseable frames itself.
    }
    this.host.receive(this, data);
  }

  /** @internal */
  closedByClient(): void {
    if (!this.open) return;
    this.open = false;
    this.host.closed(this);
  }
}
