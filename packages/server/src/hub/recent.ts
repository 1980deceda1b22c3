/**
 * Deliveries of the last few seconds that went over the bus, per recipient, so the hub can
 * close the routing race: a user whose first session on node C is announced (presence gossip)
 * only after node A already routed a delivery for them elsewhere gets that delivery replayed
 * to C. See ARCHITECTURE.md, "Routed deliveries".
 *
 * Two generations of `windowMs` each: an entry lives between one and two windows, and
 * forgetting is one Map dropped, never a scan. Bounded by `maxEntries` per generation.
 */

/** One published delivery: what another node needs to deliver it, and where it went. */
export interface RoutedDelivery {
  except: string;
  keyText: string;
  json: string;
  /** Nodes whose channel carried it (they deliver to every listed recipient they hold). */
  nodes: readonly string[];
  /** `<node> <user>` pairs it was replayed to since. */
  replayed?: Set<string>;
}

export class RecentDeliveries {
  private current = new Map<string, RoutedDelivery[]>();
  private previous = new Map<string, RoutedDelivery[]>();
  private currentEntries = 0;
  private started: number;
  /** Recipient entries not kept because a generation was full (the race is then open). */
  dropped = 0;

  constructor(
    private readonly windowMs = 5000,
    private readonly maxEntries = 200_000,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.started = this.now();
  }

  record(userIds: readonly string[], delivery: RoutedDelivery): void {
    this.rotate();
    if (this.currentEntries + userIds.length > this.maxEntries) {
      this.dropped += userIds.length;
      return;
    }
    this.currentEntries += userIds.length;
    for (const userId of userIds) {
      const list = this.current.get(userId);
      if (list) list.push(delivery);
      else this.current.set(userId, [delivery]);
    }
  }

  /**
   * Deliveries for `userId` that `nodeId` has not carried, oldest first; each is marked as
   * replayed there, so a user who leaves and comes back within the window gets none twice.
   */
  missedBy(userId: string, nodeId: string): RoutedDelivery[] {
    this.rotate();
    const out: RoutedDelivery[] = [];
    const mark = `${nodeId} ${userId}`;
    for (const list of [this.previous.get(userId), this.current.get(userId)]) {
      for (const delivery of list ?? []) {
        if (delivery.nodes.includes(nodeId) || delivery.replayed?.has(mark)) continue;
        (delivery.replayed ??= new Set()).add(mark);
        out.push(delivery);
      }
    }
    return out;
  }

  private rotate(): void {
    const now = this.now();
    if (now - this.started < this.windowMs) return;
    // Two windows idle: both generations are stale.
    this.previous = now - this.started < 2 * this.windowMs ? this.current : new Map();
    this.current = new Map();
    this.currentEntries = 0;
    this.started = now;
  }
}
