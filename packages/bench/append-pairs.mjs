/**
 * The 1:1 traffic of append-batch.mjs and append-cpu.mjs: 100 direct conversations, the n-th
 * append going to conversation n mod 100, its two members taking turns.
 */
import { mergeInSlices, mergeSlices } from '../server/dist/store/sqlite/search-merges.js';

export const PAIRS = 100;

/**
 * The SQLite worker's merging of the search index (sqlite/search-merges.ts) for the bench's store
 * tools: automerge off, and the returned function runs every slice owed, each in a transaction
 * of its own, to call after a catch-up. The worker spreads them over the batches that follow;
 * the work is the same.
 */
export function workerMerges(db) {
  mergeInSlices(db);
  const slice = mergeSlices(db);
  return () => {
    for (let worked = true; worked;) {
      db.exec('BEGIN IMMEDIATE');
      worked = slice();
      db.exec('COMMIT');
    }
  };
}

/**
 * Users `u0…` and direct conversations `c0…` (the n-th between users 2n and 2n + 1), through any
 * store: the worker store or PostgreSQL (async) or a SqliteStore (sync).
 */
export async function seedPairs(store, pairs = PAIRS) {
  const users = [];
  for (let i = 0; i < 2 * pairs; i++) {
    const id = `u${i}`;
    await store.createUser({
      id,
      username: `user${i}`,
      displayName: `User ${i}`,
      passwordHash: 'x',
      createdAt: 0,
    });
    users.push(id);
  }
  const conversations = [];
  for (let i = 0; i < pairs; i++) {
    const { conversation } = await store.openDirect(`c${i}`, users[2 * i], users[2 * i + 1], 0);
    conversations.push(conversation.id);
  }
  return { users, conversations };
}

/** The n-th append, with message id `id`. */
export const pairMessage = ({ users, conversations }, n, id) => ({
  id,
  conversationId: conversations[n % PAIRS],
  senderId: users[2 * (n % PAIRS) + (Math.floor(n / PAIRS) % 2)],
  clientMsgId: `k${n}`,
  body: `message ${n} lorem ipsum dolor sit amet, consectetur adipiscing`,
  replyToSeq: null,
  createdAt: Date.now(),
  knownMembersVersion: 1,
});
