/** Start-up retries: only `unavailable` is waited out, with a doubling delay and a line per attempt. */
import { describe, expect, it } from 'vitest';
import { LetterError } from '@letter/protocol';
import { answersWithin, untilReachable } from './until-reachable.js';

describe('untilReachable', () => {
  it('retries unavailable with a doubling, capped delay and says so each time', async () => {
    const lines: string[] = [];
    const slept: number[] = [];
    let calls = 0;
    const value = await untilReachable(
      'database',
      async () => {
        if (++calls < 5) throw new LetterError('unavailable');
        return 'open';
      },
      { warn: (_details, message) => lines.push(message) },
      { firstDelayMs: 1000, maxDelayMs: 4000, sleep: async (ms) => void slept.push(ms) },
    );
    expect(value).toBe('open');
    expect(slept).toEqual([1000, 2000, 4000, 4000]);
    expect(lines[0]).toBe('database unreachable, retrying in 1 s');
    expect(lines).toHaveLength(4);
  });

  it('gives up at once on anything else (a wrong password is not an outage)', async () => {
    let calls = 0;
    const failing = untilReachable(
      'database',
      async () => {
        calls++;
        throw new Error('password authentication failed');
      },
      { warn: () => {} },
      { sleep: async () => {} },
    );
    await expect(failing).rejects.toThrow(/password/);
    expect(calls).toBe(1);
  });

  it('answersWithin: true when the promise resolves in time, false when it rejects or hangs', async () => {
    expect(await answersWithin(Promise.resolve(), 1000)).toBe(true);
    expect(await answersWithin(Promise.reject(new Error('down')), 1000)).toBe(false);
    expect(await answersWithin(new Promise(() => {}), 10)).toBe(false);
  });
});
