/**
 * What a durable 1:1 append costs in SQLite without Letter's code, layer by layer: the tables
 * and indexes Letter's features need, written the way Letter's writer writes them, by raw
 * better-sqlite3 on the caller's thread. `schema-floor.mjs` times the layers alone; the ws +
 * SQLite relay runs one of them behind the wire (`RELAY_SCHEMA`), so the whole path of a message
 * (read, stored with Letter's indexes, answered and forwarded) can be timed with no Letter code
 * in it: the floor of what Letter's contract and schema cost on the machine of the run.
 *
 * Each layer adds one thing Letter's schema has to the layer before:
 *   relay     the bench relay's table: (sender, target, body, created_at), rowid only
 *   messages  Letter's messages row with its history index (conversation, seq) and the
 *             message id's unique index; seq taken from a counter in memory
 *   +idem     the permanent idempotency index (client id, sender)
 *   +export   the export index (sender, conversation, seq): a table of its own, filled 4,000 rows
 *             at a time in key order, in its own transaction (as the writer does)
 *   +state    the conversation's last seq and the sender's positions, once per conversation per
 *             batch
 *   +search   the FTS5 index, filled 1,000 rows at a time in its own transaction (its merges: the
 *             caller's `merges`, by default FTS5's own automerge)
 *   +savept   a savepoint around each append (which Letter's writer has not used for a plain
 *             append since round twelve)
 */
import type { Database } from 'better-sqlite3';

export const FLOOR_LAYERS = [
  'relay',
  'messages',
  '+idem',
  '+export',
  '+state',
  '+search',
  '+savept',
] as const;
export type FloorLayer = (typeof FLOOR_LAYERS)[number];

export function isFloorLayer(value: string): value is FloorLayer {
  return (FLOOR_LAYERS as readonly string[]).includes(value);
}

export interface FloorAppend {
  id: string;
  conversationId: string;
  senderId: string;
  clientMsgId: string;
  body: string;
  createdAt: number;
}

export interface FloorStore {
  /** Inside the caller's transaction. */
  append(message: FloorAppend): void;
  /** The batch's per-conversation writes, inside its transaction, before COMMIT. */
  flush(): void;
  /** After COMMIT: the index catch-ups the batch made due, each in a transaction of its own. */
  committed(rows: number): void;
}

/** The writer's catch-up sizes (sqlite/writer.ts). */
const SEARCH_EVERY = 1000;
const EXPORT_EVERY = 4000;

/**
 * Counts committed rows and runs `index` for each index whose catch-up they made due, at the
 * writer's sizes: the search index every 1,000 rows, the export index every 4,000.
 */
export function catchUps(index: (part: 'search' | 'export') => void): (rows: number) => void {
  let unindexed = 0;
  let unexported = 0;
  return (rows) => {
    if ((unindexed += rows) >= SEARCH_EVERY) {
      index('search');
      unindexed = 0;
    }
    if ((unexported += rows) >= EXPORT_EVERY) {
      index('export');
      unexported = 0;
    }
  };
}

/**
 * Creates `layer`'s schema in `db` (WAL, `synchronous=FULL`) and returns its writer. `merges`,
 * given the database once the search index exists, returns what merges it after a catch-up
 * (schema-floor.mjs passes the writer's slices); without it FTS5 merges as it inserts.
 */
export function openFloor(
  db: Database,
  layer: FloorLayer,
  merges?: (db: Database) => () => void,
): FloorStore {
  const on = (name: FloorLayer): boolean =>
    FLOOR_LAYERS.indexOf(layer) >= FLOOR_LAYERS.indexOf(name);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  if (layer === 'relay') {
    db.exec(`CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY, sender TEXT NOT NULL,
      target TEXT NOT NULL, body TEXT NOT NULL, created_at INTEGER NOT NULL)`);
    const insert = db.prepare(
      'INSERT INTO messages (sender, target, body, created_at) VALUES (?, ?, ?, ?)',
    );
    return {
      append: (m) => insert.run(m.senderId, m.conversationId, m.body, m.createdAt),
      flush() {},
      committed() {},
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
  const insert =
    db.prepare(`INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id,
    body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`);
  const addConversation = db.prepare('INSERT OR IGNORE INTO conversations VALUES (?, 0, 0)');
  const addMember = db.prepare('INSERT OR IGNORE INTO members VALUES (?, ?, 0, 0)');
  const setLastSeq = db.prepare(
    'UPDATE conversations SET last_seq = ?, last_activity_at = max(last_activity_at, ?) WHERE id = ?',
  );
  const setPositions = db.prepare(
    'UPDATE members SET read_seq = ?, delivered_seq = ? WHERE conversation_id = ? AND user_id = ?',
  );
  const exportRows = on('+export')
    ? db.prepare(`INSERT INTO sent_messages SELECT sender_id, conversation_id, seq, created_at
      FROM messages WHERE rowid > ? AND sender_id IS NOT NULL ORDER BY sender_id, conversation_id, seq`)
    : null;
  const searchRows = on('+search')
    ? db.prepare(
        'INSERT INTO messages_fts(rowid, body) SELECT rowid, body FROM messages WHERE rowid > ?',
      )
    : null;
  const maxRowid = db.prepare('SELECT coalesce(max(rowid), 0) FROM messages').pluck();
  const merge = searchRows && merges ? merges(db) : () => {};
  const lastSeq = new Map<string, number>();
  const members = new Set<string>();
  const dirty = new Map<string, { seq: number; senderId: string; at: number }>();
  let indexed = 0;
  let exported = 0;

  const row = (m: FloorAppend): void => {
    let seq = lastSeq.get(m.conversationId);
    // A conversation or a member first seen: their rows, as Letter's exist before a message.
    if (seq === undefined) addConversation.run(m.conversationId);
    const member = `${m.conversationId}\n${m.senderId}`;
    if (!members.has(member)) {
      members.add(member);
      addMember.run(m.conversationId, m.senderId);
    }
    seq = (seq ?? 0) + 1;
    lastSeq.set(m.conversationId, seq);
    insert.run(m.id, m.conversationId, seq, m.senderId, m.clientMsgId, m.body, m.createdAt);
    if (on('+state')) dirty.set(m.conversationId, { seq, senderId: m.senderId, at: m.createdAt });
  };
  const catchUp = (rows: NonNullable<typeof searchRows>, from: number): number => {
    db.exec('BEGIN IMMEDIATE');
    const upTo = maxRowid.get() as number;
    rows.run(from);
    db.exec('COMMIT');
    return upTo;
  };
  return {
    append: on('+savept') ? db.transaction(row) : row,
    flush() {
      for (const [id, { seq, senderId, at }] of dirty) {
        setLastSeq.run(seq, at, id);
        setPositions.run(seq, seq, id, senderId);
      }
      dirty.clear();
    },
    committed: catchUps((part) => {
      if (part === 'search' && searchRows) {
        indexed = catchUp(searchRows, indexed);
        merge();
      } else if (part === 'export' && exportRows) {
        exported = catchUp(exportRows, exported);
      }
    }),
  };
}
