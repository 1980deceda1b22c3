import type { Bus } from './bus.js';

/**
 * An in-process bus. Several nodes in one test share one `MemoryBus` to act as a cluster.
 * Delivery is asynchronous (a microtask later), like a real broker, so no caller depends on
 * publish running subscribers inline.
 */
export class MemoryBus implements Bus {
  private readonly channels = new Map<string, Set<(payload: string) => void>>();
  private closed = false;

  async publish(channel: string, payload: string): Promise<void> {
    if (this.closed) throw new Error('bus closed');
    const subscribers = this.channels.get(channel);
    if (!subscribers) return;
    for (const onPayload of [...subscribers]) queueMicrotask(() => onPayload(payload));
  }

  async subscribe(
    channel: string,
    onPayload: (payload: string) => void,
  ): Promise<() => Promise<void>> {
    let subscribers = this.channels.get(channel);
    if (!subscribers) this.channels.set(channel, (subscribers = new Set()));
    const own = (payload: string) => onPayload(payload);
    subscribers.add(own);
    return async () => {
      subscribers.delete(own);
    };
  }

  isUp(): boolean {
    return !this.closed;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.channels.clear();
  }
}
