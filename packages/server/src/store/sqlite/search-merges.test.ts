/**
 * The search index's merges run in slices of their own between the writer's batches
 * (search-merges.ts), never inside the commit of a catch-up: FTS5's automerge is off, segments
 * still get merged, and the index stays whole.
 * The worker runs compiled code from dist/: run `npx tsc -b packages/server` first.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { openSqliteStore } from './worker-store.js';
import { T0, range } from '../suite/helpers.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** What FTS5 holds: its automerge setting and how many segments the index has. */
function ftsState(file: string): { automerge: number | undefined; segments: number } {
  const db = new Database(file, { readonly: true });
  try {
    const automerge = db
      .prepare(`SELECT v FROM messages_fts_config WHERE k = 'automerge'`)
      .pluck()
      .get() as number | undefined;
    const segments = db
      .prepare('SELECT count(DISTINCT segid) FROM messages_fts_idx')
      .pluck()
      .get() as number;
    return { automerge, segments };
  } finally {
    db.close();
  }
}

describe('the search index merges', () => {
  it('run in slices between batches, not in the commits of catch-ups, and keep the index whole', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'letter-merges-'));
    dirs.push(dir);
    const file = join(dir, 'letter.db');
    const store = await openSqliteStore({ file });
    try {
      const user = (name: string) =>
        store.createUser({
          id: `u_${name}`,
          username: name,
          displayName: name,
          passwordHash: 'h',
          createdAt: T0,
        });
      const [a, b] = [await user('ann'), await user('bob')];
      const { conversation } = await store.openDirect('c_ab', a.id, b.id, T0);
      let n = 0;
      const send = () => {
        n += 1;
        return store.appendMessage({
          id: `m_${n}`,
          conversationId: conversation.id,
          senderId: n % 2 ? a.id : b.id,
          clientMsgId: `cm_${n}`,
          body: `message n${n}x`,
          replyToSeq: null,
          createdAt: T0 + n,
        });
      };
      // 14,000 appends in batches of 500: a catch-up of the search index every 1,000 rows, each
      // writing a segment.
      for (const _ of range(1, 28)) await Promise.all(range(1, 500).map(() => send()));
      expect(ftsState(file).automerge).toBe(0);
      // Merged by the slices that follow batches that wrote, and the ones that run while the
      // worker idles (the reads here start none). FTS5 merges 4 segments of one level into one
      // of the next, so once merged no level holds more than 3: at most 7 of the 14 or more
      // written (a catch-up every 1,000 rows, more when the worker idled between chunks).
      // Without the slices 13 to 15 stayed (below crisismerge's 16).
      await vi.waitFor(
        async () => {
          await store.getUser(a.id);
          expect(ftsState(file).segments).toBeLessThanOrEqual(7);
        },
        { timeout: 10_000, interval: 20 },
      );
      expect(store.stats().searchMerges).toBeGreaterThan(0);
      for (const k of [1, 2001, 7777, 13_999]) {
        const found = await store.search(a.id, { text: `n${k}x`, limit: 10 });
        expect(found?.map((r) => r.message.body)).toEqual([`message n${k}x`]);
      }
    } finally {
      await store.close();
    }
    const db = new Database(file);
    try {
      // Throws when the index and the messages disagree.
      db.prepare(`INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')`).run();
    } finally {
      db.close();
    }
  });
});
