/**
 * Two structures on every message's path outlive the message: the store's calls in flight and
 * the cache of a message's JSON. Each once made V8's minor GC keep what dies young:
 *
 * - one Map of calls in flight for the process's life: after a burst had held thousands of calls
 *   in it, minor collections promoted every later call's objects (util/in-flight.ts has our
 *   reading of why);
 * - a process-wide WeakMap of messages' JSON: each minor collection copied the JSON of every
 *   message recorded since the previous one, dead or not (util/message-json.ts).
 *
 * docs/performance.md, round twenty-four, has what that cost the server. Each case runs in a
 * child (promotion-child.mjs) with V8's GC trace, and against the plain structure too, which must
 * show the effect: should V8 change and it no longer does, this test says so rather than pass
 * for nothing.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const child = fileURLToPath(new URL('./promotion-child.mjs', import.meta.url));

interface Phase {
  /** Median bytes a minor GC promoted to the old generation. */
  promoted: number;
  /** Median bytes a minor GC found alive (copied or promoted). */
  survived: number;
}

function gcByPhase(variant: string): Record<'before' | 'after', Phase> {
  const out = execFileSync(
    process.execPath,
    ['--single-threaded-gc', '--trace-gc-nvp', child, variant],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  const phases: Record<string, { promoted: number[]; survived: number[] }> = {};
  let phase = '';
  for (const line of out.split('\n')) {
    const marker = /^PHASE (\S+)/.exec(line);
    if (marker) phase = marker[1]!;
    else if (line.includes(' gc=s ')) {
      const promoted = /\bpromoted=(\d+)/.exec(line);
      const survived = /\bnew_space_survived=(\d+)/.exec(line);
      if (!promoted || !survived) continue;
      const into = (phases[phase] ??= { promoted: [], survived: [] });
      into.promoted.push(Number(promoted[1]));
      into.survived.push(Number(survived[1]));
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
  const of = (name: string): Phase => {
    const p = phases[name];
    if (!p) throw new Error(`no minor GC in phase ${name} of ${variant}:\n${out.slice(0, 2000)}`);
    return { promoted: median(p.promoted), survived: median(p.survived) };
  };
  return { before: of('before'), after: of('after') };
}

/** Noise: what a minor GC keeps with nothing of ours alive (the test's own objects). */
const FLOOR = 50_000;

describe('minor GCs on the message path', () => {
  it('calls in flight (InFlight) promote no more after a burst than before it; one Map does', () => {
    const plain = gcByPhase('map');
    expect(plain.after.promoted).toBeGreaterThan(10 * Math.max(plain.before.promoted, FLOOR));
    const fixed = gcByPhase('in-flight');
    expect(fixed.after.promoted).toBeLessThan(Math.max(2 * fixed.before.promoted, FLOOR));
  }, 60_000);

  it("messages' JSON (messageJson) leaves minor GCs little to copy; a WeakMap does not", () => {
    const plain = gcByPhase('weakmap');
    const fixed = gcByPhase('message-json');
    // The WeakMap's copies are ~4 MB a collection here, 10-35x what the child keeps without it.
    for (const phase of ['before', 'after'] as const) {
      expect(plain[phase].survived).toBeGreaterThan(5 * Math.max(fixed[phase].survived, FLOOR));
    }
  }, 60_000);
});
