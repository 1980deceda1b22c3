/**
 * A connection that can hold live events while its client catches up with `sync`.
 *
 * Without it, events committed during a sync reach the client before the older messages the
 * sync replays, and the wire order is no longer seq order. While held, frames queue here; on
 * release, queued `message` frames the replay already carried are dropped, the rest follow the
 * replay in the order they came.
 */
import type { Connection, MessageKey } from './hub.js';

/** A sync that leaves this many frames queued has a client too far behind: cut it off. */
const MAX_HELD = 10_000;

export class HeldConnection implements Connection {
  readonly id: string;
  readonly userId: string;
  readonly sessionId: string;
  private held: { frame: Buffer; key: MessageKey | undefined }[] | null = null;
  private holds = 0;

  constructor(private readonly inner: Connection) {
    this.id = inner.id;
    this.userId = inner.userId;
    this.sessionId = inner.sessionId;
  }

  send(frame: Buffer, key?: MessageKey): void {
    if (!this.held) return this.inner.send(frame, key);
    if (this.held.length >= MAX_HELD) return this.inner.close(1008, 'too far behind');
    this.held.push({ frame, key });
  }

  /** Sends straight through, ahead of anything held (replies and replayed history). */
  sendDirect(frame: Buffer): void {
    this.inner.send(frame);
  }

  close(code: number, reason: string): void {
    this.inner.close(code, reason);
  }

  hold(): void {
    this.holds++;
    this.held ??= [];
  }

  /** Ends one hold; `replayed` is the highest seq the replay sent per conversation. */
  release(replayed: ReadonlyMap<string, number>): void {
    if (--this.holds > 0 || !this.held) return;
    const held = this.held;
    this.held = null;
    for (const { frame, key } of held) {
      if (key && key.seq <= (replayed.get(key.conversationId) ?? 0)) continue;
      this.inner.send(frame, key);
    }
  }
}
