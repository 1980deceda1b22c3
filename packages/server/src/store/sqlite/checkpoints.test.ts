/**
 * Checkpoints off the commit path (sqlite/checkpointer.ts, sqlite/checkpoints.ts): under
 * sustained writes the checkpointer thread copies the log, the writer finishes long logs between
 * batches so the log starts over (the file stays bounded), and nothing committed is lost. Runs
 * the worker from dist/ (`npx tsc -b` first).
 */
import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StoreStats } from '../store.js';
import { SuiteKit } from '../suite/helpers.js';
import { RESTART_FRAMES } from './checkpoints.js';
import { openSqliteStore } from './worker-store.js';

/** A WAL frame: a 24-byte header and a 4 KiB page. */
const FRAME_BYTES = 24 + 4096;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'letter-checkpoints-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * Appends without a pause: 300 lanes over 20 conversations, each lane sending its next message
 * as the last is answered, so the writer always has a batch waiting and the log never drains
 * by itself between two of its transactions. Goes on until `enough` (checked every 400 answers).
 */
async function writeSteadily(
  mode: 'thread' | 'inline',
  enough: (stats: StoreStats, answered: number) => boolean,
) {
  const file = join(dir, `${mode}.db`);
  const store = await openSqliteStore({ file, checkpoints: mode, commitDelayMs: 0 });
  const kit = new SuiteKit();
  kit.store = store;
  const users = await kit.users(40);
  const conversations = await Promise.all(
    Array.from({ length: 20 }, (_, i) => kit.direct(users[2 * i]!, users[2 * i + 1]!)),
  );
  let walHigh = 0;
  let answered = 0;
  let done = false;
  // At most 80,000 messages, for a slow machine.
  const lane = async (l: number) => {
    for (let n = 0; !done && answered < 80_000; n++) {
      const pair = (l + n) % 20;
      await kit.send(conversations[pair]!, users[2 * pair + (n % 2)]!, `m ${l} ${n}`);
      if (++answered % 400 === 0) {
        walHigh = Math.max(walHigh, statSync(`${file}-wal`).size);
        done ||= enough(store.stats(), answered);
      }
    }
  };
  await Promise.all(Array.from({ length: 300 }, (_, l) => lane(l)));
  const stats = store.stats();
  await store.close();
  return { file, stats, walHigh, answered };
}

describe('SQLite checkpoints', () => {
  it('copies the log on its own thread and keeps it bounded under sustained writes; nothing is lost', async () => {
    // Until the writer has finished a long log three times, after at least 8,000 messages.
    const { file, stats, walHigh, answered } = await writeSteadily(
      'thread',
      (stats, answered) => answered >= 8000 && (stats.checkpoints?.finished ?? 0) >= 3,
    );
    expect(stats.checkpoints?.fallback).toBe(false);
    expect(stats.checkpoints?.runs).toBeGreaterThan(0);
    // The log grew past the restart length and the writer finished it, more than once.
    expect(stats.checkpoints?.maxLog).toBeGreaterThanOrEqual(RESTART_FRAMES);
    expect(stats.checkpoints?.finished).toBeGreaterThanOrEqual(3);
    // So the log started over: its file never held much more than the restart length.
    expect(walHigh).toBeLessThan(2 * RESTART_FRAMES * FRAME_BYTES);
    // Every acknowledged message is in the database after close (which removed the log).
    const db = new Database(file, { readonly: true });
    try {
      expect(
        db.prepare('SELECT count(*) AS n FROM messages WHERE sender_id IS NOT NULL').get(),
      ).toEqual({
        n: answered,
      });
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      db.close();
    }
  });

  it('leaves checkpoints to SQLite, inside commits, when told to (LETTER_SQLITE_CHECKPOINTS=inline)', async () => {
    const { stats, walHigh } = await writeSteadily('inline', (_, answered) => answered >= 4000);
    expect(stats.checkpoints).toBeUndefined();
    // SQLite's automatic checkpoint restarts the log at 1,000 pages.
    expect(walHigh).toBeLessThan(2 * RESTART_FRAMES * FRAME_BYTES);
  });
});
