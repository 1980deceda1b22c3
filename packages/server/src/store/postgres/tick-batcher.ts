/**
 * Gathers calls made in one turn of the event loop, or while `concurrency` batches are still
 * running, into one batch: the queue behind group commit in the PostgreSQL store (append-batch.ts,
 * position-batch.ts). At most `concurrency` batches run at a time, started in the order their
 * calls came; `run` settles every call of its batch.
 */
export interface Pending<I, O> {
  item: I;
  resolve: (result: O) => void;
  reject: (error: unknown) => void;
}

export class TickBatcher<I, O> {
  private queue: Pending<I, O>[] = [];
  private scheduled = false;
  private running = 0;

  constructor(
    private readonly run: (batch: Pending<I, O>[]) => Promise<void>,
    /** Most calls in one batch. */
    private readonly maxBatch: number,
    /** Most batches running at once. */
    private readonly concurrency = 1,
  ) {}

  add(item: I): Promise<O> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.running >= this.concurrency) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.running >= this.concurrency || this.queue.length === 0) return;
    this.running++;
    const batch = this.queue.splice(0, this.maxBatch);
    if (this.queue.length > 0) this.schedule();
    try {
      await this.run(batch);
    } catch (error) {
      // `run` settles its calls; should it throw anyway, none is left hanging.
      for (const pending of batch) pending.reject(error);
    } finally {
      this.running--;
      if (this.queue.length > 0) this.schedule();
    }
  }
}
