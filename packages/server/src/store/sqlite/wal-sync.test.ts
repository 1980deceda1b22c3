/**
 * Replies leave the SQLite store only once what they could have seen is on disk
 * (sqlite/wal-sync.ts): with an injected sync that answers when the test says so. The store
 * tests run the worker from dist/ (`npx tsc -b` first).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SuiteKit, expectCode } from '../suite/helpers.js';
import { WalSync, type SyncFn } from './wal-sync.js';
import { openSqliteStore } from './worker-store.js';

/** A sync the test completes by hand; counts the syncs started. */
function manualSync() {
  const done: ((error: Error | null) => void)[] = [];
  const sync: SyncFn = (callback) => done.push(callback);
  return {
    sync,
    started: () => done.length,
    finish: (index: number, error: Error | null = null) => done[index]!(error),
  };
}

function harness() {
  const disk = manualSync();
  const walSync = new WalSync<string>(disk.sync);
  const released: string[] = [];
  const failed: string[] = [];
  const arrive = (batch: string, wrote: boolean) =>
    walSync.arrived({
      batch,
      wrote,
      settle: (error) => (error ? failed : released).push(batch),
    });
  return { disk, walSync, released, failed, arrive };
}

describe('WalSync', () => {
  it('holds a write batch until a sync that began after it arrived has finished', () => {
    const { disk, released, arrive } = harness();
    arrive('w1', true);
    expect(disk.started()).toBe(1);
    expect(released).toEqual([]);
    disk.finish(0);
    expect(released).toEqual(['w1']);
  });

  it('releases reads at once when nothing unsynced precedes them', () => {
    const { disk, released, arrive } = harness();
    arrive('r1', false);
    expect(released).toEqual(['r1']);
    expect(disk.started()).toBe(0);
  });

  it('holds a read behind an unsynced write, and releases in commit order', () => {
    const { disk, released, arrive } = harness();
    arrive('w1', true);
    arrive('r1', false);
    expect(released).toEqual([]);
    disk.finish(0);
    // w1 was covered by the first sync; r1 came after it began but read only w1's writes,
    // which that sync made durable: no second sync is needed for a read.
    expect(released).toEqual(['w1', 'r1']);
    expect(disk.started()).toBe(1);
  });

  it('covers every batch that arrived during a sync with one more sync', () => {
    const { disk, released, arrive } = harness();
    arrive('w1', true);
    arrive('w2', true);
    arrive('r1', false);
    arrive('w3', true);
    expect(disk.started()).toBe(1);
    disk.finish(0);
    expect(released).toEqual(['w1']);
    // w2 and w3 committed after the first sync began: one second sync for both (and r1).
    expect(disk.started()).toBe(2);
    disk.finish(1);
    expect(released).toEqual(['w1', 'w2', 'r1', 'w3']);
  });

  it('fails the batches a failed sync covered, and goes on with the next', async () => {
    const { disk, walSync, released, failed, arrive } = harness();
    arrive('w1', true);
    arrive('w2', true);
    disk.finish(0, Object.assign(new Error('EIO'), { code: 'EIO' }));
    expect(failed).toEqual(['w1']);
    disk.finish(1);
    expect(released).toEqual(['w2']);
    await walSync.idle();
  });

  it('tells when no reply waits any more', async () => {
    const { disk, walSync, arrive } = harness();
    await walSync.idle();
    arrive('w1', true);
    let idle = false;
    void walSync.idle().then(() => (idle = true));
    await Promise.resolve();
    expect(idle).toBe(false);
    disk.finish(0);
    await Promise.resolve();
    expect(idle).toBe(true);
  });
});

describe('the SQLite store with its WAL synced off the worker', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'letter-wal-sync-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const open = async (sync: 'pipelined' | 'commit', syncWal: SyncFn) => {
    const store = await openSqliteStore({ file: join(dir, 'letter.db'), sync, syncWal });
    const kit = new SuiteKit();
    kit.store = store;
    return { store, kit };
  };
  const settled = async <T>(promise: Promise<T>) => {
    let state: 'pending' | 'resolved' | 'rejected' = 'pending';
    promise.then(
      () => (state = 'resolved'),
      () => (state = 'rejected'),
    );
    // Long enough for the worker to have committed and answered.
    await new Promise((resolve) => setTimeout(resolve, 100));
    return state;
  };

  it('answers an append only after the WAL sync, and a failed sync fails it as unavailable', async () => {
    const disk = manualSync();
    const { store, kit } = await open('pipelined', disk.sync);
    try {
      // Set-up writes: release each sync as it starts.
      const setUp = (async () => {
        const [a, b] = await kit.users(2);
        return { a: a!, b: b!, c: await kit.direct(a!, b!) };
      })();
      for (let i = 0; (await settled(setUp)) === 'pending' && i < 50; i++) {
        for (let s = 0; s < disk.started(); s++) disk.finish(s);
      }
      const { a, c } = await setUp;
      const before = disk.started();
      const sent = kit.send(c, a);
      expect(await settled(sent)).toBe('pending');
      expect(disk.started()).toBe(before + 1);
      disk.finish(before);
      expect((await sent).message.seq).toBeGreaterThan(0);

      const lost = kit.send(c, a);
      expect(await settled(lost)).toBe('pending');
      disk.finish(before + 1, Object.assign(new Error('EIO'), { code: 'EIO' }));
      await expectCode(lost, 'unavailable');
    } finally {
      for (let s = 0; s < disk.started(); s++) disk.finish(s);
      await store.close();
    }
  });

  it('syncs inside COMMIT instead when told to (LETTER_SQLITE_SYNC=commit)', async () => {
    const disk = manualSync();
    const { store, kit } = await open('commit', disk.sync);
    try {
      const [a, b] = await kit.users(2);
      const c = await kit.direct(a!, b!);
      expect((await kit.send(c, a!)).message.seq).toBeGreaterThan(0);
      expect(disk.started()).toBe(0);
    } finally {
      await store.close();
    }
  });
});
