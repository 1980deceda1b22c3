/**
 * Reports read and delivered positions. Positions only move forward on the server, so only the
 * highest seq per conversation matters: a queue of "latest wanted" values, flushed when online
 * and re-queued when a send is lost to a disconnect.
 *
 * At most one report per conversation and kind each interval (`POSITION_INTERVAL_MS`, up to half
 * as long again at random): the first goes out at once (a burst of messages still makes one
 * frame), later ones wait for the interval. In a busy group every member reports every message it
 * receives, and the server tells each move to the senders it concerns: without the interval a
 * group of 1,000 at 20 msg/s would send the server 20,000 reports a second. The random part keeps
 * members who all received the same message from reporting in step ever after. Ticks then lag by
 * at most the interval, only while messages keep coming.
 *
 * In a group of more than `limits.receiptEveryoneMax` members, a report that would go out at once
 * (after a silence, or a reconnect) waits too, at random up to `FIRST_SPREAD_MS`: every member's
 * client receives the first message after a quiet spell in the same few milliseconds, and would
 * otherwise all answer at once (2,000 frames from a group of 1,000, in front of the next
 * message's fan-out). The sender's double tick in such a group waits for every member anyway; a
 * direct chat's and a small group's first report still goes out at once.
 */
import { limits } from '@letter/protocol';
import type { Clock, Random, TimerHandle } from './clock.js';
import type { ConnectionStatus, OutgoingFrame } from './connection.js';
import { DisconnectedError, LetterError, TimeoutError } from './errors.js';

export interface PositionTransport {
  readonly status: ConnectionStatus;
  request(frame: OutgoingFrame): Promise<unknown>;
}

type Kind = 'read' | 'delivered';

export interface PositionReporterOptions {
  onError(error: unknown): void;
  clock: Clock;
  random: Random;
  /** Whether a conversation has more than `limits.receiptEveryoneMax` members. */
  crowded?(conversationId: string): boolean;
  /**
   * The server took a report: `seq` is the position it now holds. The socket that reports hears
   * no receipt of its own move (the answer is its receipt), so this is where the client's own
   * member position moves.
   */
  moved?(kind: Kind, conversationId: string, seq: number): void;
}

export const POSITION_INTERVAL_MS = limits.positionIntervalMs;

/** The longest a crowded conversation's report waits when it would go out at once (see above). */
export const FIRST_SPREAD_MS = limits.positionSpreadMs;

export class PositionReporter {
  private readonly queued: Record<Kind, Map<string, number>> = {
    read: new Map(),
    delivered: new Map(),
  };
  private readonly sent: Record<Kind, Map<string, number>> = {
    read: new Map(),
    delivered: new Map(),
  };
  /** When each conversation's next report of each kind may go out. */
  private readonly dueAt: Record<Kind, Map<string, number>> = {
    read: new Map(),
    delivered: new Map(),
  };
  private scheduled = false;
  private timer: TimerHandle | null = null;
  private timerAt = Infinity;

  private readonly onError: (error: unknown) => void;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly crowded: (conversationId: string) => boolean;
  private readonly moved: (kind: Kind, conversationId: string, seq: number) => void;

  constructor(
    private readonly transport: PositionTransport,
    options: PositionReporterOptions,
  ) {
    this.onError = options.onError;
    this.clock = options.clock;
    this.random = options.random;
    this.crowded = options.crowded ?? (() => false);
    this.moved = options.moved ?? (() => {});
  }

  read(conversationId: string, seq: number): void {
    this.queue('read', conversationId, seq);
  }

  delivered(conversationId: string, seq: number): void {
    this.queue('delivered', conversationId, seq);
  }

  /** Sends everything queued whose interval has passed, if connected; the rest when it has. */
  flush(): void {
    if (this.transport.status !== 'online') return;
    const now = this.clock.now();
    let next = Infinity;
    for (const kind of ['read', 'delivered'] as const) {
      for (const [conversationId, seq] of this.queued[kind]) {
        const due = this.dueAt[kind].get(conversationId) ?? -Infinity;
        if (due > now) {
          next = Math.min(next, due);
          continue;
        }
        this.queued[kind].delete(conversationId);
        this.dueAt[kind].set(conversationId, now + POSITION_INTERVAL_MS * (1 + this.random() / 2));
        this.send(kind, conversationId, seq);
      }
    }
    if (next !== Infinity) this.wakeAt(next);
  }

  forget(conversationId: string): void {
    for (const kind of ['read', 'delivered'] as const) {
      this.queued[kind].delete(conversationId);
      this.sent[kind].delete(conversationId);
      this.dueAt[kind].delete(conversationId);
    }
  }

  reset(): void {
    for (const kind of ['read', 'delivered'] as const) {
      this.queued[kind].clear();
      this.sent[kind].clear();
      this.dueAt[kind].clear();
    }
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  private send(kind: Kind, conversationId: string, seq: number): void {
    this.transport.request({ type: kind, conversationId, seq }).then(
      (answer) => {
        const sent = this.sent[kind];
        sent.set(conversationId, Math.max(sent.get(conversationId) ?? 0, seq));
        const held = (answer as { seq?: unknown } | undefined)?.seq;
        if (typeof held === 'number' && held > 0) this.moved(kind, conversationId, held);
      },
      (error: unknown) => {
        if (error instanceof DisconnectedError || error instanceof TimeoutError) {
          // Lost with the connection: due again at once when it is back.
          this.dueAt[kind].delete(conversationId);
          this.queue(kind, conversationId, seq, false);
        } else if (!(error instanceof LetterError && error.code === 'not_found')) {
          this.onError(error);
        }
      },
    );
  }

  /** One timer, for the earliest report waiting for its interval. */
  private wakeAt(at: number): void {
    if (this.timer !== null) {
      if (this.timerAt <= at) return;
      this.clock.clearTimeout(this.timer);
    }
    this.timerAt = at;
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      this.flush();
    }, at - this.clock.now());
  }

  private queue(kind: Kind, conversationId: string, seq: number, schedule = true): void {
    const known = Math.max(
      this.queued[kind].get(conversationId) ?? 0,
      this.sent[kind].get(conversationId) ?? 0,
    );
    if (seq <= known) return;
    if (!this.queued[kind].has(conversationId) && this.crowded(conversationId)) {
      const now = this.clock.now();
      const due = this.dueAt[kind];
      if (!((due.get(conversationId) ?? -Infinity) > now)) {
        due.set(conversationId, now + this.random() * FIRST_SPREAD_MS);
      }
    }
    this.queued[kind].set(conversationId, seq);
    if (!schedule || this.scheduled) return;
    // A burst of messages becomes one frame per conversation.
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.flush();
    });
  }
}
