/**
 * The search index's merges, in slices the SQLite writer runs between its batches.
 *
 * FTS5 writes every transaction that adds rows as a new segment, and merges segments as they
 * pile up. Left to itself (`automerge`), it merges inside the COMMIT of the transaction that
 * wrote the segment: one catch-up of 2,000 rows in ten took ~20 ms instead of ~2, and the appends
 * queued behind it (docs/performance.md, round seventeen). So the writer turns that off and
 * merges in transactions of its own, each up to MERGE_PAGES pages: FTS5 keeps an unfinished
 * merge's state in the index, and the next slice goes on with it. Same work, in steps of a few
 * milliseconds at most.
 *
 * A slice merges only where a level holds `usermerge` segments (4, FTS5's default), as automerge
 * did. Should the slices fall behind, FTS5's `crisismerge` (16 segments on a level) still merges
 * inside a commit: slower then, never wrong. A database left with automerge off (by this writer)
 * and written without it only merges at crisismerge: searches read more segments, nothing else.
 */
import type { Db } from './db.js';

/** Pages one slice merges: ~2.5 ms of the writer per slice (p99 ~5 ms), round seventeen. */
export const MERGE_PAGES = 32;

/** Turns FTS5's merging inside commits off (kept in the index's config, so set once per open). */
export function mergeInSlices(db: Db): void {
  db.prepare(`INSERT INTO messages_fts(messages_fts, rank) VALUES ('automerge', 0)`).run();
}

/**
 * A slice of merging, to run in the caller's transaction: it returns whether it found work. FTS5
 * says so only through total_changes(), which moves by 2 or more when it merged.
 */
export function mergeSlices(db: Db, pages = MERGE_PAGES): () => boolean {
  const changes = db.prepare('SELECT total_changes()').pluck();
  const merge = db.prepare(
    `INSERT INTO messages_fts(messages_fts, rank) VALUES ('merge', ${Math.trunc(pages)})`,
  );
  return () => {
    const before = changes.get() as number;
    merge.run();
    return (changes.get() as number) - before >= 2;
  };
}
