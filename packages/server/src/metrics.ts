/** Prometheus metrics (GET /metrics). One registry per node, so several nodes fit in one test. */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Store } from './store/store.js';

export class Metrics {
  readonly registry = new Registry();
  readonly messages: Counter;
  readonly sendSeconds: Histogram;
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 10 });

  constructor(sources: {
    connections: () => number;
    store: Store;
    busDropped?: () => number;
    /** Web Push outcomes so far (push/pusher.ts stats). */
    pushes?: () => Record<string, number>;
  }) {
    const registry = this.registry;
    collectDefaultMetrics({ register: registry });
    this.loopDelay.enable();
    new Gauge({
      name: 'letter_connections',
      help: 'Open authenticated WebSocket connections on this node',
      registers: [registry],
      collect() {
        this.set(sources.connections());
      },
    });
    new Gauge({
      name: 'letter_bus_publish_failed_total',
      help: 'Hub publishes for other nodes that failed or were dropped (bus away or saturated)',
      registers: [registry],
      collect() {
        this.set(sources.busDropped?.() ?? 0);
      },
    });
    new Gauge({
      name: 'letter_push_total',
      help: 'Web Pushes by outcome: sent, gone (subscription deleted), retried, failed (refused or out of attempts), dropped (queue full), coalesced',
      labelNames: ['outcome'],
      registers: [registry],
      collect() {
        for (const [outcome, count] of Object.entries(sources.pushes?.() ?? {}))
          this.set({ outcome }, count);
      },
    });
    this.messages = new Counter({
      name: 'letter_messages_total',
      help: 'Messages accepted (new, not repeats)',
      registers: [registry],
    });
    this.sendSeconds = new Histogram({
      name: 'letter_send_duration_seconds',
      help: 'From a send frame to its durable ok',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    });
    const loopDelay = this.loopDelay;
    new Gauge({
      name: 'letter_eventloop_delay_max_seconds',
      help: 'Longest event-loop delay since the previous scrape',
      registers: [registry],
      collect() {
        this.set(loopDelay.max / 1e9);
        loopDelay.reset();
      },
    });
    const storeStats = () =>
      sources.store.stats?.() ?? { transactions: 0, requests: 0, writes: 0, maxBatch: 0 };
    new Gauge({
      name: 'letter_store_transactions_total',
      help: 'Store write transactions committed (group commit: many requests per transaction)',
      registers: [registry],
      collect() {
        this.set(storeStats().transactions);
      },
    });
    new Gauge({
      name: 'letter_store_requests_total',
      help: 'Store requests served',
      registers: [registry],
      collect() {
        this.set(storeStats().requests);
      },
    });
    new Gauge({
      name: 'letter_store_writes_total',
      help: 'Store requests that wrote, each inside one of the write transactions',
      registers: [registry],
      collect() {
        this.set(storeStats().writes);
      },
    });
    new Gauge({
      name: 'letter_store_max_batch',
      help: 'Largest number of requests grouped into one transaction',
      registers: [registry],
      collect() {
        this.set(storeStats().maxBatch);
      },
    });
    new Gauge({
      name: 'letter_store_stale_conversations_total',
      help: "PostgreSQL: conversations whose members changed between an append batch's reads and its write (decided again)",
      registers: [registry],
      collect() {
        this.set(storeStats().staleConversations ?? 0);
      },
    });
    new Gauge({
      name: 'letter_store_batch_fallbacks_total',
      help: 'PostgreSQL: batches that failed unforeseen and ran again as one transaction per call',
      registers: [registry],
      collect() {
        this.set(storeStats().batchFallbacks ?? 0);
      },
    });
  }

  stop(): void {
    this.loopDelay.disable();
  }
}
