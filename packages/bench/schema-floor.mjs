/**
 * What a durable 1:1 append costs in SQLite alone, feature by feature (docs/performance.md,
 * "The floor of an append"): one thread, raw better-sqlite3, no Letter code, batches of B
 * appends over 100 direct conversations (their two members taking turns, client ids made by
 * the sdk's own factory (UUIDv7), time-ordered message ids), WAL with `synchronous=FULL` as the
 * bench's ws + SQLite relay. The layers (relay … +savept) are src/relays/floor-schema.ts's,
 * which the relay can also run behind the wire (`RELAY_SCHEMA`); the last row is:
 *   Letter    Letter's own append path (SqliteStore, as the worker runs a batch; its full schema,
 *             which also has the receipts' and mentions' tables and the triggers)
 * Reports CPU (user + sys) and 4 KiB pages written per append; SQLite's automatic checkpoint runs
 * inline, so its copies are counted. The difference between the last two rows is Letter's code.
 * Run: node packages/bench/schema-floor.mjs [appends] [B ...]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore } from '../server/dist/store/sqlite/sqlite-store.js';
import { makeIdFactory } from '../sdk/dist/clock.js';
import { seedPairs, workerMerges } from './append-pairs.mjs';
import { FLOOR_LAYERS, catchUps, openFloor } from './dist/relays/floor-schema.js';

const total = Number(process.argv[2] ?? 20_000);
const sizes = process.argv.slice(3).map(Number);
const PAIRS = 100;
const LAYERS = [...FLOOR_LAYERS, 'Letter'];

const written = () => Number(/write_bytes: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))[1]);

/** Letter's store, run the way append-batch.mjs and the worker run it. */
async function openLetter() {
  const dir = mkdtempSync(join(tmpdir(), 'letter-floor-'));
  const store = new SqliteStore(join(dir, 'floor.db'));
  store.migrate();
  store.deferSearchIndex = true;
  Object.assign(store.appends, { keep: true, defer: true });
  const pairs = await seedPairs(store);
  const merge = workerMerges(store.db);
  // The worker runs a plain append without a savepoint (sqlite/writer.ts, since round twelve).
  const call = (m) => store.call('appendMessage', [m]);
  return {
    dir,
    db: store.db,
    // Field by field, in the worker's order (sqlite/wire-calls.ts): `{ ...m, more }` would give
    // every message a hidden class of its own in V8, and the append path's property loads would
    // miss their caches on each (docs/performance.md, "Round thirteen").
    append: (m) =>
      call({
        id: m.id,
        conversationId: pairs.conversations[Number(m.conversationId.slice(1))],
        senderId: m.senderId,
        clientMsgId: m.clientMsgId,
        body: m.body,
        replyToSeq: null,
        createdAt: m.createdAt,
        knownMembersVersion: 1,
      }),
    flush: () => store.flushWrites(),
    committed: catchUps((part) => {
      store.db.exec('BEGIN IMMEDIATE');
      if (part === 'export') store.indexExport();
      else store.indexSearch();
      store.db.exec('COMMIT');
      if (part === 'search') merge();
    }),
  };
}

function open(layer) {
  const dir = mkdtempSync(join(tmpdir(), 'letter-floor-'));
  const db = new Database(join(dir, 'floor.db'));
  return { dir, db, ...openFloor(db, layer, workerMerges) };
}

const newClientId = makeIdFactory(Math.random);

async function run(layer, batch) {
  const t = layer === 'Letter' ? await openLetter() : open(layer);
  let n = 0;
  const message = (i) => ({
    id: `m_${Date.now().toString(36).padStart(9, '0')}${String(i).padStart(16, '0')}`,
    conversationId: `c${i % PAIRS}`,
    senderId: `u${2 * (i % PAIRS) + (Math.floor(i / PAIRS) % 2)}`,
    clientMsgId: newClientId(),
    body: `message ${i} lorem ipsum dolor sit amet, consectetur adipiscing`,
    createdAt: Date.now(),
  });
  const runBatch = () => {
    t.db.exec('BEGIN IMMEDIATE');
    for (let i = 0; i < batch; i++) t.append(message(n++));
    t.flush();
    t.db.exec('COMMIT');
    t.committed(batch);
  };
  const measure = (count) => {
    const cpu = process.cpuUsage();
    const bytes = written();
    for (let done = 0; done < count; done += batch) runBatch();
    const used = process.cpuUsage(cpu);
    return { cpu: (used.user + used.system) / count, pages: (written() - bytes) / 4096 / count };
  };
  measure(Math.min(5000, total / 4));
  const result = measure(total);
  t.db.close();
  rmSync(t.dir, { recursive: true, force: true });
  return result;
}

for (const batch of sizes.length > 0 ? sizes : [10, 30]) {
  for (const layer of LAYERS) {
    const r = await run(layer, batch);
    console.log(
      `B = ${batch} ${layer.padEnd(9)} ${r.cpu.toFixed(1).padStart(6)} µs CPU/append  ${r.pages.toFixed(2).padStart(5)} pages/append`,
    );
  }
}
