/**
 * What a batch's reads cost, alone (docs/performance.md, round nine): the PostgreSQL append
 * batch's reads for batches of `--batch` 1:1 messages, run `--rounds` times one after another on
 * one connection, as prepared statements; CPU of this process and of its backend per batch.
 * Compares the four statements of round eight with append-batch.ts's one. The connection is not
 * pipelined (pg queues the four), so the gap per statement is wider than in a batch; `PGX=' -c
 * plan_cache_mode=force_generic_plan'` sets the connection's plan mode as the append pool does.
 *   LETTER_TEST_PG_URL=postgres://… node packages/bench/read-cost.mjs [--batch=4] [--rounds=3000]
 */
import pg from 'pg';
import { openPostgresStore } from '../server/dist/store/postgres/open.js';
import { READS_SQL, CHECK_SQL } from '../server/dist/store/postgres/append-batch.js';
import { seedPairs } from './append-pairs.mjs';
import { cpuSeconds, numberOption } from './pg-probes.mjs';
import { dropSchema, freshSchemaName } from '../server/dist/store/postgres/testing.js';

const batch = numberOption('batch', 4);
const rounds = numberOption('rounds', 3000);
const base = process.env.LETTER_TEST_PG_URL;
if (!base) throw new Error('set LETTER_TEST_PG_URL');
const schema = freshSchemaName();
const store = await openPostgresStore({ url: base, schema });
const { users, conversations } = await seedPairs(store);
const client = new pg.Client({
  connectionString: base,
  options: `-c search_path=${schema}` + (process.env.PGX ?? ''),
});
await client.connect();
const [{ pid }] = (await client.query('SELECT pg_backend_pid() AS pid')).rows;

// The four statements of round eight, as append-batch.ts had them.
const READ = `SELECT id, kind, last_seq, members_version FROM conversations WHERE id = ANY($1::text[])`;
const DIRECT = READS_SQL.match(/json_agg\(d\) FROM \(([\s\S]*?)\) d\) AS direct/)[1];
const MEMBERS = READS_SQL.match(/json_agg\(s\) FROM \(([\s\S]*)\) s\) AS sets/)[1].replace(
  /\$(\d+)/g,
  (_, n) => `$${Number(n) === 2 ? 1 : Number(n) - 4}`,
);

const values = (k) => {
  const convs = [];
  const senders = [];
  for (let j = 0; j < batch; j++) {
    const c = (k * batch + j) % 100;
    convs.push(conversations[c]);
    senders.push(users[2 * c + (j % 2)]);
  }
  const ids = [...new Set(convs)].sort();
  const clients = convs.map((_, j) => `k${k}_${j}`);
  const replies = convs.map(() => null);
  const known = convs.map(() => null);
  const mentions = convs.map(() => false);
  return { convs, senders, ids, clients, replies, known, mentions };
};

const four = (v) =>
  Promise.all([
    client.query({ name: 'r', text: READ, values: [v.ids] }),
    client.query({
      name: 'c',
      text: CHECK_SQL,
      values: [v.convs, v.senders, v.clients, v.replies],
    }),
    client.query({ name: 'd', text: DIRECT, values: [v.ids] }),
    client.query({ name: 'm', text: MEMBERS, values: [v.convs, v.known, v.mentions] }),
  ]);
const one = (v) =>
  client.query({
    name: 'one',
    text: READS_SQL,
    values: [v.ids, v.convs, v.senders, v.clients, v.replies, v.known, v.mentions],
  });

async function measure(name, run) {
  for (let k = 0; k < 200; k++) await run(values(k));
  const n0 = process.cpuUsage();
  const b0 = cpuSeconds(pid);
  const t0 = performance.now();
  for (let k = 0; k < rounds; k++) await run(values(k));
  const wall = performance.now() - t0;
  const n = process.cpuUsage(n0);
  const b = cpuSeconds(pid) - b0;
  const per = (x) => ((x * 1e6) / rounds).toFixed(0);
  console.log(
    `${name.padEnd(6)} batch ${batch}: node ${per((n.user + n.system) / 1e6)} µs, backend ${per(b)} µs, wall ${((wall * 1000) / rounds).toFixed(0)} µs per batch`,
  );
}
for (let r = 0; r < 3; r++) {
  await measure('four', four);
  await measure('one', one);
}
await client.end();
await store.close();
await dropSchema(base, schema);
