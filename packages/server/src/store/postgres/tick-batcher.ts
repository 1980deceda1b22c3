/**
 * Gathers calls made in one turn of the event loop, or while the previous batch is still
 * running, into one batch: the queue behind group commit in the PostgreSQL store (append-batch.ts,
 * position-batch.ts). One batch runs at a time; `run` settles every call of its batch.
 */
export interface Pending<I, O> {
  item: I;
  resolve: (result: O) => void;
  reject: (error: unknown) => void;
}

export class TickBatcher<I, O> {
  private queue: Pending<I, O>[] = [];
  private scheduled = false;
  private running = false;

  constructor(
    private readonly run: (batch: Pending<I, O>[]) => Promise<void>,
    /** Most calls in one batch. */
    private readonly maxBatch: number,
  ) {}

  add(item: I): Promise<O> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.running) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
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
      if (this.queue.length > 0) this.schedule();
    }
  }
}
