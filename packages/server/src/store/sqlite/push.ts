/**
 * Web Push subscriptions in SQLite: the shared builders (shared/queries.ts), prepared once.
 */
import { sql } from 'kysely';
import type { NewPushSubscription, PushSubscriptionRecord } from '../store.js';
import { prepare, qb, type Db } from './db.js';
import {
  deletePushEndpoint,
  deleteSessionPushSubscription,
  pushPreviewOf,
  upsertPushPreview,
  pushSubscriptionsOf,
  upsertPushSubscription,
  type PushSubscriptionInput,
} from '../shared/queries.js';
import { toPushSubscription } from '../shared/rows.js';

function pushQueries(db: Db) {
  return {
    upsert: prepare(db, (p: PushSubscriptionInput) => upsertPushSubscription(qb, p)),
    removeOwn: prepare(db, (p: { sessionId: string; endpoint: string }) =>
      deleteSessionPushSubscription(qb, p),
    ),
    removeEndpoint: prepare(db, (p: { endpoint: string }) => deletePushEndpoint(qb, p)),
    insertMention: prepare(db, (p: { conversationId: string; userId: string; seq: number }) =>
      qb
        .insertInto('mentions')
        .values({ conversation_id: p.conversationId, user_id: p.userId, seq: p.seq })
        .onConflict((oc) => oc.doNothing()),
    ),
    preview: prepare(db, (p: { userId: string }) => pushPreviewOf(qb, p)),
    setPreview: prepare(db, (p: { userId: string; preview: 0 | 1 }) => upsertPushPreview(qb, p)),
    /** `userIds`: a JSON array. */
    ofUsers: prepare(db, (p: { userIds: string }) =>
      pushSubscriptionsOf(qb, sql<string>`(SELECT value FROM json_each(${p.userIds}))`),
    ),
  };
}

export class SqlitePush {
  private readonly q: ReturnType<typeof pushQueries>;

  constructor(db: Db) {
    this.q = pushQueries(db);
  }

  addPushSubscription(sub: NewPushSubscription, now: number): boolean {
    return this.q.upsert.run({ ...sub, now }).changes > 0;
  }

  removePushSubscription(sessionId: string, endpoint: string): boolean {
    return this.q.removeOwn.run({ sessionId, endpoint }).changes > 0;
  }

  /** A row for counting unread mentions (appendMessage, in its transaction). */
  insertMention(p: { conversationId: string; userId: string; seq: number }): void {
    this.q.insertMention.run(p);
  }

  pushPreview(userId: string): boolean {
    return (this.q.preview.get({ userId })?.preview ?? 1) === 1;
  }

  setPushPreview(userId: string, preview: boolean): void {
    this.q.setPreview.run({ userId, preview: preview ? 1 : 0 });
  }

  deletePushEndpoint(endpoint: string): void {
    this.q.removeEndpoint.run({ endpoint });
  }

  pushSubscriptions(userIds: string[]): PushSubscriptionRecord[] {
    if (userIds.length === 0) return [];
    return this.q.ofUsers.all({ userIds: JSON.stringify(userIds) }).map(toPushSubscription);
  }
}
