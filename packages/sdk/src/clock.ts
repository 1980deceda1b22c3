/**
 * Time, timers and randomness come from here, never from globals directly, so tests can drive
 * backoff, heartbeats, token refresh and typing expiry deterministically (see testing/fake-clock.ts).
 */
export type TimerHandle = unknown;

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** A number in [0, 1), like `Math.random`. */
export type Random = () => number;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as Parameters<typeof clearTimeout>[0]),
};

export const systemRandom: Random = () => Math.random();

/** A fresh unique id (clientMsgId): a UUID where the platform has one, random otherwise. */
export function makeIdFactory(random: Random): () => string {
  const cryptoApi = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (cryptoApi?.randomUUID) return () => cryptoApi.randomUUID!();
  return () => {
    let out = '';
    for (let i = 0; i < 24; i++) out += Math.floor(random() * 36).toString(36);
    return out;
  };
}
