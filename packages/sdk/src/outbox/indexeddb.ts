/**
 * IndexedDB outbox for browsers. One object store keyed by [userId, clientMsgId] with an index
 * on userId. `put` resolves on the transaction's `complete`, i.e. once the write is committed.
 */
import { openDatabase, writeStore } from '../idb.js';
import type { OutboxEntry, OutboxStorage } from './storage.js';

const storeName = 'outbox';

export interface IndexedDbOutboxOptions {
  /** Database name; one per server origin is plenty. */
  name?: string;
  /** The factory; defaults to the global `indexedDB` (tests pass fake-indexeddb's). */
  indexedDB?: IDBFactory;
}

export class IndexedDbOutboxStorage implements OutboxStorage {
  private db: Promise<IDBDatabase> | null = null;
  private readonly name: string;
  private readonly factory: IDBFactory;

  constructor(options: IndexedDbOutboxOptions = {}) {
    this.name = options.name ?? 'letter-outbox';
    const factory = options.indexedDB ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB;
    if (!factory) throw new Error('IndexedDB is not available here; use MemoryOutboxStorage');
    this.factory = factory;
  }

  async load(userId: string): Promise<OutboxEntry[]> {
    const db = await this.open();
    return new Promise((resolve, reject) => {
      const tx = db.transaction(storeName, 'readonly');
      const request = tx.objectStore(storeName).index('userId').getAll(userId);
      request.onsuccess = () => resolve(request.result as OutboxEntry[]);
      request.onerror = () => reject(request.error ?? new Error('outbox load failed'));
    });
  }

  async put(entry: OutboxEntry): Promise<void> {
    await this.write((store) => store.put(entry));
  }

  async delete(userId: string, clientMsgId: string): Promise<void> {
    await this.write((store) => store.delete([userId, clientMsgId]));
  }

  close(): void {
    void this.db?.then((db) => db.close());
    this.db = null;
  }

  private write(change: (store: IDBObjectStore) => void): Promise<void> {
    return writeStore(this.open(), storeName, change, 'outbox');
  }

  private open(): Promise<IDBDatabase> {
    this.db ??= openDatabase(
      this.factory,
      this.name,
      (db) => {
        const store = db.createObjectStore(storeName, { keyPath: ['userId', 'clientMsgId'] });
        store.createIndex('userId', 'userId');
      },
      'outbox database',
    );
    return this.db;
  }
}
