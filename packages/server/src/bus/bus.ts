/**
 * The bus carries notifications between nodes; it is never the only copy of anything durable
 * (a member can always re-read a message from the store by seq). Implementations: `memory.ts`
 * (one process, possibly several nodes in a test) and `redis.ts`. `publish` may reject
 * (broker away, too many publishes waiting): callers log and go on, since nothing is lost that
 * `sync` cannot re-read. All must pass
 * `bus.suite.ts`.
 */
export interface Bus {
  /** Delivers `payload` to every subscriber of `channel` on every node, this one included. */
  publish(channel: string, payload: string): Promise<void>;
  /** Returns an unsubscribe function. */
  subscribe(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
  /** False while the bus cannot reach its broker (`/healthz` reports `bus` as down). */
  isUp(): boolean;
  /**
   * Calls `listener` each time the bus comes up: once at the first connection and again after
   * every outage, during which payloads may have been lost both ways (the hub re-checks sessions
   * and re-publishes what failed, presence re-announces). A bus that cannot go down omits it.
   */
  onUp?(listener: () => void): void;
  close(): Promise<void>;
}
