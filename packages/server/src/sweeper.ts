/**
 * The periodic sweep: dead sessions (with their refresh tokens) and old position moves go (what
 * is kept and why: Store.prune in store.ts). Cutoffs come from the injected clock; the timer
 * only says when. Every node sweeps; two sweeps at once delete each row once. A failed sweep
 * (the database away) is logged and tried again at the next tick, never thrown.
 */
import type { PruneCounts, Store } from './store/store.js';
import type { Clock } from './util/clock.js';

const DAY_MS = 24 * 3600 * 1000;
/** Rows per prune call: one call never holds the (SQLite) writer for long. */
const BATCH = 1000;

export interface SweeperOptions {
  store: Store;
  clock: Clock;
  sessionMaxDays: number;
  positionLogDays: number;
  intervalMs: number;
  /** Deletes uploads never attached (files/service.ts); returns how many. */
  files?: { sweepUnattached(): Promise<number> };
  log: {
    info(object: object, message: string): void;
    warn(object: object, message: string): void;
  };
}

export class Sweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(private readonly options: SweeperOptions) {}

  start(): void {
    if (this.options.intervalMs <= 0 || this.timer) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.sweep()
        .catch((error: unknown) =>
          this.options.log.warn({ err: error }, 'prune failed; next try at the next sweep'),
        )
        .finally(() => (this.running = undefined));
    }, this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One sweep, batch after batch until a batch comes back short. */
  async sweep(): Promise<PruneCounts> {
    const { store, clock } = this.options;
    const now = clock.now();
    const cutoffs = {
      now,
      sessionsCreatedBefore: now - this.options.sessionMaxDays * DAY_MS,
      positionLogBefore: now - this.options.positionLogDays * DAY_MS,
      limit: BATCH,
    };
    const total: PruneCounts = { sessions: 0, refreshTokens: 0, positionLog: 0 };
    for (;;) {
      const counts = await store.prune(cutoffs);
      total.sessions += counts.sessions;
      total.refreshTokens += counts.refreshTokens;
      total.positionLog += counts.positionLog;
      if (counts.sessions < BATCH && counts.positionLog < BATCH) break;
      // Let waiting requests in between batches.
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (total.sessions + total.positionLog > 0) this.options.log.info(total, 'pruned');
    const files = (await this.options.files?.sweepUnattached()) ?? 0;
    if (files > 0) this.options.log.info({ files }, 'deleted uploads never attached');
    return total;
  }
}
