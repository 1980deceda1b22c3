/**
 * Group commit on PostgreSQL (append-batch.ts, position-batch.ts): appends made in one turn share
 * one transaction, and each still gets the answer it would get alone — refusals fail only their
 * own append, repeats find their original (also within the batch), seqs stay gap-free, and a
 * membership change racing a batch never admits a removed member. Position moves likewise.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LetterError, type ErrorCode, type User } from '@letter/protocol';
import type { AppendResult, Store } from '../store.js';
import { postgresTestUrl } from '../../testing/services.js';
import { openPostgresStore } from './open.js';
import { connectClient, openTestPostgresStore, type TestPostgresStore } from './testing.js';
import { SuiteKit, T0 } from '../suite/helpers.js';

const url = postgresTestUrl();

type Settled = { ok: AppendResult } | { code: ErrorCode | 'other' };
const settle = (promise: Promise<AppendResult>): Promise<Settled> =>
  promise.then(
    (ok) => ({ ok }),
    (error: unknown) => ({ code: error instanceof LetterError ? error.code : 'other' }),
  );
const transactions = (store: Store) => store.stats!().transactions;
const stale = (store: Store) => store.stats!().staleConversations!;

/**
 * A connection of its own that holds a conversation's row lock, as another node's transaction
 * would, and tells when other sessions queue behind it.
 */
async function lockHolder(url: string, schema: string, conversationId: string) {
  const client = await connectClient(url, schema);
  const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  await client.query('BEGIN');
  await client.query('SELECT 1 FROM conversations WHERE id = $1 FOR UPDATE', [conversationId]);
  const queued = new Set<number>([pid]);
  return {
    /** Resolves once one more session waits for this lock (or for one that waits for it). */
    async nextWaiter(): Promise<void> {
      for (let tries = 0; tries < 500; tries++) {
        // pg_stat_activity is read once per transaction unless its snapshot is cleared.
        await client.query('SELECT pg_stat_clear_snapshot()');
        const { rows } = await client.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity
            WHERE wait_event_type = 'Lock' AND pg_blocking_pids(pid) && $1::int[]`,
          [[...queued]],
        );
        const added = rows.find((row) => !queued.has(row.pid));
        if (added) {
          queued.add(added.pid);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      throw new Error('no session queued behind the lock');
    },
    /** Runs `sql` in the lock's transaction, commits and disconnects. */
    async release(sql?: string): Promise<void> {
      if (sql) await client.query(sql, [conversationId]);
      await client.query('COMMIT');
      await client.end();
    },
  };
}

if (!url) {
  describe('PostgreSQL append batches', () => {
    it.skip('needs LETTER_TEST_PG_URL (postgres://…): not set, so nothing ran', () => {});
  });
} else {
  // Every test with batches that read under their locks (one node) and without (nodes that
  // share the database); the races between reads and writes only exist without.
  describe.each(['locked', 'unlocked'] as const)('PostgreSQL append batches, %s reads', (reads) => {
    let opened: TestPostgresStore;
    const kit = new SuiteKit();
    beforeAll(async () => {
      opened = await openTestPostgresStore(url, { appendReads: reads });
      kit.store = opened.store;
    });
    afterAll(() => opened.cleanup());

    it('one transaction for a turn of appends; each gets its own answer, seqs stay gap-free', async () => {
      const store = kit.store;
      const [alice, bob, carol, dave, erin] = await kit.users(5);
      const ab = await kit.direct(alice!, bob!);
      const cd = await kit.direct(carol!, dave!);
      const group = await kit.group(alice!, [bob!, erin!]);
      await store.block(dave!.id, carol!.id, T0);
      const first = await kit.send(ab, alice!, 'first', T0, { clientMsgId: 'k-old' });
      await store.updateSettings(ab, alice!.id, { archived: true });
      await store.updateSettings(group, bob!.id, { archived: true });

      const send = (
        conversationId: string,
        who: User,
        body: string,
        extra: { clientMsgId?: string; replyToSeq?: number; mentions?: string[] } = {},
      ) => settle(kit.send(conversationId, who, body, T0 + 1, extra));
      const before = transactions(store);
      // All in one turn: one batch.
      const answers = await Promise.all([
        send(ab, alice!, 'one', { clientMsgId: 'k-one' }),
        send(ab, bob!, 'two'),
        send(cd, carol!, 'refused: blocked'),
        send(ab, erin!, 'refused: not a member'),
        send(ab, alice!, 'repeat of a committed send', { clientMsgId: 'k-old' }),
        send(ab, alice!, 'repeat within the batch', { clientMsgId: 'k-one' }),
        send(group, alice!, 'same clientMsgId elsewhere', { clientMsgId: 'k-one' }),
        send(ab, bob!, 'reply to two', { replyToSeq: 3 }),
        send(ab, bob!, 'reply to nothing', { replyToSeq: 99 }),
        send(ab, alice!, 'nul \u0000 inside'),
        send(group, alice!, 'hi @bob @erin', { mentions: [bob!.id, erin!.id, alice!.id] }),
        send('no-such-conversation', alice!, 'nowhere'),
        send(ab, bob!, 'after'),
      ]);
      expect(transactions(store) - before).toBe(1);

      const seqOf = (answer: Settled) => ('ok' in answer ? answer.ok.message.seq : answer.code);
      expect(answers.map(seqOf)).toEqual([
        2,
        3,
        'blocked',
        'not_found',
        1,
        2,
        'bad_request',
        4,
        'bad_request',
        'bad_request',
        2,
        'not_found',
        5,
      ]);
      const created = answers.map((answer) => ('ok' in answer ? answer.ok.created : null));
      expect(created[4]).toBe(false);
      expect(created[5]).toBe(false);
      expect('ok' in answers[4]! && answers[4].ok.message).toEqual(first.message);
      const mention = answers[10]!;
      expect('ok' in mention && mention.ok.message.mentions).toEqual([bob!.id, erin!.id]);
      // No known members version was given: the members at the commit come along.
      expect('ok' in mention && mention.ok.members?.userIds.sort()).toEqual(
        [alice!.id, bob!.id, erin!.id].sort(),
      );

      const page = await store.history(ab, alice!.id, { limit: 50 });
      expect(page!.messages.map((m) => [m.seq, m.body, m.replyToSeq ?? null])).toEqual([
        [1, 'first', null],
        [2, 'one', null],
        [3, 'two', null],
        [4, 'reply to two', 3],
        [5, 'after', null],
      ]);
      expect((await store.history(cd, carol!.id, { limit: 50 }))!.messages).toEqual([]);
      // Positions: each sender has read up to their own last message; bob's messages
      // un-archived the conversation for alice, alice's the group for bob.
      const forAlice = (await store.getConversation(ab, alice!.id))!;
      expect([forAlice.unreadCount, forAlice.archived]).toEqual([3, false]);
      expect((await store.getConversation(ab, bob!.id))!.unreadCount).toBe(0);
      const forBob = (await store.getConversation(group, bob!.id))!;
      expect([forBob.archived, forBob.unreadMentions]).toEqual([false, 1]);
      // Bob's first send of the batch covered alice's 'one' (seq 2): his read is logged there.
      const iso = new Date(T0 + 1).toISOString();
      expect(await store.receipts(ab, 2, alice!.id)).toEqual([
        { userId: bob!.id, deliveredAt: iso, readAt: iso },
      ]);
    });

    it('a batch with no reply or mention reads member lists only for a members version it did not know', async () => {
      const store = kit.store;
      const [alice, bob, carol] = await kit.users(3);
      const group = await kit.group(alice!, [bob!]);
      const rereads = () => store.stats!().memberRereads!;
      const append = (who: User, body: string, knownMembersVersion?: number) =>
        store.appendMessage({
          id: kit.id('m'),
          conversationId: group,
          senderId: who.id,
          clientMsgId: kit.id('cm'),
          body,
          replyToSeq: null,
          createdAt: T0 + 1,
          ...(knownMembersVersion !== undefined && { knownMembersVersion }),
        });
      // Unknown version: the plain read is followed by a full one, and the list comes along.
      let before = rereads();
      const first = await append(alice!, 'first');
      expect(rereads() - before).toBe(1);
      expect(first.members?.userIds.sort()).toEqual([alice!.id, bob!.id].sort());
      const version = first.members!.version;

      before = rereads();
      const known = await Promise.all([
        append(alice!, 'two', version),
        append(bob!, 'three', version),
      ]);
      expect(rereads() - before).toBe(0);
      expect(known.map((r) => [r.message.seq, r.members])).toEqual([
        [first.message.seq + 1, undefined],
        [first.message.seq + 2, undefined],
      ]);

      // Carol joins: a batch that knew the old version reads again and answers the new list.
      const change = await store.addMembers({
        conversationId: group,
        actorId: alice!.id,
        userIds: [carol!.id],
        now: T0 + 2,
        messageIds: [kit.id('m'), kit.id('m')],
      });
      before = rereads();
      const after = await Promise.all([
        append(bob!, 'old version', version),
        append(carol!, 'new version', change.members.version),
      ]);
      expect(rereads() - before).toBe(1);
      expect(after[0].members).toEqual(change.members);
      expect(after[1].members).toBeUndefined();
      const page = await store.history(group, carol!.id, { limit: 50 });
      expect(page!.messages.map((m) => m.body).slice(-2)).toEqual(['old version', 'new version']);
    });

    it('messages with files share the batch; a refused file fails only its own message', async () => {
      const store = kit.store;
      const [alice, bob] = await kit.users(2);
      const ab = await kit.direct(alice!, bob!);
      const upload = async (who: User) => (await store.createFile(kit.file(who.id))).id;
      const [f1, f2, f3, f5] = [
        await upload(alice!),
        await upload(alice!),
        await upload(alice!),
        await upload(alice!),
      ];
      const f4 = await upload(bob!);
      const first = await kit.send(ab, alice!, 'before', T0, {
        clientMsgId: 'k-files',
        attachments: [f5!],
      });
      expect(first.message.seq).toBe(1);

      const send = (who: User, body: string, attachments?: string[], clientMsgId?: string) =>
        settle(
          kit.send(ab, who, body, T0 + 1, {
            ...(attachments && { attachments }),
            ...(clientMsgId && { clientMsgId }),
          }),
        );
      const before = transactions(store);
      const answers = await Promise.all([
        send(alice!, 'two files', [f1!, f2!], 'k-two'),
        send(alice!, 'f1 claimed earlier in the batch', [f1!]),
        send(alice!, "bob's file", [f4!]),
        send(alice!, 'unknown file', ['f-nope']),
        send(alice!, 'attached before the batch', [f5!]),
        send(alice!, 'the same file twice', [f3!, f3!]),
        send(bob!, 'text between'),
        send(alice!, 'repeat of a committed send', [f5!], 'k-files'),
        send(alice!, 'repeat within the batch', [f1!, f2!], 'k-two'),
        send(alice!, 'f3 is still free', [f3!]),
      ]);
      expect(transactions(store) - before).toBe(1);
      const seen = answers.map((answer) =>
        'ok' in answer
          ? [
              answer.ok.message.seq,
              answer.ok.created,
              answer.ok.message.attachments?.map((a) => a.id),
            ]
          : answer.code,
      );
      expect(seen).toEqual([
        [2, true, [f1, f2]],
        'not_found',
        'not_found',
        'not_found',
        'not_found',
        'not_found',
        [3, true, []],
        [1, false, [f5]],
        [2, false, [f1, f2]],
        [4, true, [f3]],
      ]);
      const page = await store.history(ab, bob!.id, { limit: 50 });
      expect(page!.messages.map((m) => [m.seq, m.body, m.attachments?.map((a) => a.id)])).toEqual([
        [1, 'before', [f5]],
        [2, 'two files', [f1, f2]],
        [3, 'text between', []],
        [4, 'f3 is still free', [f3]],
      ]);
      const where = async (id: string) => {
        const file = await store.getFile(id);
        return file && [file.conversationId, file.seq];
      };
      expect(await Promise.all([f1!, f2!, f3!, f4!, f5!].map(where))).toEqual([
        [ab, 2],
        [ab, 2],
        [ab, 4],
        [null, null],
        [ab, 1],
      ]);
    });

    it('position moves of one turn share one transaction, several of one member in order', async () => {
      const store = kit.store;
      const [alice, bob, erin] = await kit.users(3);
      const ab = await kit.direct(alice!, bob!);
      for (let i = 1; i <= 5; i++) await kit.send(ab, alice!, `m${i}`);
      const before = transactions(store);
      const move = (who: { id: string }, kind: 'delivered' | 'read', seq: number, at: number) =>
        store.advancePosition(ab, who.id, kind, seq, T0 + at);
      const results = await Promise.all([
        move(bob!, 'delivered', 3, 10),
        move(bob!, 'read', 2, 20),
        move(bob!, 'delivered', 10, 30),
        move(erin!, 'read', 1, 40),
        move(bob!, 'read', 1, 50),
      ]);
      expect(transactions(store) - before).toBe(1);
      const both = [alice!.id, bob!.id].sort();
      expect(results.map((r) => r && { ...r, audience: [...r.audience].sort() })).toEqual([
        { seq: 3, changed: true, audience: both },
        { seq: 2, changed: true, audience: both },
        { seq: 5, changed: true, audience: both },
        null,
        { seq: 2, changed: false, audience: [] },
      ]);
      const at = (ms: number) => new Date(T0 + ms).toISOString();
      const receipt = async (seq: number) => (await store.receipts(ab, seq, alice!.id))![0];
      expect(await receipt(2)).toEqual({ userId: bob!.id, deliveredAt: at(10), readAt: at(20) });
      expect(await receipt(3)).toEqual({ userId: bob!.id, deliveredAt: at(10), readAt: null });
      expect(await receipt(5)).toEqual({ userId: bob!.id, deliveredAt: at(30), readAt: null });
      expect((await store.getConversation(ab, bob!.id))!.unreadCount).toBe(3);
    });

    it('a call that fails its whole batch in PostgreSQL is run alone, and fails alone', async () => {
      const store = kit.store;
      const [alice, bob] = await kit.users(2);
      const ab = await kit.direct(alice!, bob!);
      const before = store.stats!();
      // A createdAt PostgreSQL cannot take fails the batch's write; every append then runs in a
      // transaction of its own.
      const appends = await Promise.all([
        settle(kit.send(ab, alice!, 'fine')),
        settle(kit.send(ab, alice!, 'broken', Number.NaN)),
        settle(kit.send(ab, bob!, 'fine too')),
      ]);
      expect(appends.map((a) => ('ok' in a ? a.ok.message.body : a.code))).toEqual([
        'fine',
        'other',
        'fine too',
      ]);
      // A conversation id PostgreSQL text cannot hold fails the batch of moves; likewise.
      const moves = await Promise.all([
        store.advancePosition(ab, bob!.id, 'read', 1, T0).catch(() => 'failed'),
        store.advancePosition('bad\u0000id', bob!.id, 'read', 1, T0).catch((e: unknown) => e),
        store.advancePosition(ab, alice!.id, 'read', 2, T0).catch(() => 'failed'),
      ]);
      // Bob's own send put his read at 2 already; alice has not read his message yet.
      expect(moves[0]).toMatchObject({ seq: 2, changed: false });
      expect(moves[1]).toBeInstanceOf(LetterError);
      expect((moves[1] as LetterError).code).toBe('bad_request');
      expect(moves[2]).toMatchObject({ seq: 2, changed: true });
      // Each fallback ran one transaction per call.
      expect(store.stats!().transactions - before.transactions).toBe(6);
      const page = await store.history(ab, alice!.id, { limit: 50 });
      expect(page!.messages.map((m) => [m.seq, m.body])).toEqual([
        [1, 'fine'],
        [2, 'fine too'],
      ]);
    });

    it('appends and position moves of the same conversations in one turn all commit', async () => {
      const store = kit.store;
      const users = await kit.users(8);
      const conversations = await Promise.all(
        [0, 2, 4, 6].map((i) => kit.direct(users[i]!, users[i + 1]!)),
      );
      for (let round = 1; round <= 5; round++) {
        const answers = await Promise.all(
          users.flatMap((user, i) => [
            kit.send(conversations[i >> 1]!, user, `r${round}`).then((r) => r.created),
            store
              .advancePosition(conversations[i >> 1]!, user.id, 'read', 2 * round, T0)
              .then((r) => r !== null),
          ]),
        );
        expect(answers.every(Boolean)).toBe(true);
      }
      for (const [i, conversationId] of conversations.entries()) {
        const page = await store.history(conversationId, users[2 * i]!.id, { limit: 50 });
        expect(page!.messages.map((m) => m.seq)).toEqual(
          Array.from({ length: 10 }, (_, k) => k + 1),
        );
      }
    });

    if (reads === 'unlocked') {
      /** Another node on the same schema (pools of its own), and a kit that sends through it. */
      const secondNode = async () => {
        const node2 = await openPostgresStore({
          url,
          schema: opened.schema,
          migrate: false,
          maxConnections: 4,
          appendReads: 'unlocked',
        });
        const other = new SuiteKit();
        other.store = node2;
        return { node2, other };
      };

      it("a conversation changed between a batch's reads and its write is decided again under the lock", async () => {
        const store = kit.store;
        const [alice, bob] = await kit.users(2);
        const ab = await kit.direct(alice!, bob!);
        await kit.send(ab, alice!, 'first');
        const version = (await store.memberSet(ab)).version;
        const [staleBefore, before] = [stale(store), transactions(store)];
        // The batch reads without locks, so it decides from seq 1 and this version; the holder's
        // change (a membership change moves the version) commits before the batch's locks are
        // granted, and the batch's write must not land on what it did not see.
        const holder = await lockHolder(url, opened.schema, ab);
        const sent = kit.send(ab, bob!, 'second');
        await holder.nextWaiter();
        await holder.release(
          'UPDATE conversations SET members_version = members_version + 1 WHERE id = $1',
        );
        const answer = await sent;
        expect(answer.message.seq).toBe(2);
        // Decided again: the members it reports are those of the new version.
        expect(answer.members?.version).toBe(version + 1);
        expect(stale(store) - staleBefore).toBe(1);
        expect(transactions(store) - before).toBe(2);
      });

      it('two nodes whose batches read the same last seq: the later one moves its seqs up', async () => {
        const store = kit.store;
        const { node2, other } = await secondNode();
        try {
          const [alice, bob] = await kit.users(2);
          const ab = await kit.direct(alice!, bob!);
          await kit.send(ab, alice!, 'first');
          const counts = () =>
            [store, node2].reduce(
              (sum, s) => [sum[0]! + stale(s), sum[1]! + s.stats!().shiftedConversations!],
              [0, 0],
            );
          const before = counts();
          // Both batches read last seq 1; node 2's queues first for the lock, so node 1's batch
          // (a message and a reply to it, by the seq it expects) finds seq 2 taken.
          const holder = await lockHolder(url, opened.schema, ab);
          const fromTwo = other.send(ab, bob!, 'from node 2', T0 + 10);
          await holder.nextWaiter();
          const fromOne = [
            kit.send(ab, alice!, 'from node 1', T0 + 20),
            kit.send(ab, alice!, 'reply', T0 + 30, { replyToSeq: 2 }),
          ];
          await holder.nextWaiter();
          await holder.release();
          const answers = await Promise.all([fromTwo, ...fromOne]);
          expect(answers.map((a) => [a.message.seq, a.message.replyToSeq])).toEqual([
            [2, null],
            [3, null],
            [4, 3],
          ]);
          expect(counts().map((n, i) => n - before[i]!)).toEqual([0, 1]);
          const page = await store.history(ab, alice!.id, { limit: 50 });
          expect(page!.messages.map((m) => [m.seq, m.body, m.replyToSeq])).toEqual([
            [1, 'first', null],
            [2, 'from node 2', null],
            [3, 'from node 1', null],
            [4, 'reply', 3],
          ]);
          // Alice's first message now comes after bob's: it dates her read of his (receipts read
          // it from the messages, no log entry needed), and each sender has read up to their own
          // last message.
          const iso = (ms: number) => new Date(T0 + ms).toISOString();
          expect(await store.receipts(ab, 2, bob!.id)).toEqual([
            { userId: alice!.id, deliveredAt: iso(20), readAt: iso(20) },
          ]);
          const unread = await Promise.all(
            [alice!, bob!].map(
              async (who) => (await store.getConversation(ab, who.id))!.unreadCount,
            ),
          );
          expect(unread).toEqual([0, 2]);
        } finally {
          await node2.close();
        }
      });

      it('two nodes racing on shared conversations while members come and go: every ok is stored as answered', async () => {
        const store = kit.store;
        const { node2, other } = await secondNode();
        try {
          const [admin, a, b, c] = await kit.users(4);
          const group = await kit.group(admin!, [a!, b!, c!]);
          const direct = await kit.direct(a!, b!);
          const acked = new Map<string, AppendResult['message']>();
          let lastSeen = 1;
          for (let round = 0; round < 8; round++) {
            const sends = Array.from({ length: 30 }, (_, i) => {
              const via = i % 2 === 0 ? kit : other;
              const who = [a!, b!, c!][i % 3]!;
              const inDirect = i % 5 === 0 && who !== c;
              return settle(
                via.send(inDirect ? direct : group, who, `r${round} m${i}`, T0 + round, {
                  // c may not reply to what came before they were added back.
                  ...(!inDirect && who !== c && i % 7 === 3 && { replyToSeq: lastSeen }),
                }),
              );
            });
            // From either node, mid-batch: c leaves in even rounds and is added back in odd ones.
            const changeVia = round % 2 === 0 ? store : node2;
            const base = { conversationId: group, actorId: admin!.id, now: T0 + round };
            const ids = { messageIds: [kit.id('m'), kit.id('m')] as [string, string] };
            const change =
              round % 2 === 0
                ? changeVia.removeMember({ ...base, ...ids, userId: c!.id })
                : changeVia.addMembers({ ...base, ...ids, userIds: [c!.id] });
            const [answers, changed] = await Promise.all([Promise.all(sends), change]);
            const changedAt = changed.messages[0]!.seq;
            answers.forEach((answer, i) => {
              if (!('ok' in answer)) {
                // Only c is ever refused: a send of theirs that met them outside the group.
                expect([i % 3, answer.code]).toEqual([2, 'not_found']);
                return;
              }
              const message = answer.ok.message;
              acked.set(message.id, message);
              if (message.senderId === c!.id) {
                // Never after their removal, never before their return.
                if (round % 2 === 0) expect(message.seq).toBeLessThan(changedAt);
                else expect(message.seq).toBeGreaterThan(changedAt);
              }
              if (message.conversationId === group) lastSeen = Math.max(lastSeen, message.seq);
            });
          }
          for (const [conversationId, viewer] of [
            [group, admin!],
            [direct, a!],
          ] as const) {
            const page = await store.history(conversationId, viewer.id, { limit: 1000 });
            const messages = page!.messages;
            expect(messages.map((m) => m.seq)).toEqual(messages.map((_, i) => i + 1));
            for (const stored of messages) {
              const answered = acked.get(stored.id);
              if (answered) {
                expect([answered.seq, answered.replyToSeq]).toEqual([
                  stored.seq,
                  stored.replyToSeq,
                ]);
                acked.delete(stored.id);
              }
            }
          }
          // Every acked message was found, at the seq its answer gave.
          expect([...acked.keys()]).toEqual([]);
          const counts = [store, node2].map((s) => s.stats!());
          // The race was real: some batch's seqs moved, some conversation went stale.
          expect(counts.reduce((n, s) => n + s.shiftedConversations!, 0)).toBeGreaterThan(0);
        } finally {
          await node2.close();
        }
      });
    }

    it('a member removed while a batch runs: their appends land before the removal or fail', async () => {
      const store = kit.store;
      for (let round = 0; round < 5; round++) {
        const [admin, leaving, other, peer] = await kit.users(4);
        const group = await kit.group(admin!, [leaving!, other!]);
        const direct = await kit.direct(other!, peer!);
        const appends = Array.from({ length: 20 }, (_, i) =>
          settle(kit.send(i % 4 === 3 ? direct : group, i % 4 === 3 ? other! : leaving!, `m${i}`)),
        );
        const removal = store.removeMember({
          conversationId: group,
          actorId: admin!.id,
          userId: leaving!.id,
          now: T0 + 2,
          messageIds: [kit.id('m'), kit.id('m')],
        });
        const [answers, change] = await Promise.all([Promise.all(appends), removal]);
        const removedAt = change.messages[0]!.seq;
        answers.forEach((answer, i) => {
          if (i % 4 === 3) {
            // Another conversation of the same batch is not held up or failed by it.
            expect('ok' in answer).toBe(true);
          } else if ('ok' in answer) {
            expect(answer.ok.message.seq).toBeLessThan(removedAt);
          } else {
            expect(answer.code).toBe('not_found');
          }
        });
        const page = await store.history(group, admin!.id, { limit: 100 });
        const seqs = page!.messages.map((m) => m.seq);
        expect(seqs).toEqual(seqs.map((_, i) => i + 1));
        const fromLeaving = page!.messages.filter((m) => m.senderId === leaving!.id);
        expect(fromLeaving.every((m) => m.seq < removedAt)).toBe(true);
      }
    });
  });
}
