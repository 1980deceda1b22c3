import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { IndexedDbOutboxStorage } from './indexeddb.js';
import { MemoryOutboxStorage } from './memory.js';
import { describeOutboxStorage, entry } from './storage.suite.js';

describeOutboxStorage('memory', () => new MemoryOutboxStorage());
describeOutboxStorage(
  'IndexedDB',
  () => new IndexedDbOutboxStorage({ indexedDB: new IDBFactory() }),
);

describe('IndexedDbOutboxStorage', () => {
  it('survives closing and reopening the database (a reload)', async () => {
    const factory = new IDBFactory();
    const first = new IndexedDbOutboxStorage({ indexedDB: factory });
    await first.put(entry());
    first.close();
    const second = new IndexedDbOutboxStorage({ indexedDB: factory });
    expect(await second.load('u1')).toEqual([entry()]);
  });

  it('says clearly when IndexedDB is missing', () => {
    expect(() => new IndexedDbOutboxStorage()).toThrow(/IndexedDB is not available/);
  });
});
