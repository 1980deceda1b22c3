/**
 * The conformance suite every Store implementation runs (sqlite/sqlite.test.ts, later postgres/postgres.test.ts).
 * It tests the contract in store.ts through the public interface only; anything specific to one
 * engine (files, pragmas, batching) belongs in that engine's own test file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeActionTests } from './actions.js';
import { describeConversationTests } from './conversations.js';
import { describeFileTests } from './files.js';
import { describeAttachmentTests } from './attachments.js';
import { describeGroupTests } from './groups.js';
import { describePruneTests } from './prune.js';
import { describeMentionTests, describePushTests } from './push.js';
import { SuiteKit, T0, expectCode, iso, sorted, type OpenStore } from './helpers.js';

export type { OpenStore };

export function describeStore(name: string, open: OpenStore): void {
  describe(`Store conformance: ${name}`, () => {
    const kit = new SuiteKit();
    let cleanup: (() => Promise<void>) | undefined;

    beforeAll(async () => {
      const opened = await open();
      kit.store = opened.store;
      cleanup = opened.cleanup;
    });
    afterAll(async () => {
      await cleanup?.();
    });

    describe('lifecycle', () => {
      it('answers ping and migrates idempotently', async () => {
        await kit.store.ping();
        await kit.store.migrate();
        await kit.store.migrate();
      });
    });

    describeUserTests(kit);
    describeSessionTests(kit);
    describePruneTests(kit);
    describeContactTests(kit);
    describeConversationTests(kit);
    describeGroupTests(kit);
    describeActionTests(kit);
    describePushTests(kit);
    describeMentionTests(kit);
    describeFileTests(kit);
    describeAttachmentTests(kit);
  });
}

function describeUserTests(kit: SuiteKit): void {
  describe('users', () => {
    it('creates a user and finds it by id and by username', async () => {
      const id = kit.id('u');
      const username = kit.username('ann');
      const user = await kit.store.createUser({
        id,
        username,
        displayName: 'Ann',
        passwordHash: 'h1',
        createdAt: T0,
      });
      expect(user).toEqual({ id, username, displayName: 'Ann' });
      const record = {
        ...user,
        passwordHash: 'h1',
        createdAt: T0,
        lastSeenAt: null,
        deletedAt: null,
      };
      expect(await kit.store.getUser(id)).toEqual(record);
      expect(await kit.store.getUserByUsername(username)).toEqual(record);
      expect(await kit.store.getUser(kit.id('u'))).toBeNull();
      expect(await kit.store.getUserByUsername(kit.username('nobody'))).toBeNull();
    });

    it('refuses a username taken in any letter case', async () => {
      const username = kit.username('case');
      await kit.store.createUser({
        id: kit.id('u'),
        username,
        displayName: 'First',
        passwordHash: 'h',
        createdAt: T0,
      });
      for (const clash of [username, username.toUpperCase()]) {
        await expectCode(
          kit.store.createUser({
            id: kit.id('u'),
            username: clash,
            displayName: 'Second',
            passwordHash: 'h',
            createdAt: T0,
          }),
          'username_taken',
        );
      }
    });

    it('gets several users by id, skipping unknown ids and duplicates', async () => {
      const [a, b] = await kit.users(2);
      const users = await kit.store.getUsers([b!.id, kit.id('u'), a!.id, b!.id]);
      expect(users).toEqual([b, a]);
      expect(await kit.store.getUsers([])).toEqual([]);
    });

    it('searches usernames by prefix, ordered, limited, without the caller', async () => {
      const prefix = kit.username('srch');
      const made = [];
      for (const suffix of ['c', 'a', 'b']) {
        made.push(
          await kit.store.createUser({
            id: kit.id('u'),
            username: `${prefix}${suffix}`,
            displayName: suffix,
            passwordHash: 'h',
            createdAt: T0,
          }),
        );
      }
      const [c, a, b] = made;
      expect(await kit.store.searchUsers(prefix, 20, kit.id('u'))).toEqual([a, b, c]);
      expect(await kit.store.searchUsers(prefix.toUpperCase(), 20, b!.id)).toEqual([a, c]);
      expect(await kit.store.searchUsers(prefix, 2, c!.id)).toEqual([a, b]);
      expect(await kit.store.searchUsers(`${prefix}z`, 20, a!.id)).toEqual([]);
    });

    it('updates display name, password hash and last seen', async () => {
      const user = await kit.user('Old');
      expect(await kit.store.updateDisplayName(user.id, 'New')).toEqual({
        ...user,
        displayName: 'New',
      });
      await kit.store.updatePasswordHash(user.id, 'h2');
      await kit.store.setLastSeen(user.id, T0 + 5);
      expect(await kit.store.getUser(user.id)).toMatchObject({
        displayName: 'New',
        passwordHash: 'h2',
        lastSeenAt: T0 + 5,
      });
      await expectCode(kit.store.updateDisplayName(kit.id('u'), 'X'), 'not_found');
    });
  });
}

function describeSessionTests(kit: SuiteKit): void {
  describe('sessions and refresh tokens', () => {
    const session = async (userId: string, expiresAt = T0 + 60_000) => {
      const id = kit.id('s');
      const refreshHash = kit.id('r');
      await kit.store.createSession({ id, userId, refreshHash, createdAt: T0, expiresAt });
      return { id, refreshHash };
    };

    it('creates and reads a session', async () => {
      const user = await kit.user();
      const { id } = await session(user.id);
      expect(await kit.store.getSession(id)).toEqual({
        id,
        userId: user.id,
        createdAt: T0,
        revokedAt: null,
      });
      expect(await kit.store.getSession(kit.id('s'))).toBeNull();
    });

    it('rotates, and a spent token revokes the whole session', async () => {
      const user = await kit.user();
      const { id, refreshHash: r1 } = await session(user.id);
      const [r2, r3, r4] = [kit.id('r'), kit.id('r'), kit.id('r')];
      const live = { id, userId: user.id, createdAt: T0, revokedAt: null };

      expect(await kit.store.rotateRefreshToken(r1, r2, T0 + 1, T0 + 90_000)).toEqual({
        kind: 'rotated',
        session: live,
      });
      expect(await kit.store.rotateRefreshToken(r2, r3, T0 + 2, T0 + 90_000)).toEqual({
        kind: 'rotated',
        session: live,
      });
      // r1 again: someone holds a copy of an old token.
      expect(await kit.store.rotateRefreshToken(r1, r4, T0 + 3, T0 + 90_000)).toEqual({
        kind: 'reuse',
        sessionId: id,
        userId: user.id,
      });
      expect((await kit.store.getSession(id))?.revokedAt).toBe(T0 + 3);
      // The legitimate newest token died with the session, and r4 was never stored.
      expect(await kit.store.rotateRefreshToken(r3, kit.id('r'), T0 + 4, T0 + 90_000)).toEqual({
        kind: 'invalid',
      });
      expect(await kit.store.rotateRefreshToken(r4, kit.id('r'), T0 + 4, T0 + 90_000)).toEqual({
        kind: 'invalid',
      });
    });

    it('refuses unknown and expired tokens without revoking', async () => {
      const user = await kit.user();
      expect(await kit.store.rotateRefreshToken(kit.id('r'), kit.id('r'), T0, T0 + 1)).toEqual({
        kind: 'invalid',
      });
      const { id, refreshHash } = await session(user.id, T0 + 10);
      expect(
        await kit.store.rotateRefreshToken(refreshHash, kit.id('r'), T0 + 10, T0 + 99),
      ).toEqual({ kind: 'invalid' });
      expect((await kit.store.getSession(id))?.revokedAt).toBeNull();
    });

    it('revokes one session, after which its token is invalid', async () => {
      const user = await kit.user();
      const { id, refreshHash } = await session(user.id);
      await kit.store.revokeSession(id, T0 + 7);
      await kit.store.revokeSession(id, T0 + 8);
      expect((await kit.store.getSession(id))?.revokedAt).toBe(T0 + 7);
      expect(await kit.store.rotateRefreshToken(refreshHash, kit.id('r'), T0 + 9, T0 + 99)).toEqual(
        { kind: 'invalid' },
      );
    });

    it('revokes every live session of a user but one', async () => {
      const [user, other] = await kit.users(2);
      const [s1, s2, s3] = [
        await session(user!.id),
        await session(user!.id),
        await session(user!.id),
      ];
      const foreign = await session(other!.id);
      await kit.store.revokeSession(s3.id, T0 + 1);

      expect(await kit.store.revokeUserSessions(user!.id, T0 + 2, s1.id)).toEqual([s2.id]);
      expect((await kit.store.getSession(s1.id))?.revokedAt).toBeNull();
      expect((await kit.store.getSession(s2.id))?.revokedAt).toBe(T0 + 2);
      expect((await kit.store.getSession(s3.id))?.revokedAt).toBe(T0 + 1);
      expect((await kit.store.getSession(foreign.id))?.revokedAt).toBeNull();

      expect(await kit.store.revokeUserSessions(user!.id, T0 + 3)).toEqual([s1.id]);
      expect(await kit.store.revokeUserSessions(user!.id, T0 + 4)).toEqual([]);
    });
  });
}

function describeContactTests(kit: SuiteKit): void {
  describe('contacts, blocks and presence audience', () => {
    it('adds contacts idempotently, lists and removes them', async () => {
      const [owner, b, c] = await kit.users(3);
      expect(await kit.store.addContact(owner!.id, b!.id, T0)).toBe(true);
      expect(await kit.store.addContact(owner!.id, b!.id, T0 + 1)).toBe(false);
      expect(await kit.store.addContact(owner!.id, c!.id, T0)).toBe(true);
      await kit.store.setLastSeen(b!.id, T0 + 40);
      await kit.store.setLastSeen(c!.id, T0 + 50);
      // c added the owner back; b did not, so b's last seen time stays hidden.
      await kit.store.addContact(c!.id, owner!.id, T0);

      const contacts = await kit.store.listContacts(owner!.id);
      expect(sorted(contacts.map((k) => k.user.id))).toEqual(sorted([b!.id, c!.id]));
      expect(contacts.find((k) => k.user.id === b!.id)).toEqual({
        user: b,
        lastSeenAt: null,
        presenceVisible: false,
      });
      expect(contacts.find((k) => k.user.id === c!.id)).toEqual({
        user: c,
        lastSeenAt: iso(T0 + 50),
        presenceVisible: true,
      });
      expect(await kit.store.listContacts(b!.id)).toEqual([]);

      await kit.store.removeContact(owner!.id, b!.id);
      await kit.store.removeContact(owner!.id, b!.id);
      expect((await kit.store.listContacts(owner!.id)).map((k) => k.user.id)).toEqual([c!.id]);
      // A block either way hides it again, and so does a conversation shared with a blocker.
      await kit.direct(owner!, c!);
      await kit.store.block(c!.id, owner!.id, T0);
      expect(await kit.store.listContacts(owner!.id)).toEqual([
        { user: c, lastSeenAt: null, presenceVisible: false },
      ]);
      await expectCode(kit.store.addContact(owner!.id, kit.id('u'), T0), 'not_found');
    });

    it('blocks either way, idempotently, and unblocks', async () => {
      const [a, b, c] = await kit.users(3);
      await kit.store.block(a!.id, b!.id, T0);
      await kit.store.block(a!.id, b!.id, T0 + 1);
      expect(await kit.store.listBlocked(a!.id)).toEqual([b]);
      expect(await kit.store.listBlocked(b!.id)).toEqual([]);
      expect(await kit.store.isBlockedEitherWay(a!.id, b!.id)).toBe(true);
      expect(await kit.store.isBlockedEitherWay(b!.id, a!.id)).toBe(true);
      expect(await kit.store.isBlockedEitherWay(a!.id, c!.id)).toBe(false);

      await kit.store.unblock(a!.id, b!.id);
      expect(await kit.store.isBlockedEitherWay(b!.id, a!.id)).toBe(false);
      expect(await kit.store.listBlocked(a!.id)).toEqual([]);
    });

    it('lists as presence audience mutual contacts and every co-member, once each, minus blocks', async () => {
      const [user, mutual, fan, ownContact, peer, g1, g2, stranger, blocker, blockee] =
        await kit.users(10);
      await kit.store.addContact(mutual!.id, user!.id, T0);
      await kit.store.addContact(user!.id, mutual!.id, T0);
      // Adding someone one way shows nothing, whichever side added.
      await kit.store.addContact(fan!.id, user!.id, T0);
      await kit.store.addContact(user!.id, ownContact!.id, T0);
      await kit.direct(user!, peer!);
      await kit.group(g1!, [user!, g2!, fan!, blocker!, blockee!]);
      await kit.direct(stranger!, peer!);
      // Blocks either way remove co-members and mutual contacts alike.
      await kit.store.addContact(blocker!.id, user!.id, T0);
      await kit.store.addContact(user!.id, blocker!.id, T0);
      await kit.store.block(blocker!.id, user!.id, T0);
      await kit.store.block(user!.id, blockee!.id, T0);

      const audience = await kit.store.presenceAudience(user!.id);
      expect(sorted(audience)).toEqual(sorted([mutual!.id, peer!.id, g1!.id, g2!.id, fan!.id]));
      expect(await kit.store.presenceAudience(stranger!.id)).toEqual([peer!.id]);
      expect(await kit.store.presenceAudience(ownContact!.id)).toEqual([]);

      // The same rule, asked one pair at a time.
      for (const viewer of [mutual, peer, g1, g2, fan])
        expect(await kit.store.canSeePresence(viewer!.id, user!.id)).toBe(true);
      for (const viewer of [ownContact, stranger, blocker, blockee])
        expect(await kit.store.canSeePresence(viewer!.id, user!.id)).toBe(false);
      expect(await kit.store.canSeePresence(user!.id, ownContact!.id)).toBe(false);
      expect(await kit.store.canSeePresence(user!.id, blocker!.id)).toBe(false);

      expect(sorted(await kit.store.blockPeers(user!.id))).toEqual(
        sorted([blocker!.id, blockee!.id]),
      );
      expect(await kit.store.blockPeers(stranger!.id)).toEqual([]);
    });
  });
}
