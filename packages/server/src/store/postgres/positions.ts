/**
 * Delivered and read positions for the PostgreSQL store, and the receipts built from their log.
 * A position moves inside a transaction that holds the member row (FOR UPDATE), so two moves of
 * one member's position queue and neither ever goes back.
 */
import type { Receipt, ReceiptKind } from '@letter/protocol';
import {
  joinPoints,
  looksUpSenders,
  ownMoveIsLogged,
  positionMove,
  receiptAudience,
  toReceipt,
} from '../shared/rules.js';
import { sendersBetween } from '../shared/queries.js';
import type { PositionResult } from '../store.js';
import { readTx, writeTx, type Db } from './db.js';
import { membershipOf } from './views.js';

export function advancePosition(
  db: Db,
  conversationId: string,
  userId: string,
  kind: ReceiptKind,
  seq: number,
  now: number,
): Promise<PositionResult | null> {
  return writeTx(db, async (tx) => {
    const member = await tx
      .selectFrom('members as m')
      .innerJoin('conversations as c', 'c.id', 'm.conversation_id')
      .select(['m.read_seq', 'm.delivered_seq', 'c.last_seq'])
      .where('m.conversation_id', '=', conversationId)
      .where('m.user_id', '=', userId)
      .forUpdate('m')
      .executeTakeFirst();
    if (!member) return null;
    const move = positionMove(member, kind, seq);
    const { readSeq, deliveredSeq, log, moved } = move;
    if (log) await logPosition(tx, conversationId, userId, log.kind, log.seq, now);
    if (move.write) await setPositions(tx, conversationId, userId, readSeq, deliveredSeq);
    const newSeq = move.seq;
    if (!moved) return { seq: newSeq, changed: false, audience: [] };
    const members = await tx
      .selectFrom('members')
      .select(['user_id', 'join_seq'])
      .where('conversation_id', '=', conversationId)
      .execute();
    let senders: Set<string | null> | null = null;
    if (looksUpSenders(members.length, move.from, newSeq)) {
      const rows = await sendersBetween(tx, conversationId, move.from, newSeq).execute();
      senders = new Set(rows.map((row) => row.sender_id));
    }
    return {
      seq: newSeq,
      changed: true,
      audience: receiptAudience(joinPoints(members), userId, newSeq, senders),
    };
  });
}

/**
 * The sender has seen everything up to their own message (the caller holds the conversation
 * lock, so `seq` is the newest). One read entry dates both positions; it is only worth writing
 * when it covers someone else's message.
 */
export async function moveOwnPositions(
  db: Db,
  conversationId: string,
  userId: string,
  before: { read_seq: number },
  seq: number,
  now: number,
): Promise<void> {
  await setPositions(db, conversationId, userId, seq, seq);
  if (ownMoveIsLogged(before, seq)) await logPosition(db, conversationId, userId, 'read', seq, now);
}

export async function logPosition(
  db: Db,
  conversationId: string,
  userId: string,
  kind: ReceiptKind,
  seq: number,
  at: number,
): Promise<void> {
  await db
    .insertInto('position_log')
    .values({ conversation_id: conversationId, user_id: userId, kind, seq, at })
    .execute();
}

export async function setPositions(
  db: Db,
  conversationId: string,
  userId: string,
  readSeq: number,
  deliveredSeq: number,
): Promise<void> {
  await db
    .updateTable('members')
    .set({ read_seq: readSeq, delivered_seq: deliveredSeq })
    .where('conversation_id', '=', conversationId)
    .where('user_id', '=', userId)
    .execute();
}

/**
 * Per member but the sender (and but members who joined after `seq`): when `seq` was delivered
 * to and read by them. null unless the viewer is a member who may see `seq` and it exists.
 */
export function receipts(
  db: Db,
  conversationId: string,
  seq: number,
  viewerId: string,
): Promise<Receipt[] | null> {
  return readTx(db, async (tx) => {
    const viewer = await membershipOf(tx, conversationId, viewerId);
    if (!viewer || seq < viewer.join_seq) return null;
    const message = await tx
      .selectFrom('messages')
      .select('sender_id')
      .where('conversation_id', '=', conversationId)
      .where('seq', '=', seq)
      .executeTakeFirst();
    if (!message) return null;
    const rows = await tx
      .selectFrom('members as m')
      .select((eb) => {
        // Positions and times grow together, so the first log entry at or past `seq` holds the
        // answer, or the member's first message after it, whichever came first.
        const firstAt = (kind: ReceiptKind) =>
          eb
            .selectFrom('position_log as l')
            .select('l.at')
            .whereRef('l.conversation_id', '=', 'm.conversation_id')
            .whereRef('l.user_id', '=', 'm.user_id')
            .where('l.kind', '=', kind)
            .where('l.seq', '>=', seq)
            .orderBy('l.seq')
            .limit(1);
        return [
          'm.user_id',
          firstAt('delivered').as('delivered_at'),
          firstAt('read').as('read_at'),
          // Sending reads everything before, and a send logs no entry (append-plan.ts): the
          // member's first live message after `seq`, through messages_by_sender_live (its
          // partial condition is repeated so the index serves it). A deleted message's entry was
          // logged when it was deleted (message-actions.ts).
          eb
            .selectFrom('messages as own')
            .select('own.created_at')
            .whereRef('own.sender_id', '=', 'm.user_id')
            .whereRef('own.conversation_id', '=', 'm.conversation_id')
            .where('own.seq', '>', seq)
            .where('own.deleted_at', 'is', null)
            .orderBy('own.seq')
            .limit(1)
            .as('sent_after_at'),
        ];
      })
      .where('m.conversation_id', '=', conversationId)
      .where('m.user_id', '!=', message.sender_id ?? '')
      // Someone who joined after the message never saw it and has no receipt for it.
      .where('m.join_seq', '<=', seq)
      .orderBy('m.join_seq')
      .orderBy('m.joined_at')
      .orderBy('m.user_id')
      .execute();
    // Reading implies delivery, and read entries stand in for delivered ones; so does sending.
    return rows.map(toReceipt);
  });
}
