/**
 * What a durable 1:1 append costs in SQLite alone, feature by feature (docs/performance.md,
 * "The floor of an append"): one thread, raw better-sqlite3, no Letter code, batches of B
 * appends over 100 direct conversations (their two members taking turns, client ids made by
 * the sdk's own factory (UUIDv7), time-ordered message ids), WAL with `synchronous=FULL` as the
 * bench's ws + SQLite relay. Each layer adds one thing Letter's schema has to the layer before:
 *   relay     the bench relay's table: (sender, target, body, created_at), rowid only
 *   messages  Letter's messages row with its history index (conversation, seq) and the
 *             message id's unique index; seq taken from a JS counter
 *   +idem     the permanent idempotency index (client id, sender)
 *   +export   the export index (sender, conversation, seq): a table of its own, filled 4,000 rows
 *             at a time in key order, in its own transaction (as the worker does since round
 *             sixteen; 2,000 with the search index before, 500 before migration 11)
 *   +state    the conversation's last seq and the sender's positions, once per conversation per batch
 *   +search   the FTS5 index, filled 1,000 rows at a time, in its own transaction, its merges in
 *             slices of their own after it (as the worker does since round seventeen; 2,000 rows
 *             with the merges in the catch-up's commit before)
 *   +savept   a savepoint around each append (the worker's isolation of one failing call, which
 *             a plain append has done without since round twelve: it is one INSERT)
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

const total = Number(process.argv[2] ?? 20_000);
const sizes = process.argv.slice(3).map(Number);
const PAIRS = 100;
const LAYERS = ['relay', 'messages', '+idem', '+export', '+state', '+search', '+savept', 'Letter'];

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
    index(part) {
      store.db.exec('BEGIN IMMEDIATE');
      if (part === 'export') store.indexExport();
      else store.indexSearch();
      store.db.exec('COMMIT');
      if (part === 'search') merge();
    },
  };
}

function open(layer) {
  const on = (name) => LAYERS.indexOf(layer) >= LAYERS.indexOf(name);
  const dir = mkdtempSync(join(tmpdir(), 'letter-floor-'));
  const db = new Database(join(dir, 'floor.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  if (layer === 'relay') {
    db.exec(`CREATE TABLE messages (id INTEGER PRIMARY KEY, sender TEXT NOT NULL,
      target TEXT NOT NULL, body TEXT NOT NULL, created_at INTEGER NOT NULL)`);
    const insert = db.prepare(
      'INSERT INTO messages (sender, target, body, created_at) VALUES (?, ?, ?, ?)',
    );
    return {
      dir,
      db,
      append: (m) => insert.run(m.senderId, m.conversationId, m.body, m.createdAt),
      flush() {},
      index() {},
    };
  }
  db.exec(`
    CREATE TABLE conversations (id TEXT PRIMARY KEY, last_seq INTEGER NOT NULL,
      last_activity_at INTEGER NOT NULL) STRICT, WITHOUT ROWID;
    CREATE TABLE members (conversation_id TEXT NOT NULL, user_id TEXT NOT NULL,
      read_seq INTEGER NOT NULL, delivered_seq INTEGER NOT NULL,
      PRIMARY KEY (conversation_id, user_id)) STRICT, WITHOUT ROWID;
    CREATE TABLE messages (id TEXT NOT NULL UNIQUE, conversation_id TEXT NOT NULL,
      seq INTEGER NOT NULL, sender_id TEXT, client_msg_id TEXT, body TEXT NOT NULL,
      created_at INTEGER NOT NULL, edited_at INTEGER, deleted_at INTEGER, reply_to_seq INTEGER,
      system_json TEXT, mentions_json TEXT, attachments_json TEXT,
      UNIQUE (conversation_id, seq)) STRICT;
    ${on('+idem') ? 'CREATE UNIQUE INDEX messages_idem ON messages(client_msg_id, sender_id);' : ''}
    ${on('+export') ? 'CREATE TABLE sent_messages (sender_id TEXT NOT NULL, conversation_id TEXT NOT NULL, seq INTEGER NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (sender_id, conversation_id, seq)) STRICT, WITHOUT ROWID;' : ''}
    ${on('+search') ? "CREATE VIRTUAL TABLE messages_fts USING fts5(body, content='messages', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2', prefix='2 3');" : ''}
  `);
  const merge = on('+search') ? workerMerges(db) : () => {};
  for (let i = 0; i < PAIRS; i++) {
    db.prepare('INSERT INTO conversations VALUES (?, 0, 0)').run(`c${i}`);
    for (const u of [2 * i, 2 * i + 1])
      db.prepare('INSERT INTO members VALUES (?, ?, 0, 0)').run(`c${i}`, `u${u}`);
  }
  const insert =
    db.prepare(`INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id,
    body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`);
  const setLastSeq = db.prepare(
    'UPDATE conversations SET last_seq = ?, last_activity_at = max(last_activity_at, ?) WHERE id = ?',
  );
  const setPositions = db.prepare(
    'UPDATE members SET read_seq = ?, delivered_seq = ? WHERE conversation_id = ? AND user_id = ?',
  );
  const lastSeq = new Map();
  const dirty = new Map();
  let indexed = 0;
  let exported = 0;
  const exportRows =
    on('+export') &&
    db.prepare(`INSERT INTO sent_messages SELECT sender_id, conversation_id, seq, created_at
      FROM messages WHERE rowid > ? AND sender_id IS NOT NULL ORDER BY sender_id, conversation_id, seq`);
  const searchRows =
    on('+search') &&
    db.prepare(
      'INSERT INTO messages_fts(rowid, body) SELECT rowid, body FROM messages WHERE rowid > ?',
    );
  const maxRowid = db.prepare('SELECT coalesce(max(rowid), 0) FROM messages').pluck();
  const row = (m) => {
    const seq = (lastSeq.get(m.conversationId) ?? 0) + 1;
    lastSeq.set(m.conversationId, seq);
    insert.run(m.id, m.conversationId, seq, m.senderId, m.clientMsgId, m.body, m.createdAt);
    if (on('+state')) dirty.set(m.conversationId, { seq, senderId: m.senderId, at: m.createdAt });
  };
  const inSavepoint = db.transaction(row);
  return {
    dir,
    db,
    append: on('+savept') ? inSavepoint : row,
    flush() {
      for (const [id, { seq, senderId, at }] of dirty) {
        setLastSeq.run(seq, at, id);
        setPositions.run(seq, seq, id, senderId);
      }
      dirty.clear();
    },
    index(part) {
      const rows = part === 'export' ? exportRows : searchRows;
      if (!rows) return;
      db.exec('BEGIN IMMEDIATE');
      const upTo = maxRowid.get();
      if (part === 'export') {
        exportRows.run(exported);
        exported = upTo;
      } else {
        searchRows.run(indexed);
        indexed = upTo;
      }
      db.exec('COMMIT');
      if (part === 'search') merge();
    },
  };
}

const newClientId = makeIdFactory(Math.random);

async function run(layer, batch) {
  const t = layer === 'Letter' ? await openLetter() : open(layer);
  let n = 0;
  let unindexed = 0;
  let unexported = 0;
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
    // The worker's batch sizes (sqlite/writer.ts): the search index every 1,000 rows, the
    // export index every 4,000, each in a transaction of its own.
    if ((unindexed += batch) >= 1000) {
      t.index('search');
      unindexed = 0;
    }
    if ((unexported += batch) >= 4000) {
      t.index('export');
      unexported = 0;
    }
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
