/**
 * Web Push subscriptions in PostgreSQL: the shared builders (shared/queries.ts) run as they are.
 * A subscription inserted while its session is being revoked may outlive the revocation's
 * trigger; `pushSubscriptions` reads only live sessions', and the sweeper's session prune takes
 * the row with its session (ON DELETE CASCADE).
 */
import { sql } from 'kysely';
import type { NewPushSubscription, PushSubscriptionRecord } from '../store.js';
import type { Db } from './db.js';
import {
  deletePushEndpoint,
  deleteSessionPushSubscription,
  pushPreviewOf,
  upsertPushPreview,
  pushSubscriptionsOf,
  upsertPushSubscription,
} from '../shared/queries.js';
import { toPushSubscription } from '../shared/rows.js';

export class PostgresPush {
  constructor(private readonly db: Db) {}

  async addPushSubscription(sub: NewPushSubscription, now: number): Promise<boolean> {
    const result = await upsertPushSubscription(this.db, { ...sub, now }).executeTakeFirst();
    return result.numInsertedOrUpdatedRows === 1n;
  }

  async removePushSubscription(sessionId: string, endpoint: string): Promise<boolean> {
    const result = await deleteSessionPushSubscription(this.db, {
      sessionId,
      endpoint,
    }).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async pushPreview(userId: string): Promise<boolean> {
    const row = await pushPreviewOf(this.db, { userId }).executeTakeFirst();
    return (row?.preview ?? 1) === 1;
  }

  async setPushPreview(userId: string, preview: boolean): Promise<void> {
    await upsertPushPreview(this.db, { userId, preview: preview ? 1 : 0 }).execute();
  }

  async deletePushEndpoint(endpoint: string): Promise<void> {
    await deletePushEndpoint(this.db, { endpoint }).execute();
  }

  async pushSubscriptions(userIds: string[]): Promise<PushSubscriptionRecord[]> {
    if (userIds.length === 0) return [];
    const ids = sql<string>`(SELECT unnest(${userIds}::text[]))`;
    const rows = await pushSubscriptionsOf(this.db, ids).execute();
    return rows.map(toPushSubscription);
  }
}
