import { Redis } from 'ioredis';
import type { Bus } from './bus.js';

/**
 * Redis pub/sub as the bus between nodes. Redis keeps the order of one publisher's messages on a
 * channel, which is all the hub needs: events of one conversation are published by the node
 * that committed them, in commit order. Pub/sub is fire-and-forget; that is fine because the bus
 * is never the only copy (a client's `sync` re-reads from the store).
 */
export class RedisBus implements Bus {
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly handlers = new Map<string, Set<(payload: string) => void>>();

  /** `prefix` namespaces channels, so several clusters (or test runs) can share one Redis. */
  constructor(
    url: string,
    private readonly prefix = 'letter:',
  ) {
    const options = { maxRetriesPerRequest: null, enableAutoPipelining: true, lazyConnect: false };
    this.publisher = new Redis(url, options);
    this.subscriber = new Redis(url, options);
    this.subscriber.on('message', (channel: string, payload: string) => {
      const handlers = this.handlers.get(channel);
      if (handlers) for (const onPayload of handlers) onPayload(payload);
    });
    // ioredis reconnects by itself; without a listener an error would be an unhandled event.
    this.publisher.on('error', () => {});
    this.subscriber.on('error', () => {});
  }

  async publish(channel: string, payload: string): Promise<void> {
    await this.publisher.publish(this.prefix + channel, payload);
  }

  async subscribe(
    channel: string,
    onPayload: (payload: string) => void,
  ): Promise<() => Promise<void>> {
    const name = this.prefix + channel;
    let handlers = this.handlers.get(name);
    if (!handlers) {
      this.handlers.set(name, (handlers = new Set()));
      await this.subscriber.subscribe(name);
    }
    const own = (payload: string) => onPayload(payload);
    handlers.add(own);
    return async () => {
      handlers.delete(own);
      if (handlers.size === 0 && this.handlers.get(name) === handlers) {
        this.handlers.delete(name);
        await this.subscriber.unsubscribe(name);
      }
    };
  }

  isUp(): boolean {
    return this.publisher.status === 'ready' && this.subscriber.status === 'ready';
  }

  async close(): Promise<void> {
    this.handlers.clear();
    await Promise.allSettled([this.publisher.quit(), this.subscriber.quit()]);
  }
}
