/**
 * The worker's cached conversation state (sqlite/append.ts) never admits what the database
 * would refuse: every change of members, blocks or accounts reaches the next append, whether
 * it comes in a later batch or in the same batch (calls of one tick), and whatever was deferred
 * is written before anything else reads it. Appended rows reach the search index after their
 * commit, yet every search finds them. Runs the worker from dist/ (`npx tsc -b` first).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LetterError, type Receipt } from '@letter/protocol';
import { SuiteKit, T0, expectCode } from '../suite/helpers.js';
import { openSqliteStore, type SqliteStoreHandle } from './worker-store.js';

let dir: string;
let store: SqliteStoreHandle;
const kit = new SuiteKit();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'letter-append-cache-'));
  store = await openSqliteStore({ file: join(dir, 'letter.db') });
  kit.store = store;
});

afterAll(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

/** Settles each promise to its value or its error code, in order. */
const outcomes = (promises: Promise<{ message: { seq: number } }>[]) =>
  Promise.all(
    promises.map((p) =>
      p.then(
        (r) => r.message.seq,
        (e: unknown) => (e instanceof LetterError ? e.code : String(e)),
      ),
    ),
  );

const ids = (): [string, string] => [kit.id('m'), kit.id('m')];

describe('SQLite append state cache', () => {
  it('refuses a blocked peer right after the block, in a later batch and in the same batch', async () => {
    const [a, b] = await kit.users(2);
    const c = await kit.direct(a!, b!);
    expect((await kit.send(c, a!)).message.seq).toBe(1);
    await store.block(b!.id, a!.id, T0);
    await expectCode(kit.send(c, a!), 'blocked');
    await expectCode(kit.send(c, b!), 'blocked');
    await store.unblock(b!.id, a!.id);
    expect((await kit.send(c, a!)).message.seq).toBe(2);
    // One tick: send, block, send, unblock, send go to the worker as one batch.
    const sends = [kit.send(c, a!)];
    const block = store.block(a!.id, b!.id, T0);
    sends.push(kit.send(c, b!));
    const unblock = store.unblock(a!.id, b!.id);
    sends.push(kit.send(c, b!));
    await Promise.all([block, unblock]);
    expect(await outcomes(sends)).toEqual([3, 'blocked', 4]);
  });

  it('refuses a removed member at once, and admits an added one', async () => {
    const [admin, x, y] = await kit.users(3);
    const g = await kit.group(admin!, [x!]);
    expect((await kit.send(g, x!)).message.seq).toBe(2);
    const removal = store.removeMember({
      conversationId: g,
      actorId: admin!.id,
      userId: x!.id,
      now: T0,
      messageIds: ids(),
    });
    const afterRemoval = kit.send(g, x!);
    await removal;
    await expectCode(afterRemoval, 'not_found');
    await expectCode(kit.send(g, x!), 'not_found');
    await expectCode(kit.send(g, y!), 'not_found');
    await store.addMembers({
      conversationId: g,
      actorId: admin!.id,
      userIds: [y!.id],
      now: T0,
      messageIds: ids(),
    });
    const sent = await kit.send(g, y!, 'hi', T0, {});
    // 1 created, 2 x's message, 3 removal, 4 addition: the cache followed the system messages.
    expect(sent.message.seq).toBe(5);
    expect(sent.members?.userIds.sort()).toEqual([admin!.id, y!.id].sort());
  });

  it("refuses sends to a deleted account's direct conversation", async () => {
    const [a, b] = await kit.users(2);
    const c = await kit.direct(a!, b!);
    await kit.send(c, a!);
    await store.deleteUser({ userId: b!.id, now: T0, messageIdPrefix: kit.id('m') });
    await expectCode(kit.send(c, a!), 'forbidden');
  });

  it('writes deferred seqs and positions before any other call of the same batch reads them', async () => {
    const [a, b] = await kit.users(2);
    const c = await kit.direct(a!, b!);
    const sends = [kit.send(c, a!), kit.send(c, a!), kit.send(c, b!)];
    const read = store.advancePosition(c, a!.id, 'read', 3, T0);
    const view = store.getConversation(c, a!.id);
    const history = store.history(c, b!.id, { limit: 10 });
    expect(await outcomes(sends)).toEqual([1, 2, 3]);
    // Positions clamp to the conversation's last seq: a stale one would stop short of 3.
    expect((await read)?.seq).toBe(3);
    expect((await view)?.lastSeq).toBe(3);
    expect((await history)?.messages.map((m) => m.seq)).toEqual([1, 2, 3]);
    // b's own send moved b's positions; a's read was answered from the cache.
    const summaries = await store.listConversationSummaries(b!.id);
    expect(summaries.find((s) => s.id === c)?.lastSeq).toBe(3);
    expect((await kit.send(c, a!)).message.seq).toBe(4);
  });

  it('moves positions on the cached state beside the appends of their batch, and writes them before COMMIT', async () => {
    const [admin, x, y, z] = await kit.users(4);
    const g = await kit.group(admin!, [x!, z!]);
    const sorted = (...users: { id: string }[]) => users.map((u) => u.id).sort();
    // One tick, one batch: two sends (seqs 2 and 3, not yet written to `conversations`) and x's
    // positions, one of them up to the batch's own last message.
    const sends = [kit.send(g, admin!, 'one', T0 + 1), kit.send(g, admin!, 'two', T0 + 2)];
    const delivered = store.advancePosition(g, x!.id, 'delivered', 3, T0 + 3);
    const read = store.advancePosition(g, x!.id, 'read', 2, T0 + 4);
    const back = store.advancePosition(g, x!.id, 'delivered', 2, T0 + 5);
    const past = store.advancePosition(g, x!.id, 'read', 99, T0 + 6);
    const stranger = store.advancePosition(g, y!.id, 'read', 1, T0 + 6);
    expect(await outcomes(sends)).toEqual([2, 3]);
    const moved = (seq: number, audience: string[]) => ({ seq, changed: true, audience });
    const answers = await Promise.all([delivered, read, back, past]);
    for (const answer of answers) answer?.audience.sort();
    // A small group: every member hears (rules.ts receiptAudience).
    const everyone = sorted(admin!, x!, z!);
    expect(answers).toEqual([
      moved(3, everyone),
      moved(2, everyone),
      { seq: 3, changed: false, audience: [] }, // never back
      moved(3, everyone), // never past the last message
    ]);
    expect(await stranger).toBeNull();
    // Committed: the members row, the log's times (receipts) and the unread count agree.
    const db = new Database(join(dir, 'letter.db'), { readonly: true });
    try {
      const row = db
        .prepare(
          'SELECT read_seq, delivered_seq FROM members WHERE conversation_id = ? AND user_id = ?',
        )
        .get(g, x!.id);
      expect(row).toEqual({ read_seq: 3, delivered_seq: 3 });
    } finally {
      db.close();
    }
    const at = (ms: number) => new Date(T0 + ms).toISOString();
    const unseen = { userId: z!.id, deliveredAt: null, readAt: null };
    const receiptsOf = async (seq: number) =>
      (await store.receipts(g, seq, admin!.id))?.sort((p, q) => p.userId.localeCompare(q.userId));
    const inOrder = (...r: Receipt[]) => r.sort((p, q) => p.userId.localeCompare(q.userId));
    expect(await receiptsOf(2)).toEqual(
      inOrder({ userId: x!.id, deliveredAt: at(3), readAt: at(4) }, unseen),
    );
    expect(await receiptsOf(3)).toEqual(
      inOrder({ userId: x!.id, deliveredAt: at(3), readAt: at(6) }, unseen),
    );
    expect((await store.getConversation(g, x!.id))?.unreadCount).toBe(0);
    expect((await store.getConversation(g, z!.id))?.unreadCount).toBe(3);
    // y joins at seq 4 (the `added` message), in the same batch as z's positions: z's read at 3
    // is not told to y, at 4 it is.
    const adding = store.addMembers({
      conversationId: g,
      actorId: admin!.id,
      userIds: [y!.id],
      now: T0,
      messageIds: ids(),
    });
    const before = store.advancePosition(g, z!.id, 'read', 3, T0 + 8);
    const after = store.advancePosition(g, z!.id, 'read', 4, T0 + 9);
    await adding;
    expect((await before)?.audience.sort()).toEqual(everyone);
    expect((await after)?.audience.sort()).toEqual(sorted(admin!, x!, y!, z!));
  });

  it('runs an append without a savepoint: a failing insert undoes only itself, in its batch', async () => {
    const [ann, bob, cat] = await kit.users(3);
    const a = await kit.direct(ann!, bob!);
    const b = await kit.direct(ann!, cat!);
    await kit.send(b, ann!);
    // Another connection takes seq 2 of b behind the worker's back: the worker's cached last seq
    // is 1, so its next append to b collides with that row (one way to make one INSERT fail).
    const other = new Database(join(dir, 'letter.db'));
    other
      .prepare(
        `INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id, body, created_at)
         VALUES (?, ?, 2, ?, 'cm-intruder', 'intruder', ?)`,
      )
      .run(kit.id('m'), b, cat!.id, T0);
    other.close();
    const [first, failed, last] = await outcomes([
      kit.send(a, ann!),
      kit.send(b, ann!),
      kit.send(a, bob!),
    ]);
    expect([first, last]).toEqual([1, 2]);
    expect(String(failed)).toMatch(
      /UNIQUE constraint failed: messages\.conversation_id, messages\.seq/,
    );
    // The batch's other appends committed; the failed one left no row.
    expect((await store.history(a, ann!.id, { limit: 10 }))?.messages.map((m) => m.seq)).toEqual([
      1, 2,
    ]);
    const inB = await store.history(b, ann!.id, { limit: 10 });
    expect(inB?.messages.map((m) => [m.seq, m.senderId])).toEqual([
      [1, ann!.id],
      [2, cat!.id],
    ]);
  });

  it('answers a retry with the original, also after a block and from another conversation', async () => {
    const [a, b, d] = await kit.users(3);
    const c = await kit.direct(a!, b!);
    const other = await kit.direct(a!, d!);
    const first = await kit.send(c, a!, 'once', T0, { clientMsgId: 'retry-1' });
    const again = await kit.send(c, a!, 'once', T0, { clientMsgId: 'retry-1' });
    expect(again.created).toBe(false);
    expect(again.message.id).toBe(first.message.id);
    await store.block(b!.id, a!.id, T0);
    const afterBlock = await kit.send(c, a!, 'once', T0, { clientMsgId: 'retry-1' });
    expect(afterBlock.message.id).toBe(first.message.id);
    await expectCode(kit.send(other, a!, 'once', T0, { clientMsgId: 'retry-1' }), 'bad_request');
    // The refused insert took no seq.
    expect((await kit.send(other, a!)).message.seq).toBe(1);
  });

  it('finds a message in a search right after its send, before the index caught up', async () => {
    const [a, b] = await kit.users(2);
    const c = await kit.direct(a!, b!);
    const word = `zulu${kit.id('w').replace(/[^a-z0-9]/gi, '')}`;
    // Sent and searched in one tick (one batch), and again in the next batch.
    const sent = kit.send(c, a!, `${word} one`);
    const same = store.search(b!.id, { text: word, limit: 10 });
    await sent;
    expect((await same)?.map((h) => h.message.seq)).toEqual([1]);
    await kit.send(c, b!, `${word} two`);
    const next = await store.search(a!.id, { text: word, limit: 10 });
    expect(next?.map((h) => h.message.seq).sort()).toEqual([1, 2]);
  });

  it('indexes at start-up the rows a stop left unindexed (committed, not yet in the index)', async () => {
    const file = join(dir, 'restart.db');
    const first = await openSqliteStore({ file });
    kit.store = first;
    const [a, b] = await kit.users(2);
    const c = await kit.direct(a!, b!);
    await kit.send(c, a!, 'indexed before');
    await first.close();
    // What a kill -9 between an append's commit and its indexing leaves: the row, not its index.
    const db = new Database(file);
    db.prepare(
      `INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id, body, created_at)
       VALUES ('m_unindexed', ?, 2, ?, 'cm_unindexed', 'yankee waiting', ?)`,
    ).run(c, a!.id, T0);
    db.prepare('UPDATE conversations SET last_seq = 2 WHERE id = ?').run(c);
    db.close();
    const second = await openSqliteStore({ file });
    try {
      const hits = await second.search(b!.id, { text: 'yankee', limit: 10 });
      expect(hits?.map((h) => h.message.id)).toEqual(['m_unindexed']);
    } finally {
      await second.close();
      kit.store = store;
    }
    const check = new Database(file);
    // FTS5's own comparison of the index with the table; throws when they differ.
    check
      .prepare(`INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)`)
      .run();
    check.close();
  });

  it("dates a sender's read position by the message itself: a send writes no position_log row", async () => {
    const [a, b] = await kit.users(2);
    const c = await kit.direct(a!, b!);
    await kit.send(c, a!, 'one', T0 + 1);
    await kit.send(c, b!, 'two', T0 + 2);
    await kit.send(c, a!, 'three', T0 + 3);
    // b's send read a's seq 1, a's send read b's seq 2: receipts tell so at the sends' times.
    expect(await store.receipts(c, 1, a!.id)).toEqual([
      {
        userId: b!.id,
        deliveredAt: new Date(T0 + 2).toISOString(),
        readAt: new Date(T0 + 2).toISOString(),
      },
    ]);
    expect(await store.receipts(c, 2, b!.id)).toEqual([
      {
        userId: a!.id,
        deliveredAt: new Date(T0 + 3).toISOString(),
        readAt: new Date(T0 + 3).toISOString(),
      },
    ]);
    // One B-tree leaf less per append (docs/performance.md, "The floor of an append").
    const db = new Database(join(dir, 'letter.db'), { readonly: true });
    try {
      const logged = db.prepare('SELECT count(*) AS n FROM position_log WHERE conversation_id = ?');
      expect(logged.get(c)).toEqual({ n: 0 });
    } finally {
      db.close();
    }
  });
});
