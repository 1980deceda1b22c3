/**
 * Reports read and delivered positions. Positions only move forward on the server, so only the
 * highest seq per conversation matters: a queue of "latest wanted" values, flushed when online
 * and re-queued when a send is lost to a disconnect.
 */
import type { ConnectionStatus, OutgoingFrame } from './connection.js';
import { DisconnectedError, LetterError, TimeoutError } from './errors.js';

export interface PositionTransport {
  readonly status: ConnectionStatus;
  request(frame: OutgoingFrame): Promise<unknown>;
}

type Kind = 'read' | 'delivered';

export class PositionReporter {
  private readonly queued: Record<Kind, Map<string, number>> = {
    read: new Map(),
    delivered: new Map(),
  };
  private readonly sent: Record<Kind, Map<string, number>> = {
    read: new Map(),
    delivered: new Map(),
  };
  private scheduled = false;

  constructor(
    private readonly transport: PositionTransport,
    private readonly onError: (error: unknown) => void,
  ) {}

  read(conversationId: string, seq: number): void {
    this.queue('read', conversationId, seq);
  }

  delivered(conversationId: string, seq: number): void {
    this.queue('delivered', conversationId, seq);
  }

  /** Sends everything queued, if connected. */
  flush(): void {
    if (this.transport.status !== 'online') return;
    for (const kind of ['read', 'delivered'] as const) {
      for (const [conversationId, seq] of this.queued[kind]) {
        this.queued[kind].delete(conversationId);
        this.transport.request({ type: kind, conversationId, seq }).then(
          () => {
            const sent = this.sent[kind];
            sent.set(conversationId, Math.max(sent.get(conversationId) ?? 0, seq));
          },
          (error: unknown) => {
            if (error instanceof DisconnectedError || error instanceof TimeoutError) {
              this.queue(kind, conversationId, seq, false);
            } else if (!(error instanceof LetterError && error.code === 'not_found')) {
              this.onError(error);
            }
          },
        );
      }
    }
  }

  forget(conversationId: string): void {
    for (const kind of ['read', 'delivered'] as const) {
      this.queued[kind].delete(conversationId);
      this.sent[kind].delete(conversationId);
    }
  }

  reset(): void {
    for (const kind of ['read', 'delivered'] as const) {
      this.queued[kind].clear();
      this.sent[kind].clear();
    }
  }

  private queue(kind: Kind, conversationId: string, seq: number, schedule = true): void {
    const known = Math.max(
      this.queued[kind].get(conversationId) ?? 0,
      this.sent[kind].get(conversationId) ?? 0,
    );
    if (seq <= known) return;
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
