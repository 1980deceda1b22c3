/** Conformance tests for group management, join seqs and per-member settings (see suite/suite.ts). */
import { describe, expect, it } from 'vitest';
import type { User } from '@letter/protocol';
import type { SuiteKit } from './helpers.js';
import type { PositionResult } from '../store.js';
import { RECEIPT_EVERYONE_MAX, RECEIPT_SENDERS_SPAN } from '../shared/rules.js';
import { ALL, T0, expectCode, iso, range, sorted } from './helpers.js';

export function describeGroupTests(kit: SuiteKit): void {
  const ids = (): [string, string] => [kit.id('m'), kit.id('m')];
  const base = (conversationId: string, actor: User, now = T0 + 10) => ({
    conversationId,
    actorId: actor.id,
    now,
    messageIds: ids(),
  });
  const roles = async (conversationId: string, viewer: User) =>
    Object.fromEntries(
      (await kit.store.getConversation(conversationId, viewer.id))!.members.map((m) => [
        m.user.id,
        m.role,
      ]),
    );

  describe('group management', () => {
    it('renames (admins), records it, and moves the actor past their own system message', async () => {
      const [admin, member, outsider] = await kit.users(3);
      const group = await kit.group(admin!, [member!]);
      const change = await kit.store.renameGroup({ ...base(group, admin!), title: 'New name' });
      expect(change.messages).toHaveLength(1);
      expect(change.messages[0]).toMatchObject({
        seq: 2,
        senderId: null,
        clientMsgId: null,
        body: '',
        createdAt: iso(T0 + 10),
        system: { kind: 'renamed', actorId: admin!.id, userIds: [], title: 'New name' },
      });
      expect(change).toMatchObject({ conversationId: group, addedUserIds: [], removedUserIds: [] });
      expect(sorted(change.members.userIds)).toEqual(sorted([admin!.id, member!.id]));
      expect(await kit.store.getConversation(group, admin!.id)).toMatchObject({
        title: 'New name',
        lastSeq: 2,
        readSeq: 2,
        unreadCount: 0,
        lastMessage: change.messages[0],
      });
      expect(await kit.store.getConversation(group, member!.id)).toMatchObject({
        title: 'New name',
        unreadCount: 2,
      });

      // The actor's own view only: the other members hear of it through one delta.
      expect(change.views).toEqual(await kit.store.conversationViews(group, [admin!.id]));
      const same = await kit.store.renameGroup({ ...base(group, admin!), title: 'New name' });
      expect(same.messages).toEqual([]);
      await expectCode(
        kit.store.renameGroup({ ...base(group, member!), title: 'Mine' }),
        'forbidden',
      );
      await expectCode(
        kit.store.renameGroup({ ...base(group, outsider!), title: 'Mine' }),
        'not_found',
      );
      await expectCode(
        kit.store.renameGroup({ ...base(kit.id('c'), admin!), title: 'Mine' }),
        'not_found',
      );
      const direct = await kit.direct(admin!, member!);
      await expectCode(kit.store.renameGroup({ ...base(direct, admin!), title: 'x' }), 'forbidden');
      expect((await kit.store.getConversation(group, admin!.id))!.lastSeq).toBe(2);
    });

    it('adds members, who see history from the message that added them on', async () => {
      const [admin, member, late, outsider] = await kit.users(4);
      const group = await kit.group(admin!, [member!]);
      for (const i of range(2, 4)) await kit.send(group, member!, `before ${i}`, T0 + i);
      const before = await kit.store.memberSet(group);

      const change = await kit.store.addMembers({
        ...base(group, admin!),
        userIds: [late!.id, member!.id, late!.id],
      });
      expect(change.messages).toHaveLength(1);
      expect(change.messages[0]).toMatchObject({
        seq: 5,
        system: { kind: 'added', actorId: admin!.id, userIds: [late!.id] },
      });
      expect(change.addedUserIds).toEqual([late!.id]);
      expect(change.members.version).toBeGreaterThan(before.version);
      expect(change.members.userIds).toContain(late!.id);

      const view = await kit.store.getConversation(group, late!.id);
      expect(view).toMatchObject({
        lastSeq: 5,
        readSeq: 4,
        unreadCount: 1,
        firstSeq: 5,
        muted: false,
        archived: false,
        lastMessage: change.messages[0],
      });
      expect((await kit.store.getConversation(group, member!.id))!.firstSeq).toBe(1);
      expect(
        (await kit.store.getConversation(group, admin!.id))!.members.map((m) => m.user.id),
      ).toEqual([...sorted([admin!.id, member!.id]), late!.id]);

      const page = await kit.store.history(group, late!.id, { limit: 50 });
      expect(page).toEqual({ messages: [change.messages[0]], hasMore: false });
      expect(await kit.store.history(group, late!.id, { before: 5, limit: 50 })).toEqual({
        messages: [],
        hasMore: false,
      });
      expect(
        (await kit.store.history(group, late!.id, { after: 0, limit: 50 }))!.messages.map(
          (m) => m.seq,
        ),
      ).toEqual([5]);
      expect(await kit.store.receipts(group, 3, late!.id)).toBeNull();
      expect((await kit.store.receipts(group, 3, admin!.id))!.map((r) => r.userId)).toEqual([
        admin!.id,
      ]);
      expect((await kit.store.receipts(group, 5, late!.id))!.map((r) => r.userId)).toContain(
        late!.id,
      );
      // Nothing before their join is within reach, not even as a reply target.
      await expectCode(kit.send(group, late!, 're', T0 + 20, { replyToSeq: 3 }), 'bad_request');
      expect((await kit.send(group, late!, 're', T0 + 20, { replyToSeq: 5 })).message.seq).toBe(6);

      expect(
        (await kit.store.addMembers({ ...base(group, admin!), userIds: [member!.id] })).messages,
      ).toEqual([]);
      await expectCode(
        kit.store.addMembers({ ...base(group, admin!), userIds: [kit.id('u')] }),
        'not_found',
      );
      await expectCode(
        kit.store.addMembers({ ...base(group, member!), userIds: [outsider!.id] }),
        'forbidden',
      );
      await expectCode(
        kit.store.addMembers({ ...base(group, outsider!), userIds: [outsider!.id] }),
        'not_found',
      );
      expect(await kit.store.isMember(group, outsider!.id)).toBe(false);
    });

    it('removes (admins) and leaves (anyone); the removed lose all access', async () => {
      const [admin, b, c, outsider] = await kit.users(4);
      const group = await kit.group(admin!, [b!, c!]);
      await kit.send(group, b!, 'hi', T0 + 1);

      await expectCode(kit.store.removeMember({ ...base(group, b!), userId: c!.id }), 'forbidden');
      await expectCode(
        kit.store.removeMember({ ...base(group, admin!), userId: outsider!.id }),
        'not_found',
      );
      await expectCode(
        kit.store.removeMember({ ...base(group, outsider!), userId: b!.id }),
        'not_found',
      );

      const removed = await kit.store.removeMember({ ...base(group, admin!), userId: b!.id });
      expect(removed.messages.map((m) => [m.seq, m.system])).toEqual([
        [3, { kind: 'removed', actorId: admin!.id, userIds: [b!.id] }],
      ]);
      expect(removed.removedUserIds).toEqual([b!.id]);
      for (const view of removed.views) {
        expect(view.conversation).toEqual(await kit.store.getConversation(group, view.userId));
      }
      expect(removed.views.map((v) => v.userId)).toEqual([admin!.id]);
      expect(sorted(removed.members.userIds)).toEqual(sorted([admin!.id, c!.id]));
      expect(await kit.store.getConversation(group, b!.id)).toBeNull();
      expect(await kit.store.history(group, b!.id, { limit: 10 })).toBeNull();
      expect(await kit.store.receipts(group, 2, b!.id)).toBeNull();
      await expectCode(kit.send(group, b!), 'not_found');
      expect(await kit.store.listConversations(b!.id, ALL)).toEqual([]);

      const left = await kit.store.removeMember({ ...base(group, c!), userId: c!.id });
      expect(left.messages.map((m) => m.system)).toEqual([
        { kind: 'left', actorId: c!.id, userIds: [c!.id] },
      ]);
      expect(left.members.userIds).toEqual([admin!.id]);
    });

    it('hands admin over to the longest-standing member when the last admin goes', async () => {
      const [admin, first, second, third] = await kit.users(4);
      const group = await kit.group(admin!, [first!, second!]);
      await kit.store.addMembers({ ...base(group, admin!, T0 + 1), userIds: [third!.id] });
      const [senior, junior] = sorted([first!.id, second!.id]);

      const left = await kit.store.removeMember({ ...base(group, admin!), userId: admin!.id });
      expect(left.messages.map((m) => m.system)).toEqual([
        { kind: 'left', actorId: admin!.id, userIds: [admin!.id] },
        { kind: 'promoted', actorId: null, userIds: [senior] },
      ]);
      expect(left.messages.map((m) => m.seq)).toEqual([3, 4]);
      expect(await roles(group, third!)).toEqual({
        [senior!]: 'admin',
        [junior!]: 'member',
        [third!.id]: 'member',
      });

      // An admin demoting themselves as the last admin hands over, never back to themselves.
      const seniorUser = senior === first!.id ? first! : second!;
      const demoted = await kit.store.setMemberRole({
        ...base(group, seniorUser),
        userId: senior!,
        role: 'member',
      });
      expect(demoted.messages.map((m) => m.system)).toEqual([
        { kind: 'demoted', actorId: senior, userIds: [senior] },
        { kind: 'promoted', actorId: null, userIds: [junior] },
      ]);
      expect((await roles(group, third!))[junior!]).toBe('admin');
      expect((await roles(group, third!))[senior!]).toBe('member');
    });

    it('promotes and demotes (admins); a sole member cannot demote themselves', async () => {
      const [admin, b, outsider] = await kit.users(3);
      const group = await kit.group(admin!, [b!]);
      await expectCode(
        kit.store.setMemberRole({ ...base(group, b!), userId: b!.id, role: 'admin' }),
        'forbidden',
      );
      const promoted = await kit.store.setMemberRole({
        ...base(group, admin!),
        userId: b!.id,
        role: 'admin',
      });
      expect(promoted.messages.map((m) => m.system)).toEqual([
        { kind: 'promoted', actorId: admin!.id, userIds: [b!.id] },
      ]);
      expect(
        (await kit.store.setMemberRole({ ...base(group, admin!), userId: b!.id, role: 'admin' }))
          .messages,
      ).toEqual([]);
      await expectCode(
        kit.store.setMemberRole({ ...base(group, admin!), userId: outsider!.id, role: 'admin' }),
        'not_found',
      );
      const demoted = await kit.store.setMemberRole({
        ...base(group, b!),
        userId: admin!.id,
        role: 'member',
      });
      expect(demoted.messages.map((m) => m.system)).toEqual([
        { kind: 'demoted', actorId: b!.id, userIds: [admin!.id] },
      ]);
      expect(await roles(group, admin!)).toEqual({ [admin!.id]: 'member', [b!.id]: 'admin' });

      await kit.store.removeMember({ ...base(group, admin!), userId: admin!.id });
      await expectCode(
        kit.store.setMemberRole({ ...base(group, b!), userId: b!.id, role: 'member' }),
        'bad_request',
      );
      const last = await kit.store.removeMember({ ...base(group, b!), userId: b!.id });
      expect(last.messages.map((m) => m.system!.kind)).toEqual(['left']);
      expect(last.members.userIds).toEqual([]);
    });

    it('gives a re-added member a new start, without what happened while away', async () => {
      const [admin, b] = await kit.users(2);
      const group = await kit.group(admin!, [b!]);
      await kit.send(group, b!, 'seq 2', T0 + 1);
      await kit.store.advancePosition(group, b!.id, 'read', 2, T0 + 2);
      await kit.store.removeMember({ ...base(group, admin!), userId: b!.id }); // seq 3
      await kit.send(group, admin!, 'while away', T0 + 4); // seq 4
      const readded = await kit.store.addMembers({ ...base(group, admin!), userIds: [b!.id] });
      expect(readded.messages[0]!.seq).toBe(5);
      expect(await kit.store.getConversation(group, b!.id)).toMatchObject({
        firstSeq: 5,
        readSeq: 4,
        unreadCount: 1,
      });
      expect(
        (await kit.store.history(group, b!.id, { limit: 50 }))!.messages.map((m) => m.seq),
      ).toEqual([5]);
      expect(await kit.store.receipts(group, 2, b!.id)).toBeNull();
    });

    it('tells a moved position in a small group to every member who joined by it', async () => {
      const [admin, b, late] = await kit.users(3);
      const group = await kit.group(admin!, [b!]);
      await kit.send(group, admin!, 'seq 2', T0 + 1);
      await kit.store.addMembers({ ...base(group, admin!), userIds: [late!.id] }); // seq 3
      const early = await kit.store.advancePosition(group, b!.id, 'read', 2, T0 + 2);
      expect({ ...early, audience: sorted(early!.audience) }).toEqual({
        seq: 2,
        changed: true,
        audience: sorted([admin!.id, b!.id]),
      });
      const after = await kit.store.advancePosition(group, b!.id, 'delivered', 3, T0 + 3);
      expect({ ...after, audience: sorted(after!.audience) }).toEqual({
        seq: 3,
        changed: true,
        audience: sorted([admin!.id, b!.id, late!.id]),
      });
      const same = await kit.store.advancePosition(group, b!.id, 'read', 1, T0 + 4);
      expect(same).toEqual({ seq: 2, changed: false, audience: [] });
    });

    // Past RECEIPT_EVERYONE_MAX members: each member's position moves with every message, so
    // telling all of them would be members² frames per message.
    const bigGroup = async () => {
      const [admin, b, c, ...rest] = await kit.users(RECEIPT_EVERYONE_MAX + 1);
      const group = await kit.group(admin!, [b!, c!, ...rest]); // seq 1
      return { admin: admin!, b: b!, c: c!, rest, group };
    };

    it('tells a moved position in a big group to the member and the senders of what it covers', async () => {
      const { admin, b, c, group } = await bigGroup();
      await kit.send(group, admin, 'seq 2', T0 + 1);
      await kit.send(group, c, 'seq 3', T0 + 2);
      await kit.send(group, admin, 'seq 4', T0 + 3);
      const audienceOf = async (move: Promise<PositionResult | null>) => {
        const result = await move;
        return result && { ...result, audience: sorted(result.audience) };
      };
      // Over 2 and 3: both senders' ticks change, and b's other sessions hear of it.
      expect(await audienceOf(kit.store.advancePosition(group, b.id, 'read', 3, T0 + 4))).toEqual({
        seq: 3,
        changed: true,
        audience: sorted([admin.id, b.id, c.id]),
      });
      // Over 4 alone: admin's message; c's ticks do not move.
      expect(
        await audienceOf(kit.store.advancePosition(group, b.id, 'delivered', 4, T0 + 5)),
      ).toEqual({ seq: 4, changed: true, audience: sorted([admin.id, b.id]) });
      // c read up to 3 by sending it: 4 is admin's.
      expect(await audienceOf(kit.store.advancePosition(group, c.id, 'read', 9, T0 + 6))).toEqual({
        seq: 4,
        changed: true,
        audience: sorted([admin.id, c.id]),
      });
      expect(await kit.store.advancePosition(group, b.id, 'read', 1, T0 + 7)).toEqual({
        seq: 3,
        changed: false,
        audience: [],
      });
    });

    it('tells a move over more messages than it looks up to every member who joined by then', async () => {
      const { admin, b, c, rest, group } = await bigGroup();
      const [late] = await kit.users(1);
      const last = 1 + RECEIPT_SENDERS_SPAN + 1;
      for (let seq = 2; seq <= last; seq++) await kit.send(group, admin, `seq ${seq}`, T0 + seq);
      await kit.store.addMembers({ ...base(group, admin), userIds: [late!.id] }); // last + 1
      const founders = [admin, b, c, ...rest].map((u) => u.id);
      // b's move covers more than the span: everyone who joined by its end, late not among them.
      const wide = await kit.store.advancePosition(group, b.id, 'read', last, T0 + 100);
      expect({ ...wide, audience: sorted(wide!.audience) }).toEqual({
        seq: last,
        changed: true,
        audience: sorted(founders),
      });
      // c's reaches the addition: late has joined by then.
      const after = await kit.store.advancePosition(group, c.id, 'delivered', last + 1, T0 + 101);
      expect({ ...after, audience: sorted(after!.audience) }).toEqual({
        seq: last + 1,
        changed: true,
        audience: sorted([...founders, late!.id]),
      });
    });

    it('refuses to manage a direct conversation', async () => {
      const [a, b, c] = await kit.users(3);
      const direct = await kit.direct(a!, b!);
      await expectCode(
        kit.store.addMembers({ ...base(direct, a!), userIds: [c!.id] }),
        'forbidden',
      );
      await expectCode(kit.store.removeMember({ ...base(direct, a!), userId: a!.id }), 'forbidden');
      await expectCode(
        kit.store.setMemberRole({ ...base(direct, a!), userId: b!.id, role: 'admin' }),
        'forbidden',
      );
      expect(sorted(await kit.store.memberIds(direct))).toEqual(sorted([a!.id, b!.id]));
    });

    it('lists a preview of the members with their count; one conversation has them all', async () => {
      const [admin, ...others] = await kit.users(8);
      const group = await kit.group(admin!, others);
      const late = await kit.user('Late');
      await kit.store.addMembers({ ...base(group, admin!), userIds: [late.id] });
      const full = (await kit.store.getConversation(group, late.id))!;
      expect(full.members).toHaveLength(9);
      expect(full).toMatchObject({ memberCount: 9, membersVersion: 1 });
      const entry = (await kit.store.listConversations(late.id, ALL)).find((c) => c.id === group)!;
      expect(entry.members).toEqual([...full.members.slice(0, 5), full.members[8]]);
      expect(entry).toEqual({ ...full, members: entry.members });
      const first = (await kit.store.listConversations(admin!.id, ALL)).find(
        (c) => c.id === group,
      )!;
      expect(first.members).toEqual(full.members.slice(0, 5));
      expect(first.memberCount).toBe(9);
    });

    it('puts nobody in a group with someone they blocked or who blocked them', async () => {
      const [admin, blocker, blockedOne, friend] = await kit.users(4);
      await kit.store.block(blocker!.id, admin!.id, T0); // blocker blocked the admin
      await kit.store.block(admin!.id, blockedOne!.id, T0); // the admin blocked blockedOne
      for (const other of [blocker!, blockedOne!]) {
        await expectCode(kit.group(admin!, [friend!, other]), 'blocked');
      }
      const group = await kit.group(admin!, [friend!]);
      for (const other of [blocker!, blockedOne!]) {
        await expectCode(
          kit.store.addMembers({ ...base(group, admin!), userIds: [other.id] }),
          'blocked',
        );
      }
      expect(sorted(await kit.store.memberIds(group))).toEqual(sorted([admin!.id, friend!.id]));
      // A block between two others is theirs: the admin may still add both.
      await kit.store.block(friend!.id, blocker!.id, T0);
      await kit.store.unblock(blocker!.id, admin!.id);
      const change = await kit.store.addMembers({ ...base(group, admin!), userIds: [blocker!.id] });
      expect(change.addedUserIds).toEqual([blocker!.id]);
    });
  });

  describe('members version, views and settings', () => {
    it('tells an append whether the caller’s member list is still current', async () => {
      const [admin, b, c] = await kit.users(3);
      const group = await kit.group(admin!, [b!]);
      const set = await kit.store.memberSet(group);
      expect(sorted(set.userIds)).toEqual(sorted([admin!.id, b!.id]));
      expect(await kit.store.memberSet(kit.id('c'))).toEqual({ userIds: [], version: 0 });

      const append = (knownMembersVersion: number) =>
        kit.store.appendMessage({
          id: kit.id('m'),
          conversationId: group,
          senderId: admin!.id,
          clientMsgId: kit.id('cm'),
          body: 'x',
          replyToSeq: null,
          createdAt: T0,
          knownMembersVersion,
        });
      expect((await append(set.version)).members).toBeUndefined();
      await kit.store.addMembers({ ...base(group, admin!), userIds: [c!.id] });
      const stale = await append(set.version);
      expect(stale.members!.version).toBeGreaterThan(set.version);
      expect(stale.members!.userIds).toContain(c!.id);
      expect((await append(stale.members!.version)).members).toBeUndefined();
    });

    it('builds every member’s own view at once, as getConversation does', async () => {
      const [admin, b, outsider] = await kit.users(3);
      const group = await kit.group(admin!, [b!]);
      await kit.send(group, b!, 'hello', T0 + 1);
      await kit.store.updateSettings(group, b!.id, { muted: true });
      const views = await kit.store.conversationViews(group, [b!.id, outsider!.id, admin!.id]);
      expect(views).toEqual([
        { userId: b!.id, conversation: await kit.store.getConversation(group, b!.id) },
        { userId: admin!.id, conversation: await kit.store.getConversation(group, admin!.id) },
      ]);
      expect(await kit.store.conversationViews(kit.id('c'), [admin!.id])).toEqual([]);
    });

    it('keeps muted and archived per member; a message from someone else un-archives', async () => {
      const [a, b, outsider] = await kit.users(3);
      const direct = await kit.direct(a!, b!);
      const settings = async (user: User) => {
        const view = await kit.store.getConversation(direct, user.id);
        return { muted: view!.muted, archived: view!.archived };
      };
      expect(await settings(a!)).toEqual({ muted: false, archived: false });
      expect(await kit.store.updateSettings(direct, a!.id, { muted: true })).toMatchObject({
        id: direct,
        muted: true,
        archived: false,
      });
      await kit.store.updateSettings(direct, a!.id, { archived: true });
      expect(await settings(a!)).toEqual({ muted: true, archived: true });
      expect(await settings(b!)).toEqual({ muted: false, archived: false });
      expect(await kit.store.updateSettings(direct, outsider!.id, { muted: true })).toBeNull();

      await kit.send(direct, a!, 'my own message keeps it archived', T0 + 1);
      expect(await settings(a!)).toEqual({ muted: true, archived: true });
      await kit.send(direct, b!, 'a new message brings it back', T0 + 2);
      expect(await settings(a!)).toEqual({ muted: true, archived: false });
      // Muted still counts unread.
      expect((await kit.store.getConversation(direct, a!.id))!.unreadCount).toBe(1);
      await kit.store.updateSettings(direct, a!.id, { muted: false, archived: true });
      expect(await settings(a!)).toEqual({ muted: false, archived: true });
    });
  });
}
