/**
 * Who is online. A user is online while any of their sessions is connected on any node; they
 * turn offline only after the last one has been gone for a grace period, so a page reload does
 * not flap. Implementations: `memory.ts` (one node) and later `redis.ts` (a cluster).
 */
export interface PresenceChange {
  userId: string;
  online: boolean;
  /** Epoch ms; set when going offline. */
  lastSeenAt: number | null;
  /**
   * A correction for this node's sockets only, after a bus outage hid the real announcement
   * (made elsewhere, already stored): deliver it here, store nothing.
   */
  localOnly?: boolean;
}

export interface Presence {
  connect(userId: string): void;
  disconnect(userId: string): void;
  isOnline(userId: string): boolean;
  /** Called with every change that should be announced. */
  onChange(listener: (change: PresenceChange) => void): void;
  stop(): void;
}
