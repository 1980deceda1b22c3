/**
 * The bus carries notifications between nodes; it is never the only copy of anything durable
 * (a member can always re-read a message from the store by seq). Implementations: `memory.ts`
 * (one process, possibly several nodes in a test) and later `redis.ts`. All must pass
 * `bus.suite.ts`.
 */
export interface Bus {
  /** Delivers `payload` to every subscriber of `channel` on every node, this one included. */
  publish(channel: string, payload: string): Promise<void>;
  /** Returns an unsubscribe function. */
  subscribe(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
  /** False while the bus cannot reach its broker (`/healthz` reports `bus` as down). */
  isUp(): boolean;
  close(): Promise<void>;
}
