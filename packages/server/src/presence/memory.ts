import type { Clock } from '../util/clock.js';
import type { Presence, PresenceChange } from './presence.js';

/** Presence for a single node: counts sessions per user, with an offline grace timer. */
export class MemoryPresence implements Presence {
  private readonly sessions = new Map<string, number>();
  private readonly pendingOffline = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly listeners: ((change: PresenceChange) => void)[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly graceMs: number,
  ) {}

  connect(userId: string): void {
    const count = this.sessions.get(userId) ?? 0;
    this.sessions.set(userId, count + 1);
    const pending = this.pendingOffline.get(userId);
    if (pending) {
      // Back within the grace period: nobody ever saw them go.
      clearTimeout(pending);
      this.pendingOffline.delete(userId);
      return;
    }
    if (count === 0) this.emit({ userId, online: true, lastSeenAt: null });
  }

  disconnect(userId: string): void {
    const count = (this.sessions.get(userId) ?? 1) - 1;
    if (count > 0) {
      this.sessions.set(userId, count);
      return;
    }
    this.sessions.delete(userId);
    const timer = setTimeout(() => {
      this.pendingOffline.delete(userId);
      this.emit({ userId, online: false, lastSeenAt: this.clock.now() });
    }, this.graceMs);
    timer.unref();
    this.pendingOffline.set(userId, timer);
  }

  isOnline(userId: string): boolean {
    return this.sessions.has(userId) || this.pendingOffline.has(userId);
  }

  onChange(listener: (change: PresenceChange) => void): void {
    this.listeners.push(listener);
  }

  stop(): void {
    for (const timer of this.pendingOffline.values()) clearTimeout(timer);
    this.pendingOffline.clear();
  }

  private emit(change: PresenceChange): void {
    for (const listener of this.listeners) listener(change);
  }
}
