/**
 * Reads that build protocol shapes for the PostgreSQL store: conversation views in a constant
 * number of queries however many conversations a user has, messages with their reactions, and
 * the member row every access check starts from. Each takes a `Db`, which may be a transaction:
 * callers with several statements run them in one snapshot (readTx) or under their locks.
 */
import { sql } from 'kysely';
import type { Conversation, Message } from '@letter/protocol';
import type { ConversationPageQuery, MemberSet, MemberView } from '../store.js';
import type { Db } from './db.js';
import {
  CONVERSATION_COLUMNS,
  MEMBER_VIEW_COLUMNS,
  MEMBERSHIP_COLUMNS,
  MESSAGE_COLUMNS,
  type Membership,
} from '../shared/tables.js';
import {
  toConversations,
  toMemberViews,
  toMessages,
  type ConversationRow,
  type MemberRow,
  type MessageRow,
  type ReactionRow,
} from '../shared/rows.js';

import { conversationViewQueries } from '../shared/queries.js';

export type { Membership } from '../shared/tables.js';

export async function membershipOf(
  db: Db,
  conversationId: string,
  userId: string,
): Promise<Membership | undefined> {
  return db
    .selectFrom('members as m')
    .innerJoin('conversations as c', 'c.id', 'm.conversation_id')
    .select(MEMBERSHIP_COLUMNS)
    .where('m.conversation_id', '=', conversationId)
    .where('m.user_id', '=', userId)
    .executeTakeFirst();
}

/**
 * The viewer's conversations (one, or the ids of a page, latest activity first), each as they see
 * it. Four queries: conversations, members, last messages, their reactions.
 */
export async function conversationsFor(
  db: Db,
  viewerId: string,
  only: string | string[],
): Promise<Conversation[]> {
  const one = typeof only === 'string';
  const queries = conversationViewQueries(
    db,
    viewerId,
    { op: '=', ids: one ? only : sql<string>`ANY(${only}::text[])` },
    one ? null : sql<string>`(SELECT unnest(${only}::text[]))`,
  );
  const conversations: ConversationRow[] = await queries.conversations.execute();
  if (conversations.length === 0) return [];
  const members: MemberRow[] = await queries.members.execute();
  const lastMessages: MessageRow[] = await queries.lastMessages.execute();
  const lastReactions: ReactionRow[] = await queries.lastReactions.execute();
  return toConversations(viewerId, conversations, members, lastMessages, lastReactions);
}

/** A page of the viewer's conversations (Store.listConversations), each as they see it. */
export async function conversationPage(
  db: Db,
  viewerId: string,
  page: ConversationPageQuery,
): Promise<Conversation[]> {
  const { after } = page;
  const rows = await db
    .selectFrom('members as mine')
    .innerJoin('conversations as c', 'c.id', 'mine.conversation_id')
    .select('c.id')
    .where('mine.user_id', '=', viewerId)
    .$if(after !== undefined, (query) =>
      query.where((eb) =>
        eb.or([
          eb('c.last_activity_at', '<', after!.activityAt),
          eb.and([eb('c.last_activity_at', '=', after!.activityAt), eb('c.id', '<', after!.id)]),
        ]),
      ),
    )
    .orderBy('c.last_activity_at', 'desc')
    .orderBy('c.id', 'desc')
    .limit(Math.max(0, Math.trunc(page.limit)))
    .execute();
  if (rows.length === 0) return [];
  return conversationsFor(
    db,
    viewerId,
    rows.map((row) => row.id),
  );
}

/** The conversation as each of `userIds` sees it, in that order, skipping non-members. */
export async function memberViews(
  db: Db,
  conversationId: string,
  userIds: string[],
): Promise<MemberView[]> {
  const conversation = await db
    .selectFrom('conversations as c')
    .select(CONVERSATION_COLUMNS)
    .where('c.id', '=', conversationId)
    .executeTakeFirst();
  if (!conversation) return [];
  const members = await db
    .selectFrom('members as m')
    .innerJoin('users as u', 'u.id', 'm.user_id')
    .select([...MEMBER_VIEW_COLUMNS])
    .where('m.conversation_id', '=', conversationId)
    .orderBy('m.join_seq')
    .orderBy('m.joined_at')
    .orderBy('m.user_id')
    .execute();
  const last = (await messagesBetween(db, conversationId, conversation.last_seq))[0];
  return toMemberViews(conversation, members, last, userIds);
}

/** Messages `from`..`to` (inclusive) of one conversation with their reactions, by seq. */
export async function messagesBetween(
  db: Db,
  conversationId: string,
  from: number,
  to = from,
): Promise<Message[]> {
  const rows: MessageRow[] = await db
    .selectFrom('messages as msg')
    .select(MESSAGE_COLUMNS)
    .where('msg.conversation_id', '=', conversationId)
    .where('msg.seq', '>=', from)
    .where('msg.seq', '<=', to)
    .orderBy('msg.seq')
    .execute();
  if (rows.length === 0) return [];
  return toMessages(rows, await reactionsBetween(db, conversationId, from, to));
}

export async function reactionsBetween(
  db: Db,
  conversationId: string,
  from: number,
  to: number,
): Promise<ReactionRow[]> {
  return db
    .selectFrom('reactions')
    .select(['conversation_id', 'seq', 'user_id', 'emoji'])
    .where('conversation_id', '=', conversationId)
    .where('seq', '>=', from)
    .where('seq', '<=', to)
    .orderBy('seq')
    .orderBy('created_at')
    .orderBy('user_id')
    .execute();
}

/** Member ids in join order, with the members version; {[], 0} for no such conversation. */
export async function memberSetOf(db: Db, conversationId: string): Promise<MemberSet> {
  // One statement, so the list and its version come from one snapshot.
  const rows = await db
    .selectFrom('conversations as c')
    .leftJoin('members as m', 'm.conversation_id', 'c.id')
    .select(['c.members_version', 'm.user_id'])
    .where('c.id', '=', conversationId)
    .orderBy('m.join_seq')
    .orderBy('m.joined_at')
    .orderBy('m.user_id')
    .execute();
  return {
    userIds: rows.flatMap((row) => (row.user_id === null ? [] : [row.user_id])),
    version: rows[0]?.members_version ?? 0,
  };
}

/** A new member row: positions at `readSeq`, history visible from `joinSeq`. */
export function newMember(
  conversationId: string,
  userId: string,
  role: 'admin' | 'member',
  now: number,
  readSeq: number,
  joinSeq: number,
) {
  return {
    conversation_id: conversationId,
    user_id: userId,
    role,
    joined_at: now,
    read_seq: readSeq,
    delivered_seq: readSeq,
    join_seq: joinSeq,
    muted: 0 as const,
    archived: 0 as const,
  };
}
