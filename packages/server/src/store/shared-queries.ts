/**
 * Queries both SQL stores run as they are: one kysely builder over the shared tables, so a rule
 * that decides who may learn what is written once and compiled for each engine.
 */
import type { Kysely } from 'kysely';
import type { SharedTables } from './tables.js';

/**
 * The members who may see message `seq`, in join order: those whose join point (the first seq
 * they may see) is at or before it. A change to a message (edit, delete, reaction) goes to them
 * only: someone added later never learns, not even through an update, what was said before.
 */
export function membersWhoMaySee(
  db: Kysely<SharedTables>,
  conversationId: string,
  seq: number,
) {
  return db
    .selectFrom('members')
    .select('user_id')
    .where('conversation_id', '=', conversationId)
    .where('join_seq', '<=', seq)
    .orderBy('join_seq')
    .orderBy('joined_at')
    .orderBy('user_id');
}
