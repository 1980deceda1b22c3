/**
 * One authenticated socket, from its `ready` frame to its close: the transport's handler for its
 * text frames and the router's frame context at once.
 *
 * A class, not closures: an idle node holds one of these per socket, so what each holds is the
 * per-connection memory of the server (docs/performance.md, "Handshake and idle connections").
 * The methods live on the prototype; the close signal (an AbortController with its EventTarget
 * and two maps, about 0.7 KiB) is made only when a frame asks for it (a `sync`).
 */
import { closeCodes, LetterError } from '@letter/protocol';
import { HeldConnection } from '../hub/held-connection.js';
import type { Connection, Hub } from '../hub/hub.js';
import type { Presence } from '../presence/presence.js';
import type { UserRecord } from '../store/store.js';
import type { SocketHandler } from '../transport/ws.js';
import type { FrameContext, FrameRouter } from './frames.js';

/** What every session of a node shares. */
export interface SessionDeps {
  hub: Hub;
  presence: Presence;
  router: FrameRouter;
  log: {
    warn(details: object, message: string): void;
    error(details: object, message: string): void;
  };
}

/** A frame that came before `ready`, with the resolve of its in-flight promise. */
interface Early {
  text: string;
  done: () => void;
}

export class Session implements SocketHandler, FrameContext {
  readonly connection: HeldConnection;
  /** `opening` until `ready` is sent (frames wait in `early`), `ended` once closed. */
  private state: 'opening' | 'open' | 'ended' = 'opening';
  private early: Early[] | undefined;
  private attached = false;
  private closed: AbortController | undefined;

  constructor(
    socket: Connection,
    private readonly deps: SessionDeps,
  ) {
    this.connection = new HeldConnection(socket);
  }

  /**
   * Sends `ready` once the user is known, before anything else; frames that arrive meanwhile
   * wait their turn (they count as in flight for the transport, so it stops reading beyond its
   * limit).
   */
  start(user: Promise<UserRecord | null>): this {
    user
      .then(
        (record) => this.opened(record),
        (error: unknown) => {
          // The database is away (or worse): this socket ends, the sdk reconnects with backoff.
          this.deps.log.warn({ err: error }, 'opening a session failed');
          if (error instanceof LetterError && error.code === 'unavailable')
            this.connection.close(closeCodes.unavailable.code, 'try again later');
          else this.connection.close(1011, 'internal error');
          this.flush(false);
        },
      )
      .catch((error: unknown) => this.deps.log.error({ err: error }, 'opening a session failed'));
    return this;
  }

  /** Aborted once the socket closed: work for it stops (a `sync` reads no further). */
  get signal(): AbortSignal {
    if (!this.closed) {
      this.closed = new AbortController();
      if (this.state === 'ended') this.closed.abort();
    }
    return this.closed.signal;
  }

  reply(frame: object): void {
    this.replyJson(JSON.stringify(frame));
  }

  replyJson(json: string): void {
    this.connection.sendDirect(Buffer.from(json));
  }

  onText(text: string): Promise<void> | void {
    if (this.state !== 'opening') return this.deps.router.handle(this, text);
    const early = (this.early ??= []);
    return new Promise<void>((done) => early.push({ text, done }));
  }

  onClose(): void {
    this.state = 'ended';
    this.closed?.abort();
    this.flush(false);
    if (!this.attached) return;
    this.deps.hub.detach(this.connection);
    this.deps.presence.disconnect(this.connection.userId);
  }

  private opened(user: UserRecord | null): void {
    if (this.state === 'ended') return this.flush(false);
    if (!user) {
      this.connection.close(4401, 'unknown user');
      return this.flush(false);
    }
    this.reply({
      type: 'ready',
      user: { id: user.id, username: user.username, displayName: user.displayName },
      sessionId: this.connection.sessionId,
    });
    this.deps.hub.attach(this.connection);
    this.deps.presence.connect(this.connection.userId);
    this.attached = true;
    this.state = 'open';
    // In this same turn: a `sync` among them holds live events before any can arrive.
    this.flush(true);
  }

  private flush(run: boolean): void {
    const early = this.early;
    this.early = undefined;
    if (this.state === 'opening') this.state = 'open';
    for (const { text, done } of early ?? []) {
      if (run) void this.deps.router.handle(this, text).then(done);
      else done();
    }
  }
}
