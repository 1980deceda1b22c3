/** The conformance suite, part four: pruning (Store.prune, rules in shared/prune.ts). */
import { describe, expect, it } from 'vitest';
import type { PruneCounts, PruneCutoffs } from '../store.js';
import type { SuiteKit } from './helpers.js';
import { T0, iso } from './helpers.js';

const DAY = 24 * 3600 * 1000;

export function describePruneTests(kit: SuiteKit): void {
  /** Prunes in batches of `limit` until a batch comes back short, as the sweeper does. */
  const pruneAll = async (cutoffs: Omit<PruneCutoffs, 'limit'>, limit = 2) => {
    const total: PruneCounts = { sessions: 0, refreshTokens: 0, positionLog: 0 };
    for (;;) {
      const counts = await kit.store.prune({ ...cutoffs, limit });
      // At most `limit` sessions (each with all its tokens) and `limit` position moves a call.
      expect(counts.sessions).toBeLessThanOrEqual(limit);
      expect(counts.positionLog).toBeLessThanOrEqual(limit);
      for (const key of Object.keys(total) as (keyof PruneCounts)[]) total[key] += counts[key];
      if (counts.sessions < limit && counts.positionLog < limit) return total;
    }
  };

  describe('pruning', () => {
    it('deletes dead sessions with all their tokens; a live one keeps its spent tokens', async () => {
      const user = await kit.user();
      const now = T0 + 10 * DAY;
      const session = async (createdAt: number, expiresAt: number) => {
        const id = kit.id('s');
        const refreshHash = kit.id('r');
        await kit.store.createSession({ id, userId: user.id, refreshHash, createdAt, expiresAt });
        return { id, refreshHash };
      };
      const live = await session(T0, now + DAY);
      const [r2, r3] = [kit.id('r'), kit.id('r')];
      await kit.store.rotateRefreshToken(live.refreshHash, r2, T0 + 1, now + DAY);
      await kit.store.rotateRefreshToken(r2, r3, T0 + 2, now + DAY);
      const revoked = await session(T0, now + DAY);
      await kit.store.revokeSession(revoked.id, T0 + 3);
      const idle = await session(T0, now - 1);
      const tooOld = await session(now - 91 * DAY, now + DAY);

      const counts = await pruneAll({
        now,
        sessionsCreatedBefore: now - 90 * DAY,
        positionLogBefore: 0,
      });
      expect(counts.sessions).toBeGreaterThanOrEqual(3);
      expect(counts.refreshTokens).toBeGreaterThanOrEqual(3);
      expect(counts.positionLog).toBe(0);

      for (const dead of [revoked, idle, tooOld]) {
        expect(await kit.store.getSession(dead.id)).toBeNull();
        // Its tokens went with it: nothing left to exchange, nothing to call reuse.
        expect(
          await kit.store.rotateRefreshToken(dead.refreshHash, kit.id('r'), now, now + DAY),
        ).toEqual({ kind: 'invalid' });
      }
      expect(await kit.store.getSession(live.id)).toMatchObject({ id: live.id, revokedAt: null });
      // Reuse detection still works on the live session: its first token was kept.
      expect(
        await kit.store.rotateRefreshToken(live.refreshHash, kit.id('r'), now, now + DAY),
      ).toEqual({ kind: 'reuse', sessionId: live.id, userId: user.id });
      // Now revoked, it goes at the next sweep.
      await pruneAll({ now, sessionsCreatedBefore: now - 90 * DAY, positionLogBefore: 0 });
      expect(await kit.store.getSession(live.id)).toBeNull();
    });

    it('drops old position moves but the newest of each member and kind: receipts stay true', async () => {
      const [a, b] = await kit.users(2);
      const old = T0 - 100 * DAY;
      const recent = T0 - DAY;
      const conversationId = await kit.group(a!, [b!], old);
      await kit.send(conversationId, a!, 'seq 2', old + 1);
      await kit.store.advancePosition(conversationId, b!.id, 'delivered', 2, old + 2);
      await kit.store.advancePosition(conversationId, b!.id, 'read', 2, old + 3);
      await kit.send(conversationId, a!, 'seq 3', old + 4);
      await kit.store.advancePosition(conversationId, b!.id, 'read', 3, old + 5);
      await kit.send(conversationId, a!, 'seq 4', recent);
      await kit.store.advancePosition(conversationId, b!.id, 'delivered', 4, recent + 1);
      const receiptOfB = async (seq: number) => {
        const receipt = (await kit.store.receipts(conversationId, seq, a!.id))!.find(
          (r) => r.userId === b!.id,
        );
        return [receipt?.deliveredAt, receipt?.readAt];
      };
      expect(await receiptOfB(2)).toEqual([iso(old + 2), iso(old + 3)]);

      const counts = await pruneAll({
        now: T0,
        sessionsCreatedBefore: 0,
        positionLogBefore: T0 - 50 * DAY,
      });
      // b's delivered at 2 and read at 2 went (each had a newer move of its kind).
      expect(counts.positionLog).toBeGreaterThanOrEqual(2);

      // Still delivered and read; the time is that of the oldest move kept past it.
      expect(await receiptOfB(2)).toEqual([iso(old + 5), iso(old + 5)]);
      expect(await receiptOfB(3)).toEqual([iso(old + 5), iso(old + 5)]);
      expect(await receiptOfB(4)).toEqual([iso(recent + 1), null]);
      // Positions themselves are members' columns, untouched.
      const [view] = await kit.store.conversationViews(conversationId, [b!.id]);
      expect(view?.conversation).toMatchObject({ readSeq: 3 });
    });
  });
}
