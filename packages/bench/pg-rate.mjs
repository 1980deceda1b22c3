/**
 * The PostgreSQL store's append path under an OPEN loop (docs/performance.md, "PostgreSQL
 * appends, round four"): appends are sent at `--rate` per second whatever happened to earlier
 * ones (as the bench's pg-max row sends them), round-robin over 200 users in 100 direct
 * conversations, for `--seconds`. Prints one line a second: appends acked, latency from the
 * intended send time to the ack (p50/p99/max), CPU of this process, of the store's PostgreSQL
 * backends and of the WAL writer (from /proc, so PostgreSQL on this box), WAL bytes (the whole
 * cluster's), and the GIN index's pending list (needs `pgstattuple` in the database; skipped
 * without it). Then a summary of the seconds after `--warmup`. Run after `npx tsc -b`:
 *   LETTER_TEST_PG_URL=postgres://… node packages/bench/pg-rate.mjs --rate=8000 [--seconds=20]
 *     [--warmup=3] [--pairs=100] [--reads=unlocked]
 */
import pg from 'pg';
import { openPostgresStore } from '../server/dist/store/postgres/open.js';
import { seedPairs } from './append-pairs.mjs';
import { cpuSeconds, numberOption, walProbes } from './pg-probes.mjs';
import { adminQuery, dropSchema, freshSchemaName } from '../server/dist/store/postgres/testing.js';

const rate = numberOption('rate', 4000);
const seconds = numberOption('seconds', 20);
const warmup = numberOption('warmup', 3);
const pairs = numberOption('pairs', 100);
// `unlocked`: as the nodes of a cluster open the store (append-batch.ts); default as one node.
const appendReads = process.argv.find((a) => a.startsWith('--reads='))?.slice(8) ?? 'locked';
const base = process.env.LETTER_TEST_PG_URL;
if (!base) throw new Error('set LETTER_TEST_PG_URL');
const app = `letter_pg_rate_${process.pid}`;
const url = new URL(base);
url.searchParams.set('application_name', app);
// The store's sessions time their own WAL writes and flushes (pg_stat_wal; superuser only).
url.searchParams.set('options', '-c track_wal_io_timing=on');
const schema = freshSchemaName();
const store = await openPostgresStore({ url: url.toString(), schema, appendReads });
// Experiments: run a statement in the fresh schema before the load, e.g.
// --setup='DROP INDEX messages_by_sender'.
const setup = process.argv.find((a) => a.startsWith('--setup='))?.slice(8);
if (setup) {
  const [{ search_path }] = await adminQuery(
    base,
    'SELECT set_config($1, $2, false) AS search_path',
    ['search_path', schema],
  );
  void search_path;
  const admin = new URL(base);
  admin.searchParams.set('options', `-c search_path=${schema}`);
  await adminQuery(admin.toString(), setup);
}

const { conversations } = await seedPairs(store, pairs);

const pidsOf = async (where, values) =>
  (await adminQuery(base, `SELECT pid FROM pg_stat_activity WHERE ${where}`, values)).map(
    (row) => row.pid,
  );
const { lsn: walLsn, bytes: walBytes } = walProbes(base);
// The whole cluster's WAL flushes (other sessions' too): count and time spent, ms.
const walSyncs = async () => {
  const [row] = await adminQuery(base, 'SELECT wal_sync, wal_sync_time FROM pg_stat_wal');
  return { count: Number(row.wal_sync), ms: Number(row.wal_sync_time) };
};
let ginStats = true;
const pending = async () => {
  if (!ginStats) return null;
  try {
    const [row] = await adminQuery(
      base,
      `SELECT pending_pages, pending_tuples FROM pgstatginindex($1::regclass)`,
      [`"${schema}".messages_search`],
    );
    return row.pending_pages;
  } catch {
    ginStats = false;
    return null;
  }
};

let k = 0;
let errors = 0;
let inFlight = 0;
let second = [];
const send = (intended) => {
  const n = ++k;
  const user = n % (2 * pairs);
  inFlight++;
  store
    .appendMessage({
      id: `m${n}`,
      conversationId: conversations[user >> 1],
      senderId: `u${user}`,
      clientMsgId: `k${n}`,
      body: `message number ${n} from user ${user}, hello there`,
      replyToSeq: null,
      createdAt: Date.now(),
      knownMembersVersion: 0,
    })
    .then(
      () => second.push(performance.now() - intended),
      (error) => {
        errors++;
        if (errors < 5) console.error(error);
      },
    )
    .finally(() => inFlight--);
};

// What the store's active backends wait on, sampled every 20 ms ('cpu' when they wait on
// nothing): a second spent in WALSync is the disk's, one in ClientRead is the node's.
const watcher = new pg.Client({ connectionString: base });
await watcher.connect();
let waits = new Map();
const watching = setInterval(() => {
  watcher
    .query(
      `SELECT coalesce(wait_event, 'cpu') AS wait FROM pg_stat_activity
        WHERE application_name = $1 AND state = 'active'`,
      [app],
    )
    .then(({ rows }) => {
      for (const { wait } of rows) waits.set(wait, (waits.get(wait) ?? 0) + 1);
    })
    .catch(() => {});
}, 20);

const t0 = performance.now();
let sent = 0;
const ticker = setInterval(() => {
  const due = Math.floor(((performance.now() - t0) / 1000) * rate);
  while (sent < due) send(t0 + (++sent / rate) * 1000);
}, 1);

const walWriter = await pidsOf(`backend_type = 'walwriter'`);
let backends = [];
const sample = async () => ({
  at: performance.now(),
  node: process.cpuUsage(),
  pg: backends.reduce((sum, pid) => sum + cpuSeconds(pid), 0),
  wal: walWriter.reduce((sum, pid) => sum + cpuSeconds(pid), 0),
  lsn: await walLsn(),
  syncs: await walSyncs(),
});
const rows = [];
let last = await sample();
for (let s = 1; s <= seconds; s++) {
  await new Promise((resolve) => setTimeout(resolve, t0 + s * 1000 - performance.now()));
  if (backends.length === 0) {
    backends = await pidsOf('application_name = $1', [app]);
    last.pg = backends.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  }
  const now = await sample();
  const lat = second.sort((a, b) => a - b);
  second = [];
  const wall = (now.at - last.at) / 1000;
  const node = process.cpuUsage(last.node);
  const row = {
    s,
    acked: lat.length,
    p50: lat[Math.floor((lat.length - 1) * 0.5)] ?? NaN,
    p99: lat[Math.floor((lat.length - 1) * 0.99)] ?? NaN,
    max: lat[lat.length - 1] ?? NaN,
    nodeCpu: (node.user + node.system) / 1e6 / wall,
    pgCpu: (now.pg - last.pg) / wall,
    walCpu: (now.wal - last.wal) / wall,
    walBytes: await walBytes(last.lsn, now.lsn),
    pendingPages: await pending(),
    syncs: now.syncs.count - last.syncs.count,
    syncMs: now.syncs.ms - last.syncs.ms,
    waits: [...waits]
      .sort((a, b) => b[1] - a[1])
      .map(([w, n]) => `${w} ${n}`)
      .join(', '),
    inFlight,
  };
  waits = new Map();
  rows.push(row);
  console.log(
    `${String(s).padStart(3)}s acked ${String(row.acked).padStart(5)}  p50 ${row.p50.toFixed(1)} p99 ${row.p99.toFixed(1)} max ${row.max.toFixed(0)} ms  node ${(row.nodeCpu * 100).toFixed(0)}%  backends ${(row.pgCpu * 100).toFixed(0)}%  walwriter ${(row.walCpu * 100).toFixed(0)}%  WAL ${(row.walBytes / Math.max(1, row.acked)).toFixed(0)} B/append  pending ${row.pendingPages ?? '-'}  flushes ${row.syncs} of ${(row.syncMs / Math.max(1, row.syncs)).toFixed(2)} ms  in flight ${inFlight}  waits ${row.waits}`,
  );
  last = now;
}
clearInterval(ticker);
clearInterval(watching);
await watcher.end();
const kept = rows.filter((r) => r.s > warmup);
const acked = kept.reduce((sum, r) => sum + r.acked, 0);
const sum = (key) => kept.reduce((total, r) => total + r[key], 0);
console.log(
  JSON.stringify({
    rate,
    ackedPerSec: Math.round(acked / kept.length),
    worstP99: Math.max(...kept.map((r) => r.p99)),
    nodeMicrosPerAppend: Math.round((sum('nodeCpu') / acked) * 1e6),
    pgBackendMicrosPerAppend: Math.round((sum('pgCpu') / acked) * 1e6),
    walWriterMicrosPerAppend: Math.round((sum('walCpu') / acked) * 1e6),
    walBytesPerAppend: Math.round(sum('walBytes') / acked),
    walFlushesPerSec: Math.round(sum('syncs') / kept.length),
    walFlushMs: Number((sum('syncMs') / Math.max(1, sum('syncs'))).toFixed(3)),
    batches: store.stats?.().transactions,
    errors,
  }),
);
while (inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 50));
await store.close();
await dropSchema(base, schema);
