/**
 * Group commit's wait: none for a lone call, up to the delay under a steady rate, and up to
 * twice the delay while the process is busy (`processBusy`).
 */
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { CommitDelay, processBusy } from './commit-delay.js';

/** Calls arriving now, fast enough for company to be expected; then the wait of one more. */
function waitUnderLoad(delay: CommitDelay): number {
  const at = performance.now();
  for (let i = 0; i < 20; i++) delay.arrived(1, at, 1);
  return delay.arrived(1, performance.now(), 1);
}

describe('CommitDelay', () => {
  it('commits a lone call at once, and waits under a steady rate', () => {
    const delay = new CommitDelay(10, 256);
    expect(delay.arrived(1, performance.now(), 1)).toBe(0);
    const wait = waitUnderLoad(delay);
    expect(wait).toBeGreaterThan(9);
    expect(wait).toBeLessThanOrEqual(10);
  });

  it('stretches the wait as the process gets busy, up to twice the delay', () => {
    let busy = 0;
    const delay = new CommitDelay(10, 256, () => busy);
    expect(delay.maxWaitMs()).toBe(10);
    busy = 0.4;
    expect(delay.maxWaitMs()).toBe(10);
    busy = 0.55;
    expect(delay.maxWaitMs()).toBeCloseTo(15);
    busy = 0.7;
    expect(delay.maxWaitMs()).toBe(20);
    busy = 1;
    expect(delay.maxWaitMs()).toBe(20);
    const wait = waitUnderLoad(delay);
    expect(wait).toBeGreaterThan(19);
    expect(wait).toBeLessThanOrEqual(20);
    // A full batch still goes at once; no delay is still no delay.
    expect(delay.arrived(1, performance.now(), 256)).toBe(0);
    expect(waitUnderLoad(new CommitDelay(0, 256, () => 1))).toBe(0);
  });
});

describe('processBusy', () => {
  it('is the share of the cores used, smoothed, sampled at most every interval', () => {
    let now = 0;
    let cpu = 0;
    const busy = processBusy(
      2,
      100,
      () => now,
      () => cpu,
    );
    // 150 ms of CPU over 100 ms on two cores: 0.75, averaged with the start's 0.
    now = 100;
    cpu = 150_000;
    expect(busy()).toBeCloseTo(0.375);
    // Within the interval: the same answer, nothing sampled.
    now = 150;
    cpu = 400_000;
    expect(busy()).toBeCloseTo(0.375);
    // 250 ms of CPU over 100 ms counts as all of both cores (1): (0.375 + 1) / 2.
    now = 200;
    expect(busy()).toBeCloseTo(0.6875);
    // An idle stretch brings it down.
    now = 1200;
    expect(busy()).toBeCloseTo(0.34375);
  });

  it('measures this process by default', () => {
    const busy = processBusy(1, 0);
    const until = performance.now() + 30;
    while (performance.now() < until) {
      // spin: this thread is busy
    }
    expect(busy()).toBeGreaterThan(0.1);
  });
});
