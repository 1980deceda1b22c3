/**
 * A measuring prototype, not Letter's code: the search and export indexes written beside the
 * writer, in a database file of their own, by a process of their own at low priority. Run it on
 * the server's core beside a `loop-cpu.mjs` build whose writer skips its own catch-ups (a
 * temporary setting in that build's dist), to see what the p99 at 5,000 msg/s would be if the
 * index work could no longer hold the appends (docs/performance.md, round eighteen).
 *
 *   taskset -c 0 chrt --idle 0 node packages/bench/indexer-proto.mjs <letter.db> <index.db>
 *
 * Every 10 ms it looks for messages above its mark and copies them, 1,000 at a time (fewer only
 * after 500 ms without a catch-up), with `INSERT … SELECT` from the main file (attached, only
 * read) as the writer's catch-ups do, into a contentless FTS5 table with Letter's tokenizer and prefixes and into an export table shaped
 * like `sent_messages`, one transaction each time, then merges in slices of 32 pages (as
 * sqlite/search-merges.ts) while segments are owed. Every 5 s it prints its CPU per row.
 */
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';

const [mainFile, indexFile] = process.argv.slice(2);
if (!mainFile || !indexFile) throw new Error('usage: indexer-proto.mjs <letter.db> <index.db>');
const BATCH = 1000;
const MERGE_PAGES = 32;
/** Fewer rows than BATCH wait this long since the last catch-up. */
const IDLE_MS = 500;

while (!existsSync(mainFile)) await new Promise((resolve) => setTimeout(resolve, 100));
await new Promise((resolve) => setTimeout(resolve, 1000));
const index = new Database(indexFile);
index.pragma('journal_mode = WAL');
index.pragma('synchronous = NORMAL');
index.pragma('busy_timeout = 1000');
index.exec(`
  CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(
    body, content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3');
  INSERT INTO fts(fts, rank) VALUES ('automerge', 0);
  CREATE TABLE IF NOT EXISTS sent (
    sender_id TEXT NOT NULL, conversation_id TEXT NOT NULL, seq INTEGER NOT NULL,
    created_at INTEGER NOT NULL, PRIMARY KEY (sender_id, conversation_id, seq)
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS mark (id INTEGER PRIMARY KEY, upto INTEGER NOT NULL);
  INSERT OR IGNORE INTO mark VALUES (1, 0);
`);
// The main database attached (only read: the index's writes take only the index file's lock).
index.prepare('ATTACH ? AS m').run(mainFile);
const top = index.prepare(
  `SELECT max(rowid) AS top, count(*) AS n
   FROM (SELECT rowid FROM m.messages WHERE rowid > ? ORDER BY rowid LIMIT ${BATCH})`,
);
const insertFts = index.prepare(
  'INSERT INTO fts(rowid, body) SELECT rowid, body FROM m.messages WHERE rowid > ? AND rowid <= ?',
);
const insertSent = index.prepare(
  `INSERT OR IGNORE INTO sent (sender_id, conversation_id, seq, created_at)
   SELECT sender_id, conversation_id, seq, created_at FROM m.messages
   WHERE rowid > ? AND rowid <= ? AND sender_id IS NOT NULL
   ORDER BY sender_id, conversation_id, seq`,
);
const setMark = index.prepare('UPDATE mark SET upto = ? WHERE id = 1');
const merge = index.prepare(`INSERT INTO fts(fts, rank) VALUES ('merge', ${MERGE_PAGES})`);
const changes = index.prepare('SELECT total_changes() AS n');
let upto = index.prepare('SELECT upto FROM mark WHERE id = 1').get().upto;
let mergeOwed = false;
let rows = 0;
let merges = 0;
let lastCatchUp = Date.now();

/** Copies the rows above the mark (at most BATCH) into both indexes; how many it copied. */
const catchUp = index.transaction(() => {
  const { top: last, n } = top.get(upto);
  // A full batch, or whatever is there IDLE_MS after the last catch-up (rows counted by rowid).
  if (last === null || (n < BATCH && Date.now() - lastCatchUp < IDLE_MS)) return 0;
  lastCatchUp = Date.now();
  insertFts.run(upto, last);
  insertSent.run(upto, last);
  setMark.run(last);
  const added = last - upto;
  upto = last;
  return added;
});
const mergeSlice = index.transaction(() => {
  const before = changes.get().n;
  merge.run();
  return changes.get().n - before >= 2;
});

function step() {
  const added = catchUp();
  if (added > 0) {
    rows += added;
    mergeOwed = true;
  } else if (mergeOwed) {
    if (mergeSlice()) merges++;
    else mergeOwed = false;
  }
  setTimeout(step, added >= BATCH ? 0 : 10);
}
step();

let last = process.cpuUsage();
let lastRows = 0;
setInterval(() => {
  const now = process.cpuUsage();
  const micros = now.user - last.user + (now.system - last.system);
  const added = rows - lastRows;
  console.log(
    `indexer: ${added} rows, ${merges} merge slices so far, ${added > 0 ? (micros / added).toFixed(1) : '-'} µs CPU per row`,
  );
  last = now;
  lastRows = rows;
}, 5000);
