import { Redis, type RedisOptions } from 'ioredis';
import type { Bus } from './bus.js';

/**
 * Redis pub/sub as the bus between nodes. Redis keeps the order of one publisher's messages on a
 * channel, which is all the hub needs: events of one conversation are published by the node
 * that committed them, in commit order. Pub/sub is fire-and-forget; that is fine because the bus
 * is never the only copy (a client's `sync` re-reads from the store).
 *
 * Redis away: ioredis reconnects (and resubscribes) by itself. Publishes are bounded: at most
 * `MAX_WAITING` wait (offline or for a reply), each at most `PUBLISH_TIMEOUT_MS`; beyond that a
 * publish rejects at once and is counted in `dropped`. Nothing waits forever, nothing piles up.
 */
export class RedisBus implements Bus {
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly handlers = new Map<string, Set<(payload: string) => void>>();
  private readonly upListeners: (() => void)[] = [];
  /** Publishes sent and not yet answered (or queued while offline). */
  private waiting = 0;
  /** A publish timed out on an open connection (a black-holed path): down until one succeeds. */
  private stalled = false;
  private wasUp = false;
  private closed = false;
  /**
   * Redis has processed the subscriber's (re)subscriptions on its current connection. ioredis says
   * `ready` as it sends them, so a publish made elsewhere at that moment (another node answering
   * our presence list, say) could reach Redis first and be missed: a PING sent behind them is
   * answered once they are live. The generation counts the connection's `ready`s and `close`s, so
   * a late answer from an earlier connection counts for nothing.
   */
  private subscriptionsLive = false;
  private subscriberGeneration = 0;
  /** Publishes refused or failed (`letter_bus_publish_dropped_total`). */
  dropped = 0;

  /** `prefix` namespaces channels, so several clusters (or test runs) can share one Redis. */
  constructor(
    url: string,
    private readonly prefix = 'letter:',
    private readonly limits: { maxWaiting?: number; publishTimeoutMs?: number } = {},
  ) {
    const common: RedisOptions = {
      // Commands are written at once: the hub already gathers a turn's routed deliveries per
      // node into one publish, and ioredis's auto-pipelining only added a Pipeline per command
      // and a setImmediate before the write (two nodes at 2,000 msg/s: 303 against 317 µs of CPU
      // per delivery, p50 lower in 4 rounds of 4; docs/performance.md, round ten).
      enableAutoPipelining: false,
      lazyConnect: false,
      // Reconnect quickly at first, then every 2 s at most, forever.
      retryStrategy: (times) => Math.min(times * 100, 2000),
    };
    this.publisher = new Redis(url, {
      ...common,
      // A publish queued while offline fails at the next failed reconnect attempt instead of
      // waiting forever; one that waits for a reply fails after the timeout.
      maxRetriesPerRequest: 1,
      commandTimeout: limits.publishTimeoutMs ?? PUBLISH_TIMEOUT_MS,
    });
    // The subscriber only ever queues (re)subscriptions: a handful, bounded by the channels.
    this.subscriber = new Redis(url, { ...common, maxRetriesPerRequest: null });
    this.subscriber.on('message', (channel: string, payload: string) => {
      const handlers = this.handlers.get(channel);
      if (handlers) for (const onPayload of handlers) onPayload(payload);
    });
    // A fresh connection is not black-holed: it answered the ready check.
    this.publisher.on('ready', () => (this.stalled = false));
    this.subscriber.on('ready', () => {
      const generation = ++this.subscriberGeneration;
      this.subscriptionsLive = false;
      this.subscriber.ping().then(
        () => {
          if (generation !== this.subscriberGeneration) return;
          this.subscriptionsLive = true;
          this.checkUp();
        },
        () => {}, // the connection went away again: its next `ready` pings anew
      );
    });
    this.subscriber.on('close', () => {
      this.subscriberGeneration++;
      this.subscriptionsLive = false;
    });
    for (const connection of [this.publisher, this.subscriber]) {
      // ioredis reconnects by itself; without a listener an error would be an unhandled event.
      connection.on('error', () => {});
      connection.on('ready', () => this.checkUp());
      connection.on('close', () => this.checkUp());
    }
  }

  async publish(channel: string, payload: string): Promise<void> {
    if (this.closed) throw new Error('bus closed');
    if (this.waiting >= (this.limits.maxWaiting ?? MAX_WAITING)) {
      this.dropped++;
      throw new Error('bus: too many publishes waiting for Redis; dropped');
    }
    this.waiting++;
    try {
      await this.publisher.publish(this.prefix + channel, payload);
      if (this.stalled) {
        this.stalled = false;
        this.checkUp();
      }
    } catch (error) {
      this.dropped++;
      if (error instanceof Error && error.message === 'Command timed out' && !this.stalled) {
        this.stalled = true;
        this.checkUp();
      }
      throw error;
    } finally {
      this.waiting--;
    }
  }

  async subscribe(
    channel: string,
    onPayload: (payload: string) => void,
  ): Promise<() => Promise<void>> {
    const name = this.prefix + channel;
    let handlers = this.handlers.get(name);
    if (!handlers) {
      this.handlers.set(name, (handlers = new Set()));
      await this.subscribeOrGiveUp(name);
    }
    const own = (payload: string) => onPayload(payload);
    handlers.add(own);
    return async () => {
      handlers.delete(own);
      if (handlers.size === 0 && this.handlers.get(name) === handlers) {
        this.handlers.delete(name);
        // Not awaited: with Redis away it would wait for its return (the handler is gone already).
        this.subscriber.unsubscribe(name).catch(() => {});
      }
    };
  }

  isUp(): boolean {
    return (
      !this.closed &&
      !this.stalled &&
      this.publisher.status === 'ready' &&
      this.subscriber.status === 'ready' &&
      this.subscriptionsLive
    );
  }

  onUp(listener: () => void): void {
    this.upListeners.push(listener);
  }

  /** Publishes waiting now (offline or for a reply); never more than the bound. */
  get waitingPublishes(): number {
    return this.waiting;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.handlers.clear();
    await Promise.all([end(this.publisher), end(this.subscriber)]);
  }

  /**
   * Resolves once the subscription is active, or when a connection attempt fails: with Redis away
   * the node starts anyway, and the subscription goes out (from ioredis's queue) once it is back.
   */
  private subscribeOrGiveUp(name: string): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.subscriber.off('close', done);
        resolve();
      };
      this.subscriber.once('close', done);
      this.subscriber.subscribe(name).then(done, done);
    });
  }

  private checkUp(): void {
    const up = this.isUp();
    if (up === this.wasUp) return;
    this.wasUp = up;
    if (!up) return;
    for (const listener of this.upListeners) {
      try {
        listener();
      } catch {
        // A listener's bug must not become an uncaught exception in ioredis's event handler.
      }
    }
  }
}

/** Publishes that may wait for Redis at once; more are dropped (the bus is never the only copy). */
const MAX_WAITING = 1_000;
const PUBLISH_TIMEOUT_MS = 5_000;

/** QUIT when Redis answers (at most 1 s), else just drop the connection: closing never hangs. */
async function end(connection: Redis): Promise<void> {
  if (connection.status === 'ready') {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      connection.quit().catch(() => {}),
      new Promise((resolve) => (timer = setTimeout(resolve, 1000))),
    ]);
    clearTimeout(timer);
  }
  connection.disconnect();
}
