/** Conformance tests for conversations, messages and positions (see suite/suite.ts). */
import { describe, expect, it } from 'vitest';
import type { Message } from '@letter/protocol';
import type { SuiteKit } from './helpers.js';
import { ALL, T0, expectCode, iso, range, sorted } from './helpers.js';

export function describeConversationTests(kit: SuiteKit): void {
  describeDirectAndGroups(kit);
  describeAppends(kit);
  describeHistory(kit);
  describePositions(kit);
}

function describeDirectAndGroups(kit: SuiteKit): void {
  describe('conversations', () => {
    it('opens one direct conversation per pair, even from both sides at once', async () => {
      const [a, b, c] = await kit.users(3);
      const [fromA, fromB] = await Promise.all([
        kit.store.openDirect(kit.id('c'), a!.id, b!.id, T0),
        kit.store.openDirect(kit.id('c'), b!.id, a!.id, T0),
      ]);
      expect(fromA.conversation.id).toBe(fromB.conversation.id);
      expect([fromA.created, fromB.created].filter(Boolean)).toHaveLength(1);
      const id = fromA.conversation.id;

      expect(fromA.conversation).toMatchObject({
        id,
        kind: 'direct',
        title: b!.displayName,
        lastMessage: null,
        lastSeq: 0,
        readSeq: 0,
        unreadCount: 0,
        createdAt: iso(T0),
        lastActivityAt: iso(T0),
      });
      expect(fromB.conversation.title).toBe(a!.displayName);
      expect(sorted(fromA.conversation.members.map((m) => m.user.id))).toEqual(
        sorted([a!.id, b!.id]),
      );
      for (const member of fromA.conversation.members) {
        expect(member).toMatchObject({ role: 'member', readSeq: 0, deliveredSeq: 0 });
        expect(member.user).toEqual(member.user.id === a!.id ? a : b);
      }

      const again = await kit.store.openDirect(kit.id('c'), a!.id, b!.id, T0 + 1);
      expect(again).toMatchObject({ created: false, conversation: { id } });
      expect(await kit.store.findDirect(a!.id, b!.id)).toBe(id);
      expect(await kit.store.findDirect(b!.id, a!.id)).toBe(id);
      expect(await kit.store.findDirect(a!.id, c!.id)).toBeNull();
    });

    it('refuses a direct conversation with oneself or an unknown user', async () => {
      const a = await kit.user();
      await expectCode(kit.store.openDirect(kit.id('c'), a.id, a.id, T0), 'bad_request');
      await expectCode(kit.store.openDirect(kit.id('c'), a.id, kit.id('u'), T0), 'not_found');
    });

    it('creates a group with its creator as admin and a system message at seq 1', async () => {
      const [creator, b, c, outsider] = await kit.users(4);
      const id = kit.id('c');
      const systemMessageId = kit.id('m');
      const conversation = await kit.store.createGroup({
        id,
        title: 'Team',
        creatorId: creator!.id,
        memberIds: [b!.id, c!.id, b!.id],
        createdAt: T0,
        systemMessageId,
      });
      expect(conversation).toMatchObject({
        id,
        kind: 'group',
        title: 'Team',
        lastSeq: 1,
        readSeq: 1,
        unreadCount: 0,
        createdAt: iso(T0),
        lastActivityAt: iso(T0),
      });
      const roles = Object.fromEntries(conversation.members.map((m) => [m.user.id, m.role]));
      expect(roles).toEqual({ [creator!.id]: 'admin', [b!.id]: 'member', [c!.id]: 'member' });
      expect(conversation.lastMessage).toEqual({
        id: systemMessageId,
        conversationId: id,
        seq: 1,
        senderId: null,
        clientMsgId: null,
        body: '',
        createdAt: iso(T0),
        editedAt: null,
        deletedAt: null,
        replyToSeq: null,
        attachments: [],
        reactions: {},
        system: { kind: 'created', actorId: creator!.id, userIds: [b!.id, c!.id], title: 'Team' },
      });
      expect(await kit.store.getMessage(id, 1)).toEqual(conversation.lastMessage);

      expect(await kit.store.getConversation(id, b!.id)).toMatchObject({
        title: 'Team',
        readSeq: 0,
        unreadCount: 1,
      });
      expect(await kit.store.getConversation(id, outsider!.id)).toBeNull();
      expect(await kit.store.getConversation(kit.id('c'), creator!.id)).toBeNull();
      expect(sorted(await kit.store.memberIds(id))).toEqual(sorted([creator!.id, b!.id, c!.id]));
      expect(await kit.store.memberIds(kit.id('c'))).toEqual([]);
      expect(await kit.store.isMember(id, c!.id)).toBe(true);
      expect(await kit.store.isMember(id, outsider!.id)).toBe(false);
    });

    it('refuses a group with an unknown member', async () => {
      const creator = await kit.user();
      await expectCode(
        kit.store.createGroup({
          id: kit.id('c'),
          title: 'T',
          creatorId: creator.id,
          memberIds: [kit.id('u')],
          createdAt: T0,
          systemMessageId: kit.id('m'),
        }),
        'not_found',
      );
      expect(await kit.store.listConversations(creator.id, ALL)).toEqual([]);
    });

    it('lists conversations by latest activity, as getConversation shows them', async () => {
      const [user, p1, p2, p3] = await kit.users(4);
      const x = await kit.direct(user!, p1!, T0);
      const y = await kit.direct(p2!, user!, T0 + 1);
      const z = await kit.group(p3!, [user!, p1!], T0 + 2);
      const ids = async () => (await kit.store.listConversations(user!.id, ALL)).map((c) => c.id);
      expect(await ids()).toEqual([z, y, x]);

      await kit.send(x, p1!, 'wake up', T0 + 10);
      await kit.send(x, p1!, 'hello?', T0 + 11);
      await kit.send(y, user!, 'hi', T0 + 12);
      expect(await ids()).toEqual([y, x, z]);

      const list = await kit.store.listConversations(user!.id, ALL);
      for (const conversation of list) {
        expect(await kit.store.getConversation(conversation.id, user!.id)).toEqual(conversation);
      }
      const byId = new Map(list.map((c) => [c.id, c]));
      expect(byId.get(x)).toMatchObject({ lastSeq: 2, readSeq: 0, unreadCount: 2 });
      expect(byId.get(x)!.lastMessage).toMatchObject({ seq: 2, body: 'hello?' });
      expect(byId.get(x)!.lastActivityAt).toBe(iso(T0 + 11));
      expect(byId.get(y)).toMatchObject({ lastSeq: 1, readSeq: 1, unreadCount: 0 });
      expect(byId.get(z)).toMatchObject({ lastSeq: 1, readSeq: 0, unreadCount: 1 });

      expect(await kit.store.listConversationSummaries(user!.id)).toEqual([
        { id: y, lastSeq: 1 },
        { id: x, lastSeq: 2 },
        { id: z, lastSeq: 1 },
      ]);
    });

    it('pages conversations: every one exactly once, in order, ties on time by id', async () => {
      const [user, ...peers] = await kit.users(8);
      // Pairs with the same activity time: the id breaks the tie, also across a page edge.
      for (const [i, peer] of peers.entries()) {
        await kit.direct(user!, peer, T0 + Math.floor(i / 2));
      }
      await kit.group(peers[0]!, [user!], T0 + 1);
      const everything = await kit.store.listConversations(user!.id, ALL);
      expect(everything).toHaveLength(8);
      for (const size of [1, 2, 3, 8]) {
        const seen: string[] = [];
        let after: { activityAt: number; id: string } | undefined;
        for (;;) {
          const page = await kit.store.listConversations(user!.id, { limit: size, after });
          expect(page.length).toBeLessThanOrEqual(size);
          // Each conversation as getConversation and the full list show it.
          for (const c of page) expect(everything.find((e) => e.id === c.id)).toEqual(c);
          seen.push(...page.map((c) => c.id));
          const last = page.at(-1);
          if (!last) break;
          after = { activityAt: Date.parse(last.lastActivityAt), id: last.id };
        }
        expect(seen, `pages of ${size}`).toEqual(everything.map((c) => c.id));
      }
      expect(await kit.store.listConversations(user!.id, { limit: 0 })).toEqual([]);
    });
  });
}

function describeAppends(kit: SuiteKit): void {
  describe('appendMessage', () => {
    it('appends with seq 1, returns the protocol shape and moves the sender forward', async () => {
      const [a, b] = await kit.users(2);
      const conversationId = await kit.direct(a!, b!);
      const id = kit.id('m');
      const result = await kit.store.appendMessage({
        id,
        conversationId,
        senderId: a!.id,
        clientMsgId: 'first',
        body: 'Hello, B',
        replyToSeq: null,
        createdAt: T0 + 5,
      });
      const expected: Message = {
        id,
        conversationId,
        seq: 1,
        senderId: a!.id,
        clientMsgId: 'first',
        body: 'Hello, B',
        createdAt: iso(T0 + 5),
        editedAt: null,
        deletedAt: null,
        replyToSeq: null,
        attachments: [],
        reactions: {},
      };
      // Without knownMembersVersion the result says who the members are at the commit.
      expect(result).toEqual({
        message: expected,
        created: true,
        members: { userIds: sorted([a!.id, b!.id]), version: 0 },
      });
      expect(await kit.store.getMessage(conversationId, 1)).toEqual(expected);
      expect(await kit.store.getMessage(conversationId, 2)).toBeNull();

      const forA = await kit.store.getConversation(conversationId, a!.id);
      expect(forA).toMatchObject({ lastSeq: 1, readSeq: 1, unreadCount: 0, lastMessage: expected });
      expect(forA!.lastActivityAt).toBe(iso(T0 + 5));
      expect(forA!.members.find((m) => m.user.id === a!.id)).toMatchObject({
        readSeq: 1,
        deliveredSeq: 1,
      });
      expect(await kit.store.getConversation(conversationId, b!.id)).toMatchObject({
        readSeq: 0,
        unreadCount: 1,
      });
    });

    it('is idempotent on (sender, clientMsgId), even for concurrent repeats', async () => {
      const [a, b] = await kit.users(2);
      const conversationId = await kit.direct(a!, b!);
      const results = await Promise.all(
        range(1, 5).map((i) =>
          kit.send(conversationId, a!, 'once', T0 + i, { clientMsgId: 'same' }),
        ),
      );
      expect(results.filter((r) => r.created)).toHaveLength(1);
      for (const result of results) expect(result.message).toEqual(results[0]!.message);
      expect(results[0]!.message).toMatchObject({ seq: 1, body: 'once', clientMsgId: 'same' });
      const page = await kit.store.history(conversationId, b!.id, { limit: 50 });
      expect(page!.messages).toHaveLength(1);

      // The same clientMsgId from the other person is a different message.
      expect(
        (await kit.send(conversationId, b!, 'mine', T0, { clientMsgId: 'same' })).created,
      ).toBe(true);
    });

    it('refuses a clientMsgId the sender already used in another conversation', async () => {
      const [a, b, c] = await kit.users(3);
      const first = await kit.direct(a!, b!);
      const second = await kit.direct(a!, c!);
      await kit.send(first, a!, 'x', T0, { clientMsgId: 'reused' });
      await expectCode(kit.send(second, a!, 'y', T0, { clientMsgId: 'reused' }), 'bad_request');
    });

    it('gives 60 concurrent appends from 3 senders gap-free seqs', async () => {
      const [a, b, c] = await kit.users(3);
      const conversationId = await kit.group(a!, [b!, c!]);
      const senders = [a!, b!, c!];
      const results = await Promise.all(
        range(1, 60).map((i) => kit.send(conversationId, senders[i % 3]!, `m${i}`, T0 + i)),
      );
      // seq 1 is the group's "created" message.
      expect(results.map((r) => r.message.seq).sort((x, y) => x - y)).toEqual(range(2, 61));
      const page = await kit.store.history(conversationId, a!.id, { limit: 200 });
      expect(page!.messages.map((m) => m.seq)).toEqual(range(1, 61));
      expect((await kit.store.getConversation(conversationId, a!.id))!.lastSeq).toBe(61);
    });

    it('hides conversations from non-members', async () => {
      const [a, b, outsider] = await kit.users(3);
      const conversationId = await kit.direct(a!, b!);
      await kit.send(conversationId, a!);
      await expectCode(kit.send(conversationId, outsider!), 'not_found');
      await expectCode(kit.send(kit.id('c'), a!), 'not_found');
      expect(await kit.store.history(conversationId, outsider!.id, { limit: 10 })).toBeNull();
      expect(
        await kit.store.advancePosition(conversationId, outsider!.id, 'read', 1, T0),
      ).toBeNull();
      expect((await kit.store.getConversation(conversationId, a!.id))!.lastSeq).toBe(1);
    });

    it('refuses sends in a direct conversation blocked either way, not in groups', async () => {
      const [a, b, c] = await kit.users(3);
      const direct = await kit.direct(a!, b!);
      const group = await kit.group(a!, [b!, c!]);
      await kit.store.block(a!.id, b!.id, T0);
      await expectCode(kit.send(direct, b!), 'blocked');
      await expectCode(kit.send(direct, a!), 'blocked');
      expect((await kit.send(group, b!)).created).toBe(true);
      expect((await kit.store.getConversation(direct, a!.id))!.lastSeq).toBe(0);

      await kit.store.unblock(a!.id, b!.id);
      expect((await kit.send(direct, b!)).message.seq).toBe(1);
    });

    it('accepts replyToSeq only for an existing message of the conversation', async () => {
      const [a, b] = await kit.users(2);
      const conversationId = await kit.direct(a!, b!);
      await kit.send(conversationId, a!);
      const reply = await kit.send(conversationId, b!, 're', T0, { replyToSeq: 1 });
      expect(reply.message.replyToSeq).toBe(1);
      await expectCode(kit.send(conversationId, b!, 're', T0, { replyToSeq: 3 }), 'bad_request');
    });
  });
}

function describeHistory(kit: SuiteKit): void {
  describe('history', () => {
    it('pages backward from the end, and forward from `after`, ascending', async () => {
      const [a, b] = await kit.users(2);
      const conversationId = await kit.direct(a!, b!);
      for (const i of range(1, 25))
        await kit.send(conversationId, i % 2 ? a! : b!, `m${i}`, T0 + i);
      const page = async (range: { before?: number; after?: number; limit: number }) => {
        const result = await kit.store.history(conversationId, b!.id, range);
        return { seqs: result!.messages.map((m) => m.seq), hasMore: result!.hasMore };
      };

      expect(await page({ limit: 10 })).toEqual({ seqs: range(16, 25), hasMore: true });
      expect(await page({ before: 16, limit: 10 })).toEqual({ seqs: range(6, 15), hasMore: true });
      expect(await page({ before: 6, limit: 10 })).toEqual({ seqs: range(1, 5), hasMore: false });
      expect(await page({ limit: 25 })).toEqual({ seqs: range(1, 25), hasMore: false });
      expect(await page({ after: 5, limit: 10 })).toEqual({ seqs: range(6, 15), hasMore: true });
      expect(await page({ after: 20, limit: 10 })).toEqual({ seqs: range(21, 25), hasMore: false });
      expect(await page({ after: 25, limit: 10 })).toEqual({ seqs: [], hasMore: false });
      expect(await page({ after: 5, before: 9, limit: 10 })).toEqual({
        seqs: [6, 7, 8],
        hasMore: false,
      });
      expect(await page({ after: 5, before: 20, limit: 3 })).toEqual({
        seqs: [6, 7, 8],
        hasMore: true,
      });

      const messages = (await kit.store.history(conversationId, a!.id, { after: 2, limit: 2 }))!
        .messages;
      expect(messages).toEqual([
        await kit.store.getMessage(conversationId, 3),
        await kit.store.getMessage(conversationId, 4),
      ]);
      expect(messages[0]).toMatchObject({ body: 'm3', senderId: a!.id, createdAt: iso(T0 + 3) });
    });
  });
}

function describePositions(kit: SuiteKit): void {
  describe('positions and receipts', () => {
    it('moves positions only forward, clamped to lastSeq; reading implies delivered', async () => {
      const [a, b] = await kit.users(2);
      const conversationId = await kit.direct(a!, b!);
      for (const i of range(1, 5)) await kit.send(conversationId, a!, `m${i}`, T0 + i);
      const advance = (kind: 'read' | 'delivered', seq: number) =>
        kit.store.advancePosition(conversationId, b!.id, kind, seq, T0 + 100);
      const view = async () => {
        const conversation = await kit.store.getConversation(conversationId, b!.id);
        const member = conversation!.members.find((m) => m.user.id === b!.id)!;
        return {
          readSeq: conversation!.readSeq,
          unreadCount: conversation!.unreadCount,
          member: { readSeq: member.readSeq, deliveredSeq: member.deliveredSeq },
        };
      };

      expect(await advance('delivered', 3)).toMatchObject({ seq: 3, changed: true });
      expect(await advance('delivered', 2)).toMatchObject({ seq: 3, changed: false });
      expect(await advance('read', 2)).toMatchObject({ seq: 2, changed: true });
      expect(await view()).toEqual({
        readSeq: 2,
        unreadCount: 3,
        member: { readSeq: 2, deliveredSeq: 3 },
      });
      expect(await advance('read', 1)).toMatchObject({ seq: 2, changed: false });
      expect(await advance('read', 99)).toMatchObject({ seq: 5, changed: true });
      expect(await view()).toEqual({
        readSeq: 5,
        unreadCount: 0,
        member: { readSeq: 5, deliveredSeq: 5 },
      });
      expect(await advance('delivered', 5)).toMatchObject({ seq: 5, changed: false });
      expect(await advance('read', 0)).toMatchObject({ seq: 5, changed: false });

      await kit.send(conversationId, a!, 'm6', T0 + 200);
      expect(await view()).toEqual({
        readSeq: 5,
        unreadCount: 1,
        member: { readSeq: 5, deliveredSeq: 5 },
      });
    });

    it('tells when each other member first received and read a message', async () => {
      const [a, b, c] = await kit.users(3);
      const conversationId = await kit.group(a!, [b!, c!], T0);
      const receipts = async (seq: number) =>
        Object.fromEntries(
          (await kit.store.receipts(conversationId, seq, a!.id))!.map((r) => [
            r.userId,
            [r.deliveredAt, r.readAt],
          ]),
        );
      await kit.send(conversationId, a!, 'seq 2', T0 + 1);
      expect(await receipts(2)).toEqual({ [b!.id]: [null, null], [c!.id]: [null, null] });

      await kit.store.advancePosition(conversationId, b!.id, 'delivered', 2, T0 + 2);
      await kit.store.advancePosition(conversationId, b!.id, 'read', 2, T0 + 3);
      await kit.store.advancePosition(conversationId, b!.id, 'read', 2, T0 + 4);
      expect(await receipts(2)).toEqual({
        [b!.id]: [iso(T0 + 2), iso(T0 + 3)],
        [c!.id]: [null, null],
      });

      // b answers: b is already at seq 2, then c reads everything at once.
      await kit.send(conversationId, b!, 'seq 3', T0 + 5);
      await kit.store.advancePosition(conversationId, c!.id, 'read', 3, T0 + 6);
      expect(await receipts(2)).toEqual({
        [b!.id]: [iso(T0 + 2), iso(T0 + 3)],
        [c!.id]: [iso(T0 + 6), iso(T0 + 6)],
      });
      expect(await receipts(3)).toEqual({
        [a!.id]: [null, null],
        [c!.id]: [iso(T0 + 6), iso(T0 + 6)],
      });

      // Sending moves one's own positions past everything before: a has now seen seq 3.
      await kit.send(conversationId, a!, 'seq 4', T0 + 7);
      expect(await receipts(3)).toEqual({
        [a!.id]: [iso(T0 + 7), iso(T0 + 7)],
        [c!.id]: [iso(T0 + 6), iso(T0 + 6)],
      });
      // The system message has no sender: every member has a receipt.
      expect(await receipts(1)).toEqual({
        [a!.id]: [iso(T0), iso(T0)],
        [b!.id]: [iso(T0 + 2), iso(T0 + 3)],
        [c!.id]: [iso(T0 + 6), iso(T0 + 6)],
      });
      expect(await kit.store.receipts(conversationId, 99, a!.id)).toBeNull();
      const outsider = await kit.user();
      expect(await kit.store.receipts(conversationId, 2, outsider.id)).toBeNull();
    });

    it('dates a read by the reader’s own message, and keeps it when that message is deleted', async () => {
      const [a, b] = await kit.users(2);
      const conversationId = await kit.direct(a!, b!);
      const receiptOfB = async (seq: number) => {
        const receipt = (await kit.store.receipts(conversationId, seq, a!.id))!.find(
          (r) => r.userId === b!.id,
        );
        return [receipt?.deliveredAt, receipt?.readAt];
      };
      await kit.send(conversationId, a!, 'seq 1', T0 + 1);
      await kit.send(conversationId, a!, 'seq 2', T0 + 2);
      expect(await receiptOfB(1)).toEqual([null, null]);
      // b answers without a read of their own: the answer says b has read both.
      await kit.send(conversationId, b!, 'seq 3', T0 + 5);
      expect(await receiptOfB(1)).toEqual([iso(T0 + 5), iso(T0 + 5)]);
      expect(await receiptOfB(2)).toEqual([iso(T0 + 5), iso(T0 + 5)]);
      // A read after the answer dates nothing earlier.
      await kit.store.advancePosition(conversationId, b!.id, 'read', 3, T0 + 9);
      expect(await receiptOfB(2)).toEqual([iso(T0 + 5), iso(T0 + 5)]);
      // Deleting the answer for everyone does not undo having read what came before it.
      await kit.store.deleteMessage({ conversationId, seq: 3, userId: b!.id, now: T0 + 20 });
      expect(await receiptOfB(1)).toEqual([iso(T0 + 5), iso(T0 + 5)]);
      expect(await receiptOfB(2)).toEqual([iso(T0 + 5), iso(T0 + 5)]);
    });
  });
}
