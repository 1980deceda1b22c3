import { describe, expect, it } from 'vitest';
import { TickBatcher, type Pending } from './tick-batcher.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A batcher whose batches take `runMs` each; records every batch's size. */
function batcher(delayMs: number, runMs = 0) {
  const batches: number[] = [];
  const tick = new TickBatcher<number, number>(
    async (batch: Pending<number, number>[]) => {
      batches.push(batch.length);
      if (runMs > 0) await sleep(runMs);
      for (const pending of batch) pending.resolve(pending.item);
    },
    100,
    delayMs,
  );
  const timed = async (item: number) => {
    const began = performance.now();
    await tick.add(item);
    return performance.now() - began;
  };
  return { tick, batches, timed };
}

describe('TickBatcher', () => {
  it('runs the calls of one turn as one batch, and a lone call at once', async () => {
    const { tick, batches, timed } = batcher(100);
    await Promise.all([1, 2, 3].map((i) => tick.add(i)));
    expect(batches).toEqual([3]);
    await sleep(300);
    expect(await timed(4)).toBeLessThan(90);
  });

  it('under a steady rate lets a batch wait for company, and calls arriving meanwhile join it', async () => {
    // A long delay, so that waiting shows in the timings beyond doubt.
    const { tick, batches, timed } = batcher(100);
    // A burst makes the arrival rate high (it goes as one batch at once: no rate before it)...
    await Promise.all(Array.from({ length: 30 }, (_, i) => tick.add(i)));
    const before = batches.length;
    // ...so the next lone call waits for company, and a call arriving meanwhile joins it.
    const [first, second] = await Promise.all([timed(100), sleep(30).then(() => timed(101))]);
    expect(first).toBeGreaterThanOrEqual(95);
    expect(second).toBeLessThan(first);
    expect(batches.length - before).toBe(1);
  });

  it('never waits with no delay set', async () => {
    const { tick, timed } = batcher(0);
    for (let i = 0; i < 20; i++) {
      void tick.add(i);
      await sleep(1);
    }
    expect(await timed(100)).toBeLessThan(50);
  });

  it('calls that queued behind a running batch wait out what is left of their delay', async () => {
    const { tick, batches, timed } = batcher(100, 60);
    for (let i = 0; i < 20; i++) {
      void tick.add(i);
      await sleep(1);
    }
    // The first call went alone (no rate yet) and its batch runs 60 ms; these queue behind it.
    // When it ends, the oldest of them has waited ~60 of its 100 ms: the rest is waited out
    // (sent at once, this call would be answered after ~90 ms).
    await sleep(5);
    const waited = await timed(100);
    expect(waited).toBeGreaterThanOrEqual(95);
    expect(batches).toEqual([1, 20]);
  });
});
