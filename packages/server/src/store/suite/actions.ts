/**
 * Conformance tests for edits, deletes, reactions, search and account deletion
 * (see suite/suite.ts).
 */
import { describe, expect, it } from 'vitest';
import type { Message, User } from '@letter/protocol';
import type { SuiteKit } from './helpers.js';
import { T0, expectCode, iso, sorted } from './helpers.js';

export function describeActionTests(kit: SuiteKit): void {
  describeMessageActions(kit);
  describeSearch(kit);
  describeAccounts(kit);
}

const at = (conversationId: string, seq: number, user: User, now = T0 + 100) => ({
  conversationId,
  seq,
  userId: user.id,
  now,
});

function describeMessageActions(kit: SuiteKit): void {
  describe('message actions', () => {
    it('edits one’s own message only, and never a tombstone or a system message', async () => {
      const [a, b, outsider] = await kit.users(3);
      const direct = await kit.direct(a!, b!);
      await kit.send(direct, a!, 'helo', T0 + 1);
      const edit = await kit.store.editMessage({ ...at(direct, 1, a!), body: 'hello' });
      expect(edit.changed).toBe(true);
      expect(edit.message).toMatchObject({ seq: 1, body: 'hello', editedAt: iso(T0 + 100) });
      expect(sorted(edit.memberIds)).toEqual(sorted([a!.id, b!.id]));
      expect(await kit.store.getMessage(direct, 1)).toEqual(edit.message);
      const same = await kit.store.editMessage({ ...at(direct, 1, a!, T0 + 200), body: 'hello' });
      expect(same).toMatchObject({ changed: false, message: { editedAt: iso(T0 + 100) } });

      await expectCode(kit.store.editMessage({ ...at(direct, 1, b!), body: 'x' }), 'forbidden');
      await expectCode(
        kit.store.editMessage({ ...at(direct, 1, outsider!), body: 'x' }),
        'not_found',
      );
      await expectCode(kit.store.editMessage({ ...at(direct, 9, a!), body: 'x' }), 'not_found');

      await kit.store.block(b!.id, a!.id, T0);
      await expectCode(kit.store.editMessage({ ...at(direct, 1, a!), body: 'x' }), 'blocked');
      await kit.store.unblock(b!.id, a!.id);

      await kit.store.deleteMessage(at(direct, 1, a!));
      await expectCode(kit.store.editMessage({ ...at(direct, 1, a!), body: 'x' }), 'forbidden');
      const group = await kit.group(a!, [b!]);
      await expectCode(kit.store.editMessage({ ...at(group, 1, a!), body: 'x' }), 'forbidden');
    });

    it('deletes for everyone: own messages, and anyone’s for group admins', async () => {
      const [admin, b, c] = await kit.users(3);
      const group = await kit.group(admin!, [b!, c!]);
      await kit.send(group, b!, 'from b', T0 + 1); // 2
      await kit.send(group, c!, 'from c', T0 + 2); // 3
      await kit.send(group, admin!, 'from admin', T0 + 3); // 4
      await kit.store.setReaction({ ...at(group, 2, c!), emoji: '👍' });

      await expectCode(kit.store.deleteMessage(at(group, 3, b!)), 'forbidden');
      await expectCode(kit.store.deleteMessage(at(group, 4, b!)), 'forbidden');
      await expectCode(kit.store.deleteMessage(at(group, 1, admin!)), 'forbidden');
      const own = await kit.store.deleteMessage(at(group, 2, b!));
      expect(own.changed).toBe(true);
      expect(own.message).toMatchObject({
        seq: 2,
        senderId: b!.id,
        body: '',
        reactions: {},
        deletedAt: iso(T0 + 100),
      });
      expect((await kit.store.deleteMessage(at(group, 2, b!, T0 + 200))).changed).toBe(false);
      expect((await kit.store.getMessage(group, 2))!.deletedAt).toBe(iso(T0 + 100));
      expect((await kit.store.deleteMessage(at(group, 3, admin!))).message.body).toBe('');

      const page = await kit.store.history(group, c!.id, { limit: 10 });
      expect(page!.messages.map((m) => [m.seq, m.body])).toEqual([
        [1, ''],
        [2, ''],
        [3, ''],
        [4, 'from admin'],
      ]);
      await expectCode(kit.store.setReaction({ ...at(group, 2, c!), emoji: '👍' }), 'forbidden');

      const [x, y] = await kit.users(2);
      const direct = await kit.direct(x!, y!);
      await kit.send(direct, x!, 'mine', T0);
      await expectCode(kit.store.deleteMessage(at(direct, 1, y!)), 'forbidden');
    });

    it('keeps one reaction per person per message, replacing it', async () => {
      const [a, b, outsider] = await kit.users(3);
      const direct = await kit.direct(a!, b!);
      await kit.send(direct, a!, 'react to me', T0);
      const react = (user: User, emoji: string, now = T0 + 1) =>
        kit.store.setReaction({ ...at(direct, 1, user, now), emoji });

      expect(await react(b!, '👍')).toMatchObject({
        changed: true,
        message: { reactions: { '👍': [b!.id] } },
      });
      expect((await react(b!, '👍')).changed).toBe(false);
      expect((await react(a!, '👍', T0 + 2)).message.reactions).toEqual({ '👍': [b!.id, a!.id] });
      expect((await react(b!, '❤️', T0 + 3)).message.reactions).toEqual({
        '👍': [a!.id],
        '❤️': [b!.id],
      });
      const removed = await kit.store.removeReaction(at(direct, 1, a!));
      expect(removed).toMatchObject({ changed: true, message: { reactions: { '❤️': [b!.id] } } });
      expect((await kit.store.removeReaction(at(direct, 1, a!))).changed).toBe(false);
      await expectCode(react(outsider!, '👍'), 'not_found');
      await expectCode(kit.store.removeReaction(at(direct, 1, outsider!)), 'not_found');
      await expectCode(kit.store.setReaction({ ...at(direct, 5, a!), emoji: '👍' }), 'not_found');
    });

    it('hides seqs from before one’s join from every action', async () => {
      const [admin, late] = await kit.users(2);
      const group = await kit.group(admin!, []);
      await kit.send(group, admin!, 'before', T0 + 1); // 2
      await kit.store.addMembers({
        conversationId: group,
        actorId: admin!.id,
        userIds: [late!.id],
        now: T0 + 2,
        messageIds: [kit.id('m'), kit.id('m')],
      });
      await expectCode(kit.store.setReaction({ ...at(group, 2, late!), emoji: '👍' }), 'not_found');
      await expectCode(kit.store.removeReaction(at(group, 2, late!)), 'not_found');
      await expectCode(kit.store.deleteMessage(at(group, 2, late!)), 'not_found');
      await expectCode(kit.store.editMessage({ ...at(group, 2, late!), body: 'x' }), 'not_found');
    });

    it('tells of a change only members who may see the message, never a later joiner', async () => {
      const [admin, early, late] = await kit.users(3);
      const group = await kit.group(admin!, [early!]);
      await kit.send(group, early!, 'before', T0 + 1); // 2
      await kit.store.addMembers({
        conversationId: group,
        actorId: admin!.id,
        userIds: [late!.id],
        now: T0 + 2,
        messageIds: [kit.id('m'), kit.id('m')],
      }); // 3
      await kit.send(group, early!, 'after', T0 + 3); // 4
      const before = [admin!.id, early!.id];
      const everyone = [admin!.id, early!.id, late!.id];
      const changes = [
        await kit.store.setReaction({ ...at(group, 2, admin!), emoji: '👍' }),
        await kit.store.removeReaction(at(group, 2, admin!)),
        await kit.store.editMessage({ ...at(group, 2, early!), body: 'edited' }),
        await kit.store.deleteMessage(at(group, 2, early!)),
      ];
      for (const change of changes) {
        expect(change.changed).toBe(true);
        expect(sorted(change.memberIds)).toEqual(sorted(before));
      }
      const later = await kit.store.setReaction({ ...at(group, 4, admin!), emoji: '👍' });
      expect(sorted(later.memberIds)).toEqual(sorted(everyone));
      // The system message that added them is theirs to see: their join point.
      expect(
        sorted((await kit.store.editMessage({ ...at(group, 4, early!), body: 'x' })).memberIds),
      ).toEqual(sorted(everyone));
    });
  });
}

function describeSearch(kit: SuiteKit): void {
  describe('search', () => {
    const bodies = async (viewer: User, text: string, conversationId?: string) =>
      (await kit.store.search(viewer.id, { text, conversationId, limit: 20 }))!.map(
        (r) => r.message.body,
      );

    it('finds words by prefix, ignoring case and diacritics, with plain-text highlights', async () => {
      const [a, b] = await kit.users(2);
      const direct = await kit.direct(a!, b!);
      await kit.send(direct, a!, 'Meet me at the Café Zentral tomorrow', T0 + 1);
      await kit.send(direct, b!, 'Zentral station or the café?', T0 + 2);
      await kit.send(direct, b!, 'unrelated', T0 + 3);

      const results = await kit.store.search(a!.id, { text: 'cafe zent', limit: 20 });
      expect(results!.map((r) => r.message.seq).sort()).toEqual([1, 2]);
      const first = results!.find((r) => r.message.seq === 1)!;
      expect(first.conversationId).toBe(direct);
      expect(first.snippet).toBe('Meet me at the Café Zentral tomorrow');
      expect(first.highlights.map((h) => first.snippet.slice(h.start, h.start + h.length))).toEqual(
        ['Café', 'Zentral'],
      );
      expect(first.message).toEqual(await kit.store.getMessage(direct, 1));
      expect(await bodies(a!, 'tomorrow café')).toEqual(['Meet me at the Café Zentral tomorrow']);
      expect(await bodies(a!, 'nothing-like-this')).toEqual([]);
    });

    it('ranks better matches first and honours the limit', async () => {
      const [a, b] = await kit.users(2);
      const direct = await kit.direct(a!, b!);
      const word = kit.username('rank');
      await kit.send(direct, a!, `${word} once among many other words in a long message`, T0 + 1);
      await kit.send(direct, a!, `${word} ${word} ${word}`, T0 + 2);
      const results = await kit.store.search(a!.id, { text: word, limit: 20 });
      expect(results!.map((r) => r.message.seq)).toEqual([2, 1]);
      expect(await kit.store.search(a!.id, { text: word, limit: 1 })).toHaveLength(1);
    });

    it('searches only the viewer’s conversations, from their join on', async () => {
      const [admin, b, late, outsider] = await kit.users(4);
      const word = kit.username('secret');
      const group = await kit.group(admin!, [b!]);
      const other = await kit.direct(admin!, b!);
      await kit.send(group, b!, `${word} before`, T0 + 1);
      await kit.send(other, b!, `${word} elsewhere`, T0 + 2);
      await kit.store.addMembers({
        conversationId: group,
        actorId: admin!.id,
        userIds: [late!.id],
        now: T0 + 3,
        messageIds: [kit.id('m'), kit.id('m')],
      });
      await kit.send(group, b!, `${word} after`, T0 + 4);

      expect(sorted(await bodies(admin!, word))).toEqual(
        sorted([`${word} before`, `${word} elsewhere`, `${word} after`]),
      );
      expect(sorted(await bodies(admin!, word, group))).toEqual(
        sorted([`${word} before`, `${word} after`]),
      );
      expect(await bodies(late!, word)).toEqual([`${word} after`]);
      expect(await bodies(outsider!, word)).toEqual([]);
      expect(
        await kit.store.search(outsider!.id, { text: word, conversationId: group, limit: 5 }),
      ).toBeNull();
    });

    it('keeps the index right through edits and deletes', async () => {
      const [a, b] = await kit.users(2);
      const direct = await kit.direct(a!, b!);
      const [oldWord, newWord, goneWord] = [
        kit.username('old'),
        kit.username('new'),
        kit.username('gone'),
      ];
      await kit.send(direct, a!, `${oldWord} text`, T0 + 1);
      await kit.send(direct, a!, `${goneWord} text`, T0 + 2);
      await kit.store.editMessage({ ...at(direct, 1, a!), body: `${newWord} text` });
      await kit.store.deleteMessage(at(direct, 2, a!));
      expect(await bodies(b!, oldWord)).toEqual([]);
      expect(await bodies(b!, newWord)).toEqual([`${newWord} text`]);
      expect(await bodies(b!, goneWord)).toEqual([]);
      expect(
        (await kit.store.search(b!.id, { text: newWord, limit: 5 }))![0]!.message.editedAt,
      ).not.toBeNull();
    });

    it('leaves out one-letter words and refuses a query of only those', async () => {
      const [a, b] = await kit.users(2);
      const direct = await kit.direct(a!, b!);
      const word = kit.username('short');
      await kit.send(direct, a!, `${word} a b`, T0);
      expect(await bodies(a!, `a ${word} b`)).toEqual([`${word} a b`]);
      await expectCode(kit.store.search(a!.id, { text: 'a b', limit: 5 }), 'bad_request');
      await expectCode(kit.store.search(a!.id, { text: '"a"', limit: 5 }), 'bad_request');
      // No word at all is still no result, not an error.
      expect(await kit.store.search(a!.id, { text: '🙂 "', limit: 5 })).toEqual([]);
    });

    it('treats query syntax as text and never fails on it', async () => {
      const [a, b] = await kit.users(2);
      const direct = await kit.direct(a!, b!);
      const word = kit.username('syntax');
      await kit.send(direct, a!, `${word} AND "quoted" (paren) NEAR star*`, T0);
      for (const text of [
        '"',
        '""',
        '*',
        '(',
        ')',
        'NEAR(',
        'OR',
        'AND',
        'NOT',
        '-',
        '^',
        ':',
        '{ab cd}',
        `${word}"`,
        `"${word}`,
        `${word} OR nothing`,
        `body:${word}`,
        '\u0000',
        '🙂',
      ]) {
        const results = await kit.store.search(a!.id, { text, limit: 5 });
        expect(Array.isArray(results), text).toBe(true);
      }
      expect(await bodies(a!, `"${word}" "quoted"`)).toHaveLength(1);
      expect(await bodies(a!, `${word} NEAR star*`)).toHaveLength(1);
      expect(await bodies(a!, `${word} OR nothing`)).toEqual([]);
    });
  });
}

function describeAccounts(kit: SuiteKit): void {
  describe('account deletion', () => {
    it('frees the username, ends sessions, drops contacts and blocks, leaves groups', async () => {
      const username = kit.username('gone');
      const gone = await kit.store.createUser({
        id: kit.id('u'),
        username,
        displayName: 'Going',
        passwordHash: 'h',
        createdAt: T0,
      });
      const [friend, peer, member] = await kit.users(3);
      const session = kit.id('s');
      await kit.store.createSession({
        id: session,
        userId: gone.id,
        refreshHash: kit.id('r'),
        createdAt: T0,
        expiresAt: T0 + 1e9,
      });
      await kit.store.addContact(gone.id, friend!.id, T0);
      await kit.store.addContact(friend!.id, gone.id, T0);
      await kit.store.block(peer!.id, gone.id, T0);
      const direct = await kit.direct(gone, friend!);
      await kit.send(direct, gone, 'my last words', T0 + 1);
      const group = await kit.group(gone, [member!, friend!]);

      const prefix = kit.id('m');
      const deletion = await kit.store.deleteUser({
        userId: gone.id,
        now: T0 + 50,
        messageIdPrefix: prefix,
      });
      expect(deletion.revokedSessionIds).toEqual([session]);
      expect(deletion.directConversationIds).toEqual([direct]);
      expect(deletion.groupChanges).toHaveLength(1);
      const [change] = deletion.groupChanges;
      expect(change!.conversationId).toBe(group);
      expect(change!.removedUserIds).toEqual([gone.id]);
      expect(change!.messages.map((m) => [m.id.startsWith(`${prefix}.`), m.system!.kind])).toEqual([
        [true, 'left'],
        [true, 'promoted'],
      ]);
      expect(change!.messages[1]!.system!.actorId).toBeNull();

      expect((await kit.store.getSession(session))!.revokedAt).toBe(T0 + 50);
      expect(await kit.store.getUserByUsername(username)).toBeNull();
      const tombstone = await kit.store.getUser(gone.id);
      expect(tombstone).toMatchObject({
        id: gone.id,
        displayName: 'Deleted account',
        passwordHash: '',
        deletedAt: T0 + 50,
      });
      expect(tombstone!.username).not.toBe(username);
      expect(await kit.store.listContacts(friend!.id)).toEqual([]);
      expect(await kit.store.listBlocked(peer!.id)).toEqual([]);
      expect(await kit.store.searchUsers(tombstone!.username.slice(0, 5), 20, friend!.id)).toEqual(
        [],
      );
      expect(await kit.store.isMember(group, gone.id)).toBe(false);

      // The messages stay, from "Deleted account"; nobody can write to them any more.
      const view = await kit.store.getConversation(direct, friend!.id);
      expect(view!.title).toBe('Deleted account');
      expect((await kit.store.getMessage(direct, 1))!).toMatchObject({
        senderId: gone.id,
        body: 'my last words',
      });
      await expectCode(kit.send(direct, friend!), 'forbidden');
      await expectCode(kit.store.addContact(friend!.id, gone.id, T0), 'not_found');
      await expectCode(kit.store.openDirect(kit.id('c'), peer!.id, gone.id, T0), 'not_found');
      await expectCode(kit.group(friend!, [gone]), 'not_found');
      await expectCode(
        kit.store.addMembers({
          conversationId: group,
          actorId: change!.messages[1]!.system!.userIds[0]!,
          userIds: [gone.id],
          now: T0,
          messageIds: [kit.id('m'), kit.id('m')],
        }),
        'not_found',
      );
      await expectCode(
        kit.store.deleteUser({ userId: gone.id, now: T0, messageIdPrefix: kit.id('m') }),
        'not_found',
      );

      // The name is free again.
      const again = await kit.store.createUser({
        id: kit.id('u'),
        username,
        displayName: 'New owner',
        passwordHash: 'h',
        createdAt: T0 + 60,
      });
      expect((await kit.store.getUserByUsername(username))!.id).toBe(again.id);
    });

    it('lists what a user sent, without deleted messages, for their export', async () => {
      const [a, b] = await kit.users(2);
      const direct = await kit.direct(a!, b!);
      await kit.send(direct, a!, 'one', T0 + 1);
      await kit.send(direct, b!, 'not mine', T0 + 2);
      await kit.send(direct, a!, 'deleted', T0 + 3);
      await kit.send(direct, a!, 'three', T0 + 4);
      await kit.store.deleteMessage(at(direct, 3, a!));
      await kit.store.setReaction({ ...at(direct, 4, b!), emoji: '🎉' });
      const sent = await kit.store.sentMessages(a!.id, { limit: 100 });
      expect(sent).toEqual([
        await kit.store.getMessage(direct, 1),
        await kit.store.getMessage(direct, 4),
      ]);
      expect(sent[1]!.reactions).toEqual({ '🎉': [b!.id] });
      expect(await kit.store.sentMessages(kit.id('u'), { limit: 100 })).toEqual([]);
    });

    it('pages the sent messages by conversation and seq, reactions with their message', async () => {
      const [a, b, c] = await kit.users(3);
      const one = await kit.direct(a!, b!);
      const two = await kit.direct(a!, c!);
      for (const i of [1, 2, 3, 4]) {
        await kit.send(one, i % 2 ? a! : b!, `one ${i}`, T0 + i);
        await kit.send(two, a!, `two ${i}`, T0 + i);
      }
      await kit.store.setReaction({
        conversationId: two,
        seq: 2,
        userId: c!.id,
        now: T0,
        emoji: '👍',
      });
      const all = await kit.store.sentMessages(a!.id, { limit: 100 });
      expect(all).toHaveLength(6);
      const pages: Message[][] = [];
      let after: { conversationId: string; seq: number } | undefined;
      for (;;) {
        const page = await kit.store.sentMessages(a!.id, { limit: 4, after });
        if (page.length === 0) break;
        pages.push(page);
        after = { conversationId: page.at(-1)!.conversationId, seq: page.at(-1)!.seq };
      }
      expect(pages.map((page) => page.length)).toEqual([4, 2]);
      expect(pages.flat()).toEqual(all);
      expect(all.find((m) => m.conversationId === two && m.seq === 2)!.reactions).toEqual({
        '👍': [c!.id],
      });
    });
  });
}
