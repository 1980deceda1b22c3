/**
 * Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And Jitter"):
 * delay = random(0, min(cap, base · 2^attempt)). Full jitter spreads a crowd of clients that lost
 * the same server (close 1012) evenly over the window instead of having them return in waves.
 */
import type { Random } from './clock.js';

export interface BackoffOptions {
  /** Ceiling of the first delay, in ms. */
  baseMs: number;
  /** Largest ceiling, in ms. */
  capMs: number;
}

export const defaultBackoff: BackoffOptions = { baseMs: 500, capMs: 30_000 };

export class Backoff {
  private attempt = 0;

  constructor(
    private readonly options: BackoffOptions,
    private readonly random: Random,
  ) {}

  /** The ceiling for a given attempt: min(cap, base · 2^attempt). */
  ceiling(attempt: number): number {
    // The exponent is bounded so 2^attempt never overflows into Infinity·0 = NaN territory.
    return Math.min(this.options.capMs, this.options.baseMs * 2 ** Math.min(attempt, 40));
  }

  /** The delay before the next attempt, uniformly in [0, ceiling(attempt)); counts the attempt. */
  next(): number {
    const delay = Math.floor(this.random() * this.ceiling(this.attempt));
    this.attempt++;
    return delay;
  }

  /** How many delays were handed out since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  reset(): void {
    this.attempt = 0;
  }
}
