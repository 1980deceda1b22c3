/**
 * A clock tests move by hand. Timers run in time order; between two timers the promise chains
 * they started get to settle, so "advance 30 s" behaves like 30 s of a real event loop.
 */
import type { Clock, TimerHandle } from '../clock.js';

interface Timer {
  at: number;
  order: number;
  callback: () => void;
}

export class FakeClock implements Clock {
  private time: number;
  private readonly timers = new Map<number, Timer>();
  private nextId = 1;

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { at: this.time + Math.max(0, ms), order: id, callback });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle as number);
  }

  /** Delays from now of every pending timer, soonest first. */
  pendingDelays(): number[] {
    return [...this.timers.values()].map((t) => t.at - this.time).sort((a, b) => a - b);
  }

  get pendingCount(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, running every timer that falls due, in order. */
  async advance(ms: number): Promise<void> {
    const target = this.time + ms;
    await settle();
    for (;;) {
      const next = this.earliest();
      if (!next || next[1].at > target) break;
      this.timers.delete(next[0]);
      this.time = next[1].at;
      next[1].callback();
      await settle();
    }
    this.time = target;
    await settle();
  }

  /** Jumps to the soonest timer and runs it; false when none is pending. */
  async runNext(): Promise<boolean> {
    const next = this.earliest();
    if (!next) return false;
    await this.advance(next[1].at - this.time);
    return true;
  }

  private earliest(): [number, Timer] | undefined {
    let best: [number, Timer] | undefined;
    for (const entry of this.timers) {
      const [, timer] = entry;
      if (
        !best ||
        timer.at < best[1].at ||
        (timer.at === best[1].at && timer.order < best[1].order)
      ) {
        best = entry;
      }
    }
    return best;
  }
}

/**
 * Lets every pending promise chain run to its end by yielding a few real macrotasks (the
 * fake server and IndexedDB fakes answer through microtasks and immediate timers).
 */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++)
    await new Promise<void>((resolve) => globalThis.setTimeout(resolve, 0));
}

/** A deterministic `random()` from a seed (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
