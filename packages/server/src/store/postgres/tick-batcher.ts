/**
 * Gathers calls made in one turn of the event loop, or while the previous batch is still
 * running, into one batch: the queue behind group commit in the PostgreSQL store (append-batch.ts,
 * position-batch.ts). One batch runs at a time; `run` settles every call of its batch. Under a
 * steady rate a batch also waits up to `delayMs` for company (shared/commit-delay.ts): a batch
 * costs its node and PostgreSQL a fixed ~0.8 ms of CPU whatever its size (docs/performance.md,
 * "Round eight").
 */
import { performance } from 'node:perf_hooks';
import { CommitDelay } from '../shared/commit-delay.js';

/** LETTER_PG_COMMIT_DELAY_MS's default (docs/performance.md, "Round eight"). */
export const DEFAULT_PG_COMMIT_DELAY_MS = 4;

export interface Pending<I, O> {
  item: I;
  resolve: (result: O) => void;
  reject: (error: unknown) => void;
}

export class TickBatcher<I, O> {
  private queue: Pending<I, O>[] = [];
  private scheduled = false;
  private running = false;
  private readonly delay: CommitDelay;
  /** When the oldest queued call arrived (performance.now()). */
  private oldestAt = 0;

  constructor(
    private readonly run: (batch: Pending<I, O>[]) => Promise<void>,
    /** Most calls in one batch. */
    private readonly maxBatch: number,
    /** The longest a batch waits for company (0: never). */
    delayMs = 0,
  ) {
    this.delay = new CommitDelay(delayMs, maxBatch);
  }

  add(item: I): Promise<O> {
    return new Promise((resolve, reject) => {
      if (this.queue.length === 0) this.oldestAt = performance.now();
      this.queue.push({ item, resolve, reject });
      const waitMs = this.delay.arrived(1, this.oldestAt, this.queue.length);
      this.schedule(waitMs);
    });
  }

  private schedule(waitMs: number): void {
    if (this.scheduled || this.running) return;
    this.scheduled = true;
    const go = () => {
      this.scheduled = false;
      void this.flush();
    };
    if (waitMs > 0) setTimeout(go, waitMs);
    else setImmediate(go);
  }

  private async flush(): Promise<void> {
    if (this.running || this.queue.length === 0) return;
    this.running = true;
    const batch = this.queue.splice(0, this.maxBatch);
    try {
      await this.run(batch);
    } catch (error) {
      // `run` settles its calls; should it throw anyway, none is left hanging.
      for (const pending of batch) pending.reject(error);
    } finally {
      this.running = false;
      // Calls that queued behind the batch wait out what is left of their delay, if anything.
      if (this.queue.length > 0) {
        this.schedule(this.delay.arrived(0, this.oldestAt, this.queue.length));
      }
    }
  }
}
