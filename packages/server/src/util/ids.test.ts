import { describe, expect, it } from 'vitest';
import { id as idSchema } from '@letter/protocol';
import { timeOrderedIds } from './ids.js';

describe('timeOrderedIds', () => {
  it('makes ids that sort by creation time as strings, and that the protocol accepts', () => {
    let now = Date.UTC(2026, 10, 23);
    const ids = timeOrderedIds(() => now);
    const made: string[] = [];
    for (let i = 0; i < 2000; i++) {
      // Several ids per millisecond, and a jump across a base-36 digit boundary.
      if (i % 7 === 0) now += i === 1001 ? 36 ** 5 : 1;
      made.push(ids.next('m'));
    }
    const byTime = made.map((id, i) => ({ id, i }));
    for (let i = 1; i < byTime.length; i++) {
      const a = byTime[i - 1]!.id.slice(0, 11);
      const b = byTime[i]!.id.slice(0, 11);
      expect(a <= b, `${a} then ${b}`).toBe(true);
    }
    for (const id of made) {
      expect(id).toMatch(/^m_[0-9a-z]{9}[A-Za-z0-9_-]{16}$/);
      expect(idSchema.safeParse(id).success).toBe(true);
    }
  });

  it('never repeats, across refills of its random pool', () => {
    const ids = timeOrderedIds(() => 0);
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) seen.add(ids.next('u'));
    expect(seen.size).toBe(5000);
    // With a constant clock, uniqueness rests on the random part alone.
    expect([...seen][0]).toMatch(/^u_000000000/);
  });
});
