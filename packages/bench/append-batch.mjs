/**
 * The SQLite worker's cost per 1:1 append at a fixed batch size (docs/performance.md): the store
 * alone on this thread, batches of B appends over 100 direct conversations (their two members
 * taking turns), each batch run as the worker runs one (BEGIN IMMEDIATE, a savepoint per call,
 * deferred writes before COMMIT, the search index caught up as the worker does it; WAL,
 * synchronous=FULL). Reports CPU time
 * (user + system, fsyncs included) and wall time per append. Batch sizes are fixed, so unlike a
 * load test the figure does not move with how much queueing a busy machine causes.
 * Run after `npx tsc -b`: node packages/bench/append-batch.mjs [appends] [B ...]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../server/dist/store/sqlite/sqlite-store.js';
import { pairMessage, seedPairs, workerMerges } from './append-pairs.mjs';

const total = Number(process.argv[2] ?? 20_000);
const sizes = process.argv.slice(3).map(Number);
/** The worker's batch sizes (sqlite/writer.ts). */
const SEARCH_BATCH = 1000;
const EXPORT_BATCH = 4000;

async function run(batch) {
  const dir = mkdtempSync(join(tmpdir(), 'letter-append-batch-'));
  const store = new SqliteStore(join(dir, 'bench.db'));
  store.migrate();
  store.deferSearchIndex = true;
  if (store.appends) Object.assign(store.appends, { keep: true, defer: true });
  const pairs = await seedPairs(store);
  // The search index's merges, as the worker runs them: in slices of their own.
  const merge = workerMerges(store.db);
  const append = (message) =>
    store.call ? store.call('appendMessage', [message]) : store.appendMessage(message);
  const inSavepoint = store.db.transaction(append);
  let n = 0;
  let unindexed = 0;
  let unexported = 0;
  /** One index's catch-up, in a transaction of its own (as the worker runs it). */
  const catchUp = (index) => {
    store.db.exec('BEGIN IMMEDIATE');
    index();
    store.db.exec('COMMIT');
  };
  const runBatch = () => {
    store.db.exec('BEGIN IMMEDIATE');
    for (let i = 0; i < batch; i++, n++) {
      inSavepoint(pairMessage(pairs, n, `m${String(n).padStart(9, '0')}`));
    }
    // Before issue 12's round two the index was caught up in every batch; since, the worker
    // does it in transactions of its own, each index every so many rows (sqlite/writer.ts).
    if (store.appends) store.flushWrites();
    else store.indexPending();
    store.db.exec('COMMIT');
    if (!store.appends) return;
    if ((unindexed += batch) >= SEARCH_BATCH) {
      catchUp(() => store.indexSearch());
      unindexed = 0;
      merge();
    }
    if ((unexported += batch) >= EXPORT_BATCH) {
      catchUp(() => store.indexExport());
      unexported = 0;
    }
  };
  const measure = (count) => {
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let done = 0; done < count; done += batch) runBatch();
    const used = process.cpuUsage(cpu);
    return {
      cpu: (used.user + used.system) / count,
      sys: used.system / count,
      wall: ((performance.now() - started) * 1000) / count,
    };
  };
  measure(Math.min(5000, total / 4));
  const result = measure(total);
  store.close();
  rmSync(dir, { recursive: true, force: true });
  console.log(
    `B = ${batch}: ${result.cpu.toFixed(1)} µs CPU/append (${result.sys.toFixed(1)} sys), ${result.wall.toFixed(1)} µs wall`,
  );
}

for (const batch of sizes.length > 0 ? sizes : [10, 60, 200]) await run(batch);
