/**
 * Statements of the append path (sqlite/append.ts): loading a conversation's state once, the
 * insert-first message row, and the once-per-batch writes of seqs and positions.
 */
import { sql } from 'kysely';
import { prepare, qb, type Db } from './db.js';
import { sendersBetween } from '../shared/queries.js';
import { messageValues, type MessagesTable } from '../shared/tables.js';

type Conv = { conversationId: string };

export function createAppendQueries(db: Db) {
  return {
    conversation: prepare(db, (p: Conv) =>
      qb
        .selectFrom('conversations')
        .select(['kind', 'last_seq', 'members_version'])
        .where('id', '=', p.conversationId),
    ),
    /** In the order of `memberIds` (queries.ts): the order a MemberSet lists them in. */
    members: prepare(db, (p: Conv) =>
      qb
        .selectFrom('members')
        .select(['user_id', 'role', 'read_seq', 'delivered_seq', 'join_seq'])
        .where('conversation_id', '=', p.conversationId)
        .orderBy('join_seq')
        .orderBy('joined_at')
        .orderBy('user_id'),
    ),
    /** The peer of a direct conversation: deleted or not, and whether either blocked the other. */
    peer: prepare(db, (p: { peerId: string; userId: string }) => ({
      compile: () =>
        sql<{ deleted_at: number | null; blocked: 0 | 1 }>`SELECT u.deleted_at,
              (EXISTS (SELECT 1 FROM blocks WHERE blocker_id = ${p.userId} AND blocked_id = ${p.peerId})
               OR EXISTS (SELECT 1 FROM blocks WHERE blocker_id = ${p.peerId} AND blocked_id = ${p.userId})
              ) AS blocked
            FROM users u WHERE u.id = ${p.peerId}`.compile(qb),
    })),
    /** Who sent the messages in (from, to] (queries.ts). */
    sendersBetween: prepare(db, (p: Conv & { from: number; to: number }) =>
      sendersBetween(qb, p.conversationId, p.from, p.to),
    ),
    /** A user's message: the unique index refused a send, so it is a retry. */
    existing: prepare(db, (p: { senderId: string; clientMsgId: string }) =>
      qb
        .selectFrom('messages')
        .select(['conversation_id', 'seq'])
        .where('sender_id', '=', p.senderId)
        .where('client_msg_id', '=', p.clientMsgId),
    ),
    /** Insert-first: a retry of a committed send inserts nothing (`changes` 0). */
    insertSend: prepare(db, (p: MessagesTable) =>
      qb
        .insertInto('messages')
        .values(messageValues(p))
        .onConflict((oc) => oc.columns(['sender_id', 'client_msg_id']).doNothing()),
    ),
    /** The batch's last seq of a conversation (the cache already knows it). */
    setLastSeq: prepare(db, (p: Conv & { seq: number; now: number }) =>
      qb
        .updateTable('conversations')
        .set({
          last_seq: p.seq,
          last_activity_at: sql<number>`max(last_activity_at, ${p.now})`,
        })
        .where('id', '=', p.conversationId),
    ),
  };
}

export type AppendQueries = ReturnType<typeof createAppendQueries>;
