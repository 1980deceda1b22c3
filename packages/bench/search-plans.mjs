/**
 * Search query plans on SQLite (docs/performance.md, "Search plans"): 240,000 messages in 4,000
 * two-person conversations, words made of common two-letter syllables; the viewer is in 5 of
 * them. Compares matching first (FTS5, then the viewer's membership per hit: the plan the store
 * uses) with the viewer's messages first (then FTS5 probed per row), and the index with and
 * without prefix = '2 3'. Run after `npx tsc -b`: node packages/bench/search-plans.mjs
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../server/dist/store/sqlite/sqlite-store.js';

const dir = mkdtempSync(join(tmpdir(), 'letter-search-plans-'));
const store = new SqliteStore(join(dir, 'bench.db'));
store.migrate();
const db = store.db;
let seed = 42;
const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const syllables = 'th an er on re in ed nd ha at en es of or nt ea ti to it st'.split(' ');
const pick = (list) => list[Math.floor(rnd() * list.length)];
const vocabulary = Array.from({ length: 5000 }, () =>
  Array.from({ length: 2 + Math.floor(rnd() * 3) }, () => pick(syllables)).join(''),
);
const USERS = 2000;
const CONVERSATIONS = 4000;
const PER_CONVERSATION = 60;
const user = db.prepare(
  `INSERT INTO users (id, username, display_name, password_hash, created_at) VALUES (?, ?, ?, 'x', 0)`,
);
const conversation = db.prepare(
  `INSERT INTO conversations (id, kind, title, created_at, last_seq, last_activity_at) VALUES (?, 'group', 't', 0, ?, ?)`,
);
const member = db.prepare(
  `INSERT INTO members (conversation_id, user_id, role, joined_at) VALUES (?, ?, 'member', 0)`,
);
const message = db.prepare(
  `INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
);
db.transaction(() => {
  for (let u = 0; u < USERS; u++) user.run(`u${u}`, `user${u}`, `User ${u}`);
  for (let c = 0; c < CONVERSATIONS; c++) {
    conversation.run(`c${c}`, PER_CONVERSATION, c);
    const a = c < 5 ? 0 : 1 + Math.floor(rnd() * (USERS - 1));
    const b = 1 + Math.floor(rnd() * (USERS - 1));
    member.run(`c${c}`, `u${a}`);
    if (b !== a) member.run(`c${c}`, `u${b}`);
    for (let s = 1; s <= PER_CONVERSATION; s++) {
      const body = Array.from({ length: 8 }, () => pick(vocabulary)).join(' ');
      message.run(`m${c}_${s}`, `c${c}`, s, `u${a}`, `k${c}_${s}`, body, c * 100 + s);
    }
  }
})();
db.exec(`INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');
  CREATE VIRTUAL TABLE fts_plain USING fts5(body, content = 'messages', content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2');
  INSERT INTO fts_plain(fts_plain) VALUES ('rebuild');`);

const plans = (fts) => ({
  'match first': `SELECT msg.id, highlight(${fts}, 0, char(2), char(3)) FROM ${fts}
    JOIN messages msg ON msg.rowid = ${fts}.rowid
    JOIN members mine ON mine.conversation_id = msg.conversation_id AND mine.user_id = $viewer
    WHERE ${fts} MATCH $match AND msg.seq >= mine.join_seq
    ORDER BY bm25(${fts}), msg.created_at DESC LIMIT 20`,
  'viewer first': `SELECT msg.id, highlight(${fts}, 0, char(2), char(3)) FROM members mine
    CROSS JOIN messages msg CROSS JOIN ${fts}
    WHERE mine.user_id = $viewer AND msg.conversation_id = mine.conversation_id
      AND ${fts}.rowid = msg.rowid AND ${fts} MATCH $match AND msg.seq >= mine.join_seq
    ORDER BY bm25(${fts}), msg.created_at DESC LIMIT 20`,
});
/** Mean ms of 5 runs after a warm-up; a warm-up over a second is the figure itself. */
const time = (statement, params) => {
  let began = performance.now();
  statement.all(params);
  const first = performance.now() - began;
  if (first > 1000) return first.toFixed(0);
  began = performance.now();
  for (let i = 0; i < 5; i++) statement.all(params);
  return ((performance.now() - began) / 5).toFixed(1);
};
console.log('| index | plan | "t"* | "th"* | "tha"* | "than"* | "th"* "er"* |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const [label, fts] of [
  ["prefix '2 3'", 'messages_fts'],
  ['no prefix index', 'fts_plain'],
]) {
  for (const [name, sql] of Object.entries(plans(fts))) {
    const statement = db.prepare(sql);
    const cells = ['"t"*', '"th"*', '"tha"*', '"than"*', '"th"* "er"*'].map((match) =>
      time(statement, { viewer: 'u0', match }),
    );
    console.log(`| ${label} | ${name} | ${cells.join(' | ')} |`);
  }
}
store.close();
rmSync(dir, { recursive: true, force: true });
