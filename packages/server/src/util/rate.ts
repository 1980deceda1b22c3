/** Token buckets: one on its own (a socket's), or one per key (`RateLimiter`). */
import type { Clock } from './clock.js';

/** `capacity` tokens at most, refilled at `perSecond`; starts full. */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly clock: Clock,
    private readonly capacity: number,
    private readonly perSecond: number,
  ) {
    this.tokens = capacity;
    this.at = clock.now();
  }

  /** Takes one token; returns 0 when allowed, else the whole seconds to wait. */
  take(): number {
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - this.tokens) / this.perSecond));
  }

  /** Gives one token back, up to the capacity. */
  refund(): void {
    this.refill();
    this.tokens = Math.min(this.capacity, this.tokens + 1);
  }

  /** Whether the bucket would be full now: a full bucket carries no information. */
  full(): boolean {
    this.refill();
    return this.tokens >= this.capacity;
  }

  private refill(): void {
    const now = this.clock.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.at) / 1000) * this.perSecond);
    this.at = now;
  }
}

/** A token bucket per key. */
export class RateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly clock: Clock,
    private readonly capacity: number,
    private readonly perSecond: number,
    private readonly enabled = true,
  ) {}

  /** Takes one token; returns 0 when allowed, else the seconds to wait. */
  take(key: string): number {
    if (!this.enabled) return 0;
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = new TokenBucket(this.clock, this.capacity, this.perSecond);
      this.buckets.set(key, bucket);
      if (this.buckets.size > 100_000) this.sweep();
    }
    return bucket.take();
  }

  /** Gives one token back (up to the capacity): the attempt it paid for does not count. */
  refund(key: string): void {
    this.buckets.get(key)?.refund();
  }

  /** Full buckets carry no information; dropping them bounds memory. */
  private sweep(): void {
    for (const [key, bucket] of this.buckets) if (bucket.full()) this.buckets.delete(key);
  }
}
