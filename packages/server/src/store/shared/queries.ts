/**
 * Queries both SQL stores run as they are: one kysely builder over the shared tables, so a rule
 * that decides who may learn what is written once and compiled for each engine.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { limits } from '@letter/protocol';
import { MEMBER_COLUMNS, type SharedTables } from './tables.js';

/**
 * The members who may see message `seq`, in join order: those whose join point (the first seq
 * they may see) is at or before it. A change to a message (edit, delete, reaction) goes to them
 * only: someone added later never learns, not even through an update, what was said before.
 */
export function membersWhoMaySee(db: Kysely<SharedTables>, conversationId: string, seq: number) {
  return db
    .selectFrom('members')
    .select('user_id')
    .where('conversation_id', '=', conversationId)
    .where('join_seq', '<=', seq)
    .orderBy('join_seq')
    .orderBy('joined_at')
    .orderBy('user_id');
}

/** Everyone `userId` blocked or was blocked by (either way counts). */
export function blockedEitherWayWith(db: Kysely<SharedTables>, userId: string) {
  return db
    .selectFrom('blocks')
    .select('blocked_id as user_id')
    .where('blocker_id', '=', userId)
    .union(
      db.selectFrom('blocks').select('blocker_id as user_id').where('blocked_id', '=', userId),
    );
}

/**
 * The members a conversation list shows of each of the viewer's conversations: the first
 * limits.conversationListMembers in join order, and the viewer's own row wherever it ranks, each
 * with how many members the conversation has. By conversation, then join order.
 */
export function memberPreview(
  db: Kysely<SharedTables>,
  viewerId: string,
  /** The page's conversation ids as a subquery, in each engine's way of listing ids. */
  pageIds: RawBuilder<string>,
) {
  const ranked = db
    .selectFrom('members as mine')
    .innerJoin('members as m', 'm.conversation_id', 'mine.conversation_id')
    .innerJoin('users as u', 'u.id', 'm.user_id')
    .select([
      ...MEMBER_COLUMNS,
      sql<number>`cast(row_number() over (partition by m.conversation_id order by m.join_seq, m.joined_at, m.user_id) as integer)`.as(
        'member_rank',
      ),
      sql<number>`cast(count(*) over (partition by m.conversation_id) as integer)`.as(
        'member_count',
      ),
    ])
    .where('mine.user_id', '=', viewerId)
    .where('mine.conversation_id', 'in', pageIds);
  return db
    .selectFrom(ranked.as('p'))
    .select([
      'p.conversation_id',
      'p.user_id',
      'p.username',
      'p.display_name',
      'p.role',
      'p.read_seq',
      'p.delivered_seq',
      'p.member_count',
    ])
    .where((eb) =>
      eb.or([
        eb('p.member_rank', '<=', sql.lit(limits.conversationListMembers)),
        eb('p.user_id', '=', viewerId),
      ]),
    )
    .orderBy('p.conversation_id')
    .orderBy('p.member_rank');
}
