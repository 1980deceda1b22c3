/**
 * The PostgreSQL store's append path alone (docs/performance.md, "PostgreSQL appends"): 200
 * users in 100 direct conversations, each user keeping `--window` appends in flight (a send is
 * acked, the next one goes), for `--seconds` after a warm-up. Reports appends per second, the
 * node process's CPU per append, the CPU of the PostgreSQL backends serving it (from /proc, so
 * PostgreSQL on this box), and PostgreSQL transactions per append (`xact_commit` of the backends'
 * own sessions via pg_stat_activity's application_name, counted by the store's batcher stats when
 * it has them), and WAL bytes per append (pg_current_wal_lsn before and after). With `--acks=1`
 * the peer acknowledges every message it got (`delivered`, as real clients do), not awaited by
 * the sender. Run after `npx tsc -b`:
 *   LETTER_TEST_PG_URL=postgres://… node packages/bench/pg-append.mjs [--seconds=10] [--window=1]
 *     [--acks=1] [--think=ms]
 */
import { openPostgresStore } from '../server/dist/store/postgres/open.js';
import { seedPairs } from './append-pairs.mjs';
import { cpuSeconds, numberOption, walProbes } from './pg-probes.mjs';
import { adminQuery, dropSchema, freshSchemaName } from '../server/dist/store/postgres/testing.js';

const seconds = numberOption('seconds', 10);
const window = numberOption('window', 1);
const pairs = numberOption('pairs', 100);
const acks = numberOption('acks', 0) === 1;
// A pause of up to `think` ms (uniformly random) after each ack: the senders fall out of step, so
// appends arrive while a batch is in flight, as they do from real clients.
const think = numberOption('think', 0);
const pendingAcks = new Set();
const base = process.env.LETTER_TEST_PG_URL;
if (!base) throw new Error('set LETTER_TEST_PG_URL');
const app = `letter_pg_append_${process.pid}`;
const url = new URL(base);
url.searchParams.set('application_name', app);
const schema = freshSchemaName();
const store = await openPostgresStore({ url: url.toString(), schema });

const { users, conversations } = await seedPairs(store, pairs);

const backends = async () =>
  (
    await adminQuery(base, 'SELECT pid FROM pg_stat_activity WHERE application_name = $1', [app])
  ).map((row) => row.pid);
const commits = async () =>
  Number(
    (
      await adminQuery(
        base,
        'SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()',
      )
    )[0].xact_commit,
  );

const { lsn: walLsn, bytes: walBytes } = walProbes(base);

let n = 0;
let running = true;
let sent = 0;
let errors = 0;
let measuring = false;
const latencies = [];
const sender = async (userIndex) => {
  const conversationId = conversations[userIndex >> 1];
  const peer = `u${userIndex ^ 1}`;
  while (running) {
    const k = ++n;
    const started = performance.now();
    try {
      const { message } = await store.appendMessage({
        id: `m${k}`,
        conversationId,
        senderId: `u${userIndex}`,
        clientMsgId: `k${k}`,
        body: `message number ${k} from user ${userIndex}, hello there`,
        replyToSeq: null,
        createdAt: Date.now(),
        knownMembersVersion: 0,
      });
      sent++;
      if (acks) {
        const ack = store
          .advancePosition(conversationId, peer, 'delivered', message.seq, Date.now())
          .catch(() => errors++)
          .finally(() => pendingAcks.delete(ack));
        pendingAcks.add(ack);
      }
      if (measuring) latencies.push(performance.now() - started);
      if (think > 0) await new Promise((resolve) => setTimeout(resolve, Math.random() * think));
    } catch (error) {
      errors++;
      if (errors < 5) console.error(error);
    }
  }
};
const senders = [];
for (let u = 0; u < users.length; u++) {
  for (let w = 0; w < window; w++) senders.push(sender(u));
}
await new Promise((resolve) => setTimeout(resolve, 3000));
const pids = await backends();
const before = {
  sent,
  node: process.cpuUsage(),
  pg: pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0),
  commits: await commits(),
  wal: await walLsn(),
  at: performance.now(),
};
measuring = true;
await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
const after = {
  sent,
  node: process.cpuUsage(before.node),
  pg: pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0),
  commits: await commits(),
  wal: await walLsn(),
  at: performance.now(),
};
running = false;
await Promise.all(senders);
await Promise.all([...pendingAcks]);
const count = after.sent - before.sent;
const wall = (after.at - before.at) / 1000;
latencies.sort((a, b) => a - b);
const percentile = (p) => Number(latencies[Math.floor((latencies.length - 1) * p)]?.toFixed(1));
const micros = (value) => ((value / count) * 1e6).toFixed(0);
console.log(
  JSON.stringify({
    window,
    acks,
    think,
    batches: store.stats?.().transactions,
    appendsPerSec: Math.round(count / wall),
    nodeMicrosPerAppend: micros((after.node.user + after.node.system) / 1e6),
    pgBackendMicrosPerAppend: micros(after.pg - before.pg),
    pgBackends: pids.length,
    // The database's commits, including any other session's (a shared machine inflates it).
    commitsPerAppend: ((after.commits - before.commits) / count).toFixed(3),
    walBytesPerAppend: Math.round((await walBytes(before.wal, after.wal)) / count),
    latencyMs: { p50: percentile(0.5), p99: percentile(0.99), max: percentile(1) },
    errors,
  }),
);
await store.close();
await dropSchema(base, schema);
