/**
 * Group commit's wait for company, shared by the SQLite writer (sqlite/writer.ts) and the
 * PostgreSQL batches (postgres/tick-batcher.ts). A commit has a fixed cost whatever its size (a
 * WAL flush, its statements' round trips), so at a steady rate committing each call as it comes
 * spends most of that on commits. Like PostgreSQL's commit_delay, a batch therefore waits up to
 * `delayMs` for company, but only when the recent arrival rate says company is coming (two or
 * more calls within the delay); a lone call on a quiet server commits at once. The wait counts
 * from the oldest waiting call, so calls that queued up behind a running commit never wait more.
 *
 * When the process is busy the wait stretches, up to twice `delayMs`: a batch then holds more
 * calls, and each call's share of the fixed cost (thread hand-offs and wake-ups too, not only the
 * commit) falls where CPU is what the server lacks. On an idle process the wait stays `delayMs`,
 * where latency is what matters. At 5,000 msg/s on one core (~75 % busy) waiting 3–4 ms instead
 * of 2 cut the server's CPU per message by 10–15 % (docs/performance.md, "Round fifteen").
 */
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';

/** Wait only when at least this many more calls are expected within the delay. */
const MIN_COMPANY = 2;
/** The arrival rate is a count decayed with this time constant. */
const RATE_WINDOW_MS = 50;
/** Below this share of its cores busy, the process waits `delayMs`… */
const BUSY_FROM = 0.4;
/** …and from this share on, twice that, stretching linearly in between. */
const BUSY_FULL = 0.7;

export class CommitDelay {
  private recent = 0;
  private last = performance.now();

  constructor(
    /** The longest wait of an idle process (0: never wait). */
    private readonly delayMs: number,
    /** A batch this large goes at once: waiting longer would save little. */
    private readonly fullBatch: number,
    /** How busy the process is (0–1, `processBusy`); absent, the wait never stretches. */
    private readonly busy?: () => number,
  ) {}

  /** The longest wait now: `delayMs`, stretched by how busy the process is. */
  maxWaitMs(): number {
    const share = this.busy?.() ?? 0;
    const stretch = Math.min(1, Math.max(0, (share - BUSY_FROM) / (BUSY_FULL - BUSY_FROM)));
    return this.delayMs * (1 + stretch);
  }

  /**
   * Counts `count` calls that arrived now; then how long the batch should still wait, in ms (0:
   * commit now). `oldestAt`: when its oldest call arrived (`performance.now()` of this thread);
   * `queued`: how many calls it holds.
   */
  arrived(count: number, oldestAt: number, queued: number): number {
    const now = performance.now();
    // The rate is judged on what came before these calls: a lone call on a quiet server must
    // not count as the company it would wait for.
    const before = this.recent * Math.exp(-(now - this.last) / RATE_WINDOW_MS);
    this.recent = before + count;
    this.last = now;
    const delayMs = this.maxWaitMs();
    const expected = (before / RATE_WINDOW_MS) * delayMs;
    const waitMs = oldestAt + delayMs - now;
    return waitMs >= 1 && expected >= MIN_COMPANY && queued < this.fullBatch ? waitMs : 0;
  }
}

/**
 * The share of its cores (as its CPU affinity allows) that this process used lately, every
 * thread counted: sampled at most every `intervalMs` and smoothed over the last few samples. On a
 * worker thread too, `process.cpuUsage()` is the whole process's.
 */
export function processBusy(
  cores = availableParallelism(),
  intervalMs = 100,
  now: () => number = () => performance.now(),
  cpuMicros: () => number = () => {
    const { user, system } = process.cpuUsage();
    return user + system;
  },
): () => number {
  let lastAt = now();
  let lastCpu = cpuMicros();
  let share = 0;
  return () => {
    const at = now();
    if (at - lastAt < intervalMs) return share;
    const cpu = cpuMicros();
    const sample = (cpu - lastCpu) / 1000 / (at - lastAt) / cores;
    share = (share + Math.min(1, Math.max(0, sample))) / 2;
    lastAt = at;
    lastCpu = cpu;
    return share;
  };
}
