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

/**
 * A fresh unique id (clientMsgId): a UUIDv7 (RFC 9562), its first 48 bits the clock's
 * milliseconds and the rest random, so ids made later sort later. The server's idempotency index
 * is led by the client id, and time-ordered ids land at its right edge together: a batch of
 * sends writes one leaf page of it instead of one per sender (docs/performance.md, round
 * eleven). Random bits from the platform's CSPRNG where there is one, `random` otherwise.
 */
export function makeIdFactory(random: Random, now: () => number = Date.now): () => string {
  const cryptoApi = (globalThis as { crypto?: { getRandomValues?: (a: Uint8Array) => Uint8Array } })
    .crypto;
  const bytes = new Uint8Array(16);
  const fill = cryptoApi?.getRandomValues
    ? () => cryptoApi.getRandomValues!(bytes)
    : () => {
        for (let i = 6; i < 16; i++) bytes[i] = Math.floor(random() * 256);
      };
  return () => {
    fill();
    let ms = Math.max(0, Math.floor(now()));
    for (let i = 5; i >= 0; i--) {
      bytes[i] = ms % 256;
      ms = Math.floor(ms / 256);
    }
    bytes[6] = (bytes[6]! & 0x0f) | 0x70; // version 7
    bytes[8] = (bytes[8]! & 0x3f) | 0x80; // variant 10
    let hex = '';
    for (const byte of bytes) hex += byte.toString(16).padStart(2, '0');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  };
}
