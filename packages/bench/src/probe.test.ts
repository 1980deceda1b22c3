/**
 * The machine probe runs its fixed work in a child and reports four positive, finite figures,
 * and the report's line says what it measured. Never a timing threshold.
 */
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { describeProbe, probeMachine } from './probe.js';

describe('the machine probe', () => {
  it('measures JSON, SQLite and fdatasync (time and CPU) in a child, best of three', async () => {
    const figures = await probeMachine(undefined, tmpdir());
    expect(figures).not.toBeNull();
    for (const value of Object.values(figures!)) {
      expect(Number.isFinite(value)).toBe(true);
      expect(value).toBeGreaterThan(0);
    }
    const line = describeProbe(figures, null);
    expect(line).toContain(`SQLite row ${figures!.sqliteMicros.toFixed(2)} µs`);
    expect(line).toContain(`(${figures!.fsyncCpuMicros.toFixed(0)} µs of CPU)`);
    expect(line).toContain('at end did not run');
  }, 120_000);
});
