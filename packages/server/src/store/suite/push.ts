/** Conformance: Web Push subscriptions (store.ts, "Web Push"). */
import { describe, expect, it } from 'vitest';
import type { NewPushSubscription } from '../store.js';
import type { SuiteKit } from './helpers.js';
import { T0 } from './helpers.js';

export function describePushTests(kit: SuiteKit): void {
  describe('web push subscriptions', () => {
    const session = async (userId: string) => {
      const id = kit.id('s');
      await kit.store.createSession({
        id,
        userId,
        refreshHash: kit.id('r'),
        createdAt: T0,
        expiresAt: T0 + 60_000,
      });
      return id;
    };
    const sub = (userId: string, sessionId: string): NewPushSubscription => ({
      endpoint: `https://push.example/${kit.id('e')}`,
      sessionId,
      userId,
      p256dh: 'key',
      auth: 'secret',
    });
    const read = (s: NewPushSubscription, preview = true) => ({ ...s, preview });
    const endpoints = async (userIds: string[]) =>
      (await kit.store.pushSubscriptions(userIds)).map((s) => s.endpoint).sort();

    it('stores, lists by user and removes subscriptions', async () => {
      const [ann, bob] = await kit.users(2);
      const a = sub(ann!.id, await session(ann!.id));
      const b = sub(bob!.id, await session(bob!.id));
      expect(await kit.store.addPushSubscription(a, T0)).toBe(true);
      expect(await kit.store.addPushSubscription(b, T0)).toBe(true);
      expect(await kit.store.pushSubscriptions([ann!.id])).toEqual([read(a)]);
      expect(await endpoints([ann!.id, bob!.id])).toEqual([a.endpoint, b.endpoint].sort());
      expect(await kit.store.pushSubscriptions([])).toEqual([]);
      // Only the owning session removes its own.
      expect(await kit.store.removePushSubscription(b.sessionId, a.endpoint)).toBe(false);
      expect(await kit.store.removePushSubscription(a.sessionId, a.endpoint)).toBe(true);
      expect(await endpoints([ann!.id])).toEqual([]);
      await kit.store.deletePushEndpoint(b.endpoint);
      expect(await endpoints([bob!.id])).toEqual([]);
    });

    it('moves an endpoint subscribed again to the new session', async () => {
      const [ann, bob] = await kit.users(2);
      const first = sub(ann!.id, await session(ann!.id));
      await kit.store.addPushSubscription(first, T0);
      const again = { ...first, userId: bob!.id, sessionId: await session(bob!.id), auth: 'new' };
      expect(await kit.store.addPushSubscription(again, T0 + 1)).toBe(true);
      expect(await kit.store.pushSubscriptions([ann!.id])).toEqual([]);
      expect(await kit.store.pushSubscriptions([bob!.id])).toEqual([read(again)]);
    });

    it('keeps the per-user "show message text" setting, on by default', async () => {
      const [ann, bob] = await kit.users(2);
      const a = sub(ann!.id, await session(ann!.id));
      await kit.store.addPushSubscription(a, T0);
      expect(await kit.store.pushPreview(ann!.id)).toBe(true);
      await kit.store.setPushPreview(ann!.id, false);
      await kit.store.setPushPreview(ann!.id, false);
      expect(await kit.store.pushPreview(ann!.id)).toBe(false);
      expect(await kit.store.pushPreview(bob!.id)).toBe(true);
      expect(await kit.store.pushSubscriptions([ann!.id])).toEqual([read(a, false)]);
      await kit.store.setPushPreview(ann!.id, true);
      expect(await kit.store.pushSubscriptions([ann!.id])).toEqual([read(a)]);
    });

    it('refuses a revoked session and drops subscriptions when a session is revoked', async () => {
      const user = await kit.user();
      const [s1, s2, s3] = [await session(user.id), await session(user.id), await session(user.id)];
      const [a, b, c] = [sub(user.id, s1), sub(user.id, s2), sub(user.id, s3)];
      for (const s of [a, b, c]) expect(await kit.store.addPushSubscription(s, T0)).toBe(true);
      await kit.store.revokeSession(s1, T0 + 1);
      expect(await endpoints([user.id])).toEqual([b.endpoint, c.endpoint].sort());
      expect(await kit.store.addPushSubscription(sub(user.id, s1), T0 + 2)).toBe(false);
      // A password change: every session but the current one.
      await kit.store.revokeUserSessions(user.id, T0 + 3, s3);
      expect(await endpoints([user.id])).toEqual([c.endpoint]);
      // The row went, not only out of the listing: a new live session may not see it again.
      expect(await kit.store.removePushSubscription(s2, b.endpoint)).toBe(false);
      // A subscription names its own user: another user's session is refused.
      const other = await kit.user();
      expect(await kit.store.addPushSubscription(sub(other.id, s3), T0 + 4)).toBe(false);
    });

    it('drops every subscription of a deleted account', async () => {
      const user = await kit.user();
      await kit.store.addPushSubscription(sub(user.id, await session(user.id)), T0);
      await kit.store.deleteUser({ userId: user.id, now: T0 + 1, messageIdPrefix: kit.id('m') });
      expect(await kit.store.pushSubscriptions([user.id])).toEqual([]);
    });
  });
}

export function describeMentionTests(kit: SuiteKit): void {
  describe('mentions', () => {
    it('keeps the members a group message mentions, and counts them unread per member', async () => {
      const [ann, bob, cat, out] = await kit.users(4);
      const group = await kit.group(ann!, [bob!, cat!]);
      const mentions = [bob!.id, out!.id, ann!.id, bob!.id];
      const { message } = await kit.send(group, ann!, '@bob @out @ann', T0 + 1, { mentions });
      // Members only, never the sender, each once.
      expect(message.mentions).toEqual([bob!.id]);
      const page = await kit.store.history(group, cat!.id, { limit: 10 });
      expect(page!.messages.at(-1)!.mentions).toEqual([bob!.id]);
      const plain = await kit.send(group, ann!, 'no one', T0 + 2);
      expect(plain.message.mentions).toBeUndefined();
      expect((await kit.store.getConversation(group, bob!.id))!.unreadMentions).toBe(1);
      expect((await kit.store.getConversation(group, cat!.id))!.unreadMentions).toBeUndefined();
      const [listed] = await kit.store.listConversations(bob!.id, { limit: 1 });
      expect(listed!.unreadMentions).toBe(1);
      await kit.store.advancePosition(group, bob!.id, 'read', message.seq, T0 + 3);
      expect((await kit.store.getConversation(group, bob!.id))!.unreadMentions).toBeUndefined();
    });

    it('keeps none in a direct conversation, and drops a deleted message from the count', async () => {
      const [ann, bob, cat] = await kit.users(3);
      const direct = await kit.direct(ann!, bob!);
      const sent = await kit.send(direct, ann!, '@bob', T0, { mentions: [bob!.id] });
      expect(sent.message.mentions).toBeUndefined();
      const group = await kit.group(ann!, [bob!, cat!]);
      const { message } = await kit.send(group, ann!, '@bob', T0 + 1, { mentions: [bob!.id] });
      await kit.store.deleteMessage({
        conversationId: group,
        seq: message.seq,
        userId: ann!.id,
        now: T0 + 2,
      });
      expect((await kit.store.getConversation(group, bob!.id))!.unreadMentions).toBeUndefined();
    });
  });
}
