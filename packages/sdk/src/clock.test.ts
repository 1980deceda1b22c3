import { describe, expect, it } from 'vitest';
import { makeIdFactory } from './clock.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('makeIdFactory', () => {
  it('makes UUIDv7s that carry the clock and sort by it, all distinct', () => {
    let now = Date.UTC(2026, 10, 27, 12, 0, 0);
    const next = makeIdFactory(Math.random, () => now);
    const made: string[] = [];
    for (let i = 0; i < 2000; i++) {
      if (i % 7 === 0) now += 1 + (i % 3) * 255; // across byte boundaries of the time
      made.push(next());
    }
    for (const id of made) expect(id).toMatch(UUID_V7);
    expect(new Set(made).size).toBe(made.length);
    const ms = (id: string) => parseInt(id.replace(/-/g, '').slice(0, 12), 16);
    expect(ms(made.at(-1)!)).toBe(now);
    for (let i = 1; i < made.length; i++) {
      if (ms(made[i]!) > ms(made[i - 1]!)) expect(made[i]! > made[i - 1]!).toBe(true);
      expect(ms(made[i]!)).toBeGreaterThanOrEqual(ms(made[i - 1]!));
    }
  });

  it('falls back to the given random source without a platform CSPRNG', () => {
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'crypto');
    Object.defineProperty(globalThis, 'crypto', { value: undefined, configurable: true });
    try {
      let calls = 0;
      const next = makeIdFactory(
        () => (++calls % 97) / 97,
        () => 0,
      );
      const a = next();
      const b = next();
      expect(a).toMatch(UUID_V7);
      expect(a.startsWith('00000000-0000-7')).toBe(true);
      expect(a).not.toBe(b);
      expect(calls).toBe(20);
    } finally {
      Object.defineProperty(globalThis, 'crypto', saved!);
    }
  });
});
