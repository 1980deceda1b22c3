import type { OutboxEntry, OutboxStorage } from './storage.js';

/** Keeps entries in memory: survives a new client on the same storage, not a process restart. */
export class MemoryOutboxStorage implements OutboxStorage {
  private readonly entries = new Map<string, OutboxEntry>();

  load(userId: string): Promise<OutboxEntry[]> {
    return Promise.resolve(
      [...this.entries.values()].filter((e) => e.userId === userId).map((e) => ({ ...e })),
    );
  }

  put(entry: OutboxEntry): Promise<void> {
    this.entries.set(key(entry.userId, entry.clientMsgId), { ...entry });
    return Promise.resolve();
  }

  delete(userId: string, clientMsgId: string): Promise<void> {
    this.entries.delete(key(userId, clientMsgId));
    return Promise.resolve();
  }

  get size(): number {
    return this.entries.size;
  }
}

const key = (userId: string, clientMsgId: string) => `${userId}\u0000${clientMsgId}`;
