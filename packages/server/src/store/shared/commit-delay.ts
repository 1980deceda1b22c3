/**
 * Group commit's wait for company, shared by the SQLite writer (sqlite/writer.ts) and the
 * PostgreSQL batches (postgres/tick-batcher.ts). A commit has a fixed cost whatever its size (a
 * WAL flush, its statements' round trips), so at a steady rate committing each call as it comes
 * spends most of that on commits. Like PostgreSQL's commit_delay, a batch therefore waits up to
 * `delayMs` for company, but only when the recent arrival rate says company is coming (two or
 * more calls within the delay); a lone call on a quiet server commits at once. The wait counts
 * from the oldest waiting call, so calls that queued up behind a running commit never wait more.
 */
import { performance } from 'node:perf_hooks';

/** Wait only when at least this many more calls are expected within the delay. */
const MIN_COMPANY = 2;
/** The arrival rate is a count decayed with this time constant. */
const RATE_WINDOW_MS = 50;

export class CommitDelay {
  private recent = 0;
  private last = performance.now();

  constructor(
    /** The longest wait (0: never wait). */
    private readonly delayMs: number,
    /** A batch this large goes at once: waiting longer would save little. */
    private readonly fullBatch: number,
  ) {}

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
    const expected = (before / RATE_WINDOW_MS) * this.delayMs;
    const waitMs = oldestAt + this.delayMs - now;
    return waitMs >= 1 && expected >= MIN_COMPANY && queued < this.fullBatch ? waitMs : 0;
  }
}
