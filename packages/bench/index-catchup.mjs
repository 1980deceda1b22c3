/**
 * What the SQLite worker's index catch-ups cost per row, by part (docs/performance.md, round
 * sixteen): the store alone on this thread appends in batches of 20 over the bench's 100 direct
 * conversations (synchronous=NORMAL, as the worker commits), and every `every` rows catches up
 * the export index (`indexExport`), the search index (`indexSearch`) and commits, in one
 * transaction, timing each part; then the search index's merge slices, each in a transaction of
 * its own (sqlite/search-merges.ts, round seventeen). `ONLY=export` or `ONLY=search` catches up
 * that index alone; `AUTOMERGE=on` leaves FTS5 to merge inside the catch-up's commit, as before
 * round seventeen. Reports the catch-up COMMIT's wall time too: the appends wait behind it.
 * Run after `npx tsc -b`, on one core:
 *   taskset -c 1 node packages/bench/index-catchup.mjs [appends] [every]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../server/dist/store/sqlite/sqlite-store.js';
import { pairMessage, seedPairs, workerMerges } from './append-pairs.mjs';
const total = Math.min(Number(process.argv[2] ?? 60000), 400000);
const every = Number(process.argv[3] ?? 1000);
const dir = mkdtempSync(join(tmpdir(), 'letter-cc-'));
const store = new SqliteStore(join(dir, 'bench.db'));
store.migrate();
store.db.pragma('synchronous = NORMAL');
store.deferSearchIndex = true;
Object.assign(store.appends, { keep: true, defer: true });
const pairs = await seedPairs(store);
const merge = process.env.AUTOMERGE === 'on' ? () => {} : workerMerges(store.db);
/** Wall ms of each catch-up's COMMIT. */
const commitWalls = [];
let n = 0,
  un = 0;
/** CPU µs: appends, the export's INSERT, the search index's, the catch-up's COMMIT. */
const t = { exp: 0, srch: 0, commit: 0, merge: 0, app: 0, catchups: 0 };
const cpu = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
while (n < total) {
  const a = cpu();
  store.db.exec('BEGIN IMMEDIATE');
  for (let i = 0; i < 20; i++, n++)
    store.call('appendMessage', [pairMessage(pairs, n, `m${String(n).padStart(9, '0')}`)]);
  store.flushWrites();
  store.db.exec('COMMIT');
  t.app += cpu() - a;
  if ((un += 20) >= every) {
    un = 0;
    t.catchups++;
    const b = cpu();
    store.db.exec('BEGIN IMMEDIATE');
    if (process.env.ONLY !== 'search') store.indexExport();
    const c = cpu();
    t.exp += c - b;
    if (process.env.ONLY !== 'export') store.indexSearch();
    const d = cpu();
    t.srch += d - c;
    const w = performance.now();
    store.db.exec('COMMIT');
    commitWalls.push(performance.now() - w);
    const e = cpu();
    t.commit += e - d;
    merge();
    t.merge += cpu() - e;
  }
}
console.log(
  `every ${every}: per row µs: appends ${(t.app / n).toFixed(2)}, export ${(t.exp / n).toFixed(2)}, search ${(t.srch / n).toFixed(2)}, catch-up commit ${(t.commit / n).toFixed(2)}, merge slices ${(t.merge / n).toFixed(2)}; catch-ups ${t.catchups}`,
);
const spread = (list) => {
  const sorted = [...list].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))].toFixed(1);
  return `p50 ${at(0.5)} p90 ${at(0.9)} max ${at(1)} ms`;
};
console.log(`catch-up COMMIT: ${spread(commitWalls)}`);
store.close();
rmSync(dir, { recursive: true, force: true });
