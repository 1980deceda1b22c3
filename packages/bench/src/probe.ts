/**
 * How fast this machine is today: probe-work.ts's fixed work, run on the server core at the
 * start and at the end of a bench run. This workplace's machines are virtual and shared, and the
 * same build has measured 116 and 188 µs per message a day apart (docs/performance.md, round
 * thirteen): only same-run ratios compare, and the probe says how far two runs' absolute figures
 * do.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ProbeFigures } from './probe-work.js';
import { wrapCommand } from './proc.js';

export type { ProbeFigures };

const run = promisify(execFile);
/** The compiled script, from dist/ (the bench) and src/ (its test) alike. */
const WORK = fileURLToPath(new URL('../dist/probe-work.js', import.meta.url));
/** Each figure is the best of this many runs: the machine's speed, not its neighbours' load. */
const RUNS = 3;

/** The probe's figures on `core` (undefined: not pinned), or null if it could not run. */
export async function probeMachine(
  core: number | undefined,
  workDir: string,
): Promise<ProbeFigures | null> {
  const runs: ProbeFigures[] = [];
  for (let i = 0; i < RUNS; i++) {
    try {
      const [command, ...args] = wrapCommand([process.execPath, WORK, workDir], core);
      const { stdout } = await run(command!, args, { timeout: 60_000 });
      runs.push(JSON.parse(stdout) as ProbeFigures);
    } catch {
      return null;
    }
  }
  const best = (key: keyof ProbeFigures) => Math.min(...runs.map((r) => r[key]));
  return {
    jsMicros: best('jsMicros'),
    sqliteMicros: best('sqliteMicros'),
    fsyncMs: best('fsyncMs'),
    fsyncCpuMicros: best('fsyncCpuMicros'),
  };
}

/** One line for the report: the probe at start and at end. */
export function describeProbe(start: ProbeFigures | null, end: ProbeFigures | null): string {
  const one = (p: ProbeFigures | null) =>
    p === null
      ? 'did not run'
      : `JSON frame ${p.jsMicros.toFixed(2)} µs, SQLite row ${p.sqliteMicros.toFixed(2)} µs, ` +
        `fdatasync ${p.fsyncMs.toFixed(2)} ms (${p.fsyncCpuMicros.toFixed(0)} µs of CPU)`;
  return (
    `Machine probe on the server core (best of ${RUNS}; lower is faster; ` +
    `docs/performance.md, "The machine probe"): at start ${one(start)}; at end ${one(end)}.`
  );
}
