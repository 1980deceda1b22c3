import { describe, expect, it } from 'vitest';
import { InFlight } from './in-flight.js';

describe('InFlight', () => {
  it('keeps each value until it is taken, once', () => {
    const calls = new InFlight<string>();
    calls.set(1, 'a');
    calls.set(2, 'b');
    expect(calls.size).toBe(2);
    expect(calls.take(2)).toBe('b');
    expect(calls.take(2)).toBeUndefined();
    expect(calls.take(7)).toBeUndefined();
    expect([...calls.values()]).toEqual(['a']);
    expect(calls.take(1)).toBe('a');
    expect(calls.size).toBe(0);
  });

  it('starts a new Map each time it empties, and on clear', () => {
    const calls = new InFlight<number>();
    calls.set(1, 1);
    calls.set(2, 2);
    calls.take(1);
    expect(calls.renewals).toBe(0);
    calls.take(2);
    expect(calls.renewals).toBe(1);
    calls.set(3, 3);
    calls.clear();
    expect(calls.renewals).toBe(2);
    expect(calls.size).toBe(0);
    expect(calls.take(3)).toBeUndefined();
  });

  it('under load that never lets it empty, copies itself afresh and loses nothing', () => {
    const calls = new InFlight<number>(64);
    let oldest = 1;
    for (let id = 1; id <= 1000; id++) {
      calls.set(id, id * 10);
      // Ten in flight at all times: it never empties.
      if (id - oldest >= 10) {
        expect(calls.take(oldest)).toBe(oldest * 10);
        oldest += 1;
      }
    }
    // One copy each 64 additions at most (and never of more than a quarter of them).
    expect(calls.renewals).toBeGreaterThanOrEqual(Math.floor(1000 / 64) - 1);
    expect(calls.renewals).toBeLessThanOrEqual(Math.ceil(1000 / 64));
    expect([...calls.values()]).toEqual(Array.from({ length: 10 }, (_, i) => (991 + i) * 10));
  });

  it('holding a backlog larger than a quarter of its additions, waits to copy it', () => {
    const calls = new InFlight<number>(64);
    for (let id = 1; id <= 200; id++) calls.set(id, id);
    // 200 additions, 200 held: copying would cost as much as the additions; it waits.
    expect(calls.renewals).toBe(0);
    for (let id = 1; id <= 200; id++) expect(calls.take(id)).toBe(id);
    expect(calls.renewals).toBe(1);
  });
});
