/**
 * The scale-out floor: the ws relay made durable in PostgreSQL and spread over nodes through
 * Redis the way Letter's cluster is, with none of Letter's code. It is to the `cluster` row what
 * Letter's floor (ws-sqlite.ts) is to `sqlite-max`: what the arrangement itself costs on the run's
 * machine (docs/performance.md, round twenty-six).
 *
 * Each 1:1 pair is a conversation. Frames that arrive while a batch is in PostgreSQL are gathered
 * into the next (group commit, one batch at a time as Letter's TickBatcher runs them) and stored
 * in ONE statement, one round trip and one commit with `synchronous_commit` on: the batch's
 * conversations locked in id order (two nodes append to the same conversations), their
 * `last_seq` moved on, every message inserted with its seq and its search vector. Then each
 * sender is answered (Letter's `ok`) and each message forwarded: to a socket on this node, or,
 * for an addressee on the peer node, in one Redis publish per batch to the peer's channel. The
 * search index's pending list is merged every 2,000 appends on a second connection, as Letter's
 * store does (store/postgres/pending-list.ts). A socket's frames of a batch leave in one write.
 *
 * Env: `RELAY_PG_URL`, `RELAY_PG_SCHEMA` (made by the harness: pg-schema.ts),
 * `RELAY_NODE` (this node's name), and for two nodes `RELAY_PEER` (the other's) with
 * `RELAY_REDIS_URL`. A node learns where an addressee is from nothing: what is not connected
 * here is on the peer (with two nodes, the same answer Letter's presence map gives).
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import type { WebSocket } from 'ws';
import type { Duplex } from 'node:stream';
import { RelayDirectory, serveWsRelay, type RelayFrame } from './directory.js';

/**
 * One batch in one statement. `l` takes the row locks of the batch's conversations in id order
 * before the UPDATE locks any (its count is an InitPlan, run before the first row is updated),
 * so two nodes' batches never deadlock; each message's seq is its conversation's new last_seq
 * less the messages after it in the batch.
 */
const APPEND = `WITH x AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
    WITH ORDINALITY AS t(conv, id, sender, cmid, body, ord)),
n AS (SELECT conv, count(*)::int AS n FROM x GROUP BY conv),
l AS MATERIALIZED (
  SELECT id FROM conversations WHERE id IN (SELECT conv FROM n) ORDER BY id FOR UPDATE),
u AS (
  UPDATE conversations c SET last_seq = c.last_seq + n.n FROM n
  WHERE c.id = n.conv AND (SELECT count(*) FROM l) >= 0
  RETURNING c.id, c.last_seq, n.n),
ins AS (
  INSERT INTO messages (conversation_id, seq, id, sender_id, client_msg_id, body, created_at,
    search_vector)
  SELECT x.conv, u.last_seq - u.n + row_number() OVER (PARTITION BY x.conv ORDER BY x.ord),
    x.id, x.sender, x.cmid, x.body, $6, to_tsvector('simple', x.body)
  FROM x JOIN u ON u.id = x.conv
  RETURNING 1)
SELECT count(*)::int AS stored FROM ins`;

const MERGE_EVERY = 2000;

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

/** A floor that loses a batch or a delivery is no floor: stop, and the harness reports the exit. */
function fail(what: string, err: unknown): never {
  console.error(`${what}:`, err);
  process.exit(1);
}

const schema = required('RELAY_PG_SCHEMA');
const me = required('RELAY_NODE');
const peer = process.env.RELAY_PEER;
const connect = async (): Promise<pg.Client> => {
  const client = new pg.Client({
    connectionString: required('RELAY_PG_URL'),
    options: `-c search_path=${schema} -c synchronous_commit=on`,
  });
  // A dropped connection is not reconnected: whatever it carried would be lost.
  client.on('error', (err) => fail('PostgreSQL connection', err));
  await client.connect();
  return client;
};
const db = await connect();
const merger = await connect();

const directory = new RelayDirectory();
let appended = 0;
let merging = false;
/** Merges the search index's pending list off the append path every MERGE_EVERY appends. */
function countAppends(count: number): void {
  appended += count;
  if (appended < MERGE_EVERY || merging) return;
  appended = 0;
  merging = true;
  merger
    .query(`SELECT gin_clean_pending_list('messages_search'::regclass)`)
    .catch((err: unknown) => console.error('merge:', err))
    .finally(() => (merging = false));
}

/** Corks `socket`'s TCP stream once per batch; `uncorkAll` sends each stream in one write. */
function corker(): { add(socket: WebSocket | undefined): void; uncorkAll(): void } {
  const streams = new Set<Duplex>();
  return {
    add(socket) {
      const tcp = (socket as unknown as { _socket?: Duplex } | undefined)?._socket;
      if (tcp && !streams.has(tcp)) {
        streams.add(tcp);
        tcp.cork();
      }
    },
    uncorkAll() {
      for (const tcp of streams) tcp.uncork();
    },
  };
}

const channel = (node: string): string => `relay-floor:${schema}:${node}`;
let publisher: Redis | undefined;
if (peer) {
  const url = required('RELAY_REDIS_URL');
  publisher = new Redis(url);
  const subscriber = new Redis(url);
  await subscriber.subscribe(channel(me));
  subscriber.on('message', (_channel: string, message: string) => {
    const cork = corker();
    for (const [to, out] of JSON.parse(message) as [string, string][]) {
      const socket = directory.socket(to);
      cork.add(socket);
      socket?.send(out);
    }
    cork.uncorkAll();
  });
}

interface Pending {
  from: string;
  socket: WebSocket;
  frame: RelayFrame & { to: string; body: string };
}

/** Time-ordered ids, unique over the nodes. */
let counter = 0;
const nextId = (prefix: string): string =>
  `${prefix}${Date.now().toString(36)}${(counter++ % 1e9).toString(36).padStart(6, '0')}${me}`;
const known = new Set<string>();
let batch: Pending[] = [];
let running = false;
let scheduled = false;

async function store(items: Pending[]): Promise<void> {
  const columns: string[][] = [[], [], [], [], []];
  const fresh: string[] = [];
  for (const { from, frame } of items) {
    const conversation = from < frame.to ? `${from}|${frame.to}` : `${frame.to}|${from}`;
    if (!known.has(conversation)) {
      known.add(conversation);
      fresh.push(conversation);
    }
    columns[0]!.push(conversation);
    columns[1]!.push(nextId('m'));
    columns[2]!.push(from);
    columns[3]!.push(nextId('c'));
    columns[4]!.push(frame.body);
  }
  if (fresh.length > 0) {
    await db.query(
      `INSERT INTO conversations (id, last_seq) SELECT unnest($1::text[]), 0 ON CONFLICT DO NOTHING`,
      [fresh],
    );
  }
  const result = await db.query<{ stored: number }>({
    name: 'append',
    text: APPEND,
    values: [...columns, Date.now()],
  });
  const stored = result.rows[0]?.stored;
  if (stored !== items.length) throw new Error(`stored ${stored} of ${items.length}`);
}

/** Durable first (one statement for everything gathered), then answered and forwarded. */
async function flush(): Promise<void> {
  scheduled = false;
  if (running || batch.length === 0) return;
  running = true;
  const items = batch;
  batch = [];
  try {
    await store(items);
  } catch (err) {
    fail('append', err);
  }
  countAppends(items.length);
  const cork = corker();
  const remote: [string, string][] = [];
  for (const { from, socket, frame } of items) {
    const out = JSON.stringify({ from, body: frame.body });
    const addressee = directory.socket(frame.to);
    if (addressee) {
      cork.add(addressee);
      addressee.send(out);
    } else if (peer) remote.push([frame.to, out]);
    cork.add(socket);
    socket.send(`{"type":"ok","message":${JSON.stringify(frame).replace('~b', '~a')}}`);
  }
  if (peer && remote.length > 0) {
    publisher!.publish(channel(peer), JSON.stringify(remote)).catch((err) => fail('publish', err));
  }
  cork.uncorkAll();
  running = false;
  schedule();
}

function schedule(): void {
  if (scheduled || running || batch.length === 0) return;
  scheduled = true;
  // After the frames already read in this turn: they share the batch.
  setImmediate(() => flush().catch((err: unknown) => fail('a batch', err)));
}

serveWsRelay(directory, (socket, id, frame) => {
  if (typeof frame.body !== 'string' || typeof frame.to !== 'string') return;
  batch.push({ from: id, socket, frame: frame as Pending['frame'] });
  schedule();
});
