/**
 * Statements for group management, message actions, per-member settings, search and account
 * deletion: the second half of sqlite/queries.ts, kept apart so each file reads as one topic.
 */
import { sql } from 'kysely';
import { prepare, qb, type Db } from './db.js';
import {
  asPruneDb,
  deleteDeadSessions,
  deleteDeadSessionTokens,
  deleteOldPositionLog,
} from '../shared/prune.js';
import type { PruneCutoffs } from '../store.js';
import { CONVERSATION_COLUMNS, MEMBER_VIEW_COLUMNS, MESSAGE_COLUMNS } from '../shared/tables.js';
import {
  blockedEitherWayWith,
  longestStandingMembers,
  membersWhoMaySee,
  sentMessagesAfter,
  sentReactionsBetween,
  upsertReaction,
  type SentSource,
} from '../shared/queries.js';

const ONE = sql.lit(1);

/**
 * The export's source on SQLite: the export index (`sent_messages`, keyed by sender,
 * conversation and seq, caught up before these reads: READS_INDEXES) joined to its messages.
 */
const sentIndex = (): SentSource => ({
  messages: qb
    .selectFrom('sent_messages as s')
    .innerJoin('messages as msg', (join) =>
      join.onRef('msg.conversation_id', '=', 's.conversation_id').onRef('msg.seq', '=', 's.seq'),
    ) as unknown as SentSource['messages'],
  keys: 's',
});

type Conv = { conversationId: string };
type ConvUser = { conversationId: string; userId: string };
type ConvSeq = { conversationId: string; seq: number };

/**
 * Ranking stops at this many matches: the newest this many messages the viewer may see that
 * match are ranked by bm25, older ones are not looked at. Ranking every match cost 230 ms of
 * bm25 and 600 ms of row lookups for a word in 77,000 of 1,000,000 messages; walking the index
 * newest first stops after this many (docs/performance.md, "Reads at one million messages").
 */
export const SEARCH_RANK_WINDOW = 500;

/**
 * Search hits, best first among the newest SEARCH_RANK_WINDOW matches the viewer may see;
 * `marked` is the body with every match between \u0002 and \u0003.
 */
function searchQuery(db: Db, inOneConversation: boolean) {
  type P = { viewerId: string; conversationId: string; match: string; limit: number };
  return prepare(db, (p: P) => {
    // CROSS JOIN fixes the order (SQLite never reorders it): the index first, newest match
    // first, then each hit's row and the viewer's membership by primary key. Left to itself,
    // the planner walks a whole conversation for a search within it, probing FTS5 per message.
    let newest = qb
      .selectFrom('messages_fts')
      .crossJoin('messages as msg')
      .crossJoin('members as mine')
      .select([
        ...MESSAGE_COLUMNS,
        sql<string>`highlight(messages_fts, 0, char(2), char(3))`.as('marked'),
        sql<number>`bm25(messages_fts)`.as('score'),
      ])
      .where(sql<boolean>`msg.rowid = messages_fts.rowid`)
      .whereRef('mine.conversation_id', '=', 'msg.conversation_id')
      .where('mine.user_id', '=', p.viewerId)
      .where(sql<boolean>`messages_fts MATCH ${p.match}`)
      .where('msg.deleted_at', 'is', null)
      .where('msg.system_json', 'is', null)
      // A member sees nothing from before they joined, not even in search.
      .whereRef('msg.seq', '>=', 'mine.join_seq');
    if (inOneConversation) newest = newest.where('msg.conversation_id', '=', p.conversationId);
    // FTS5 walks its doclist backward for this order (rowids grow with every append), so the
    // scan stops at the window instead of reading every match; no sort.
    const window = newest.orderBy(sql`messages_fts.rowid`, 'desc').limit(SEARCH_RANK_WINDOW);
    return qb
      .selectFrom(window.as('hit'))
      .selectAll()
      .orderBy('hit.score')
      .orderBy('hit.created_at', 'desc')
      .orderBy('hit.id')
      .limit(p.limit);
  });
}

export function createActionQueries(db: Db) {
  return {
    // Groups
    blockedEitherWayWith: prepare(db, (p: { userId: string }) =>
      blockedEitherWayWith(qb, p.userId),
    ),
    conversationRow: prepare(db, (p: Conv) =>
      qb
        .selectFrom('conversations')
        .select(['id', 'kind', 'title', 'last_seq', 'members_version'])
        .where('id', '=', p.conversationId),
    ),
    setTitle: prepare(db, (p: Conv & { title: string }) =>
      qb.updateTable('conversations').set({ title: p.title }).where('id', '=', p.conversationId),
    ),
    bumpMembersVersion: prepare(db, (p: Conv) =>
      qb
        .updateTable('conversations')
        .set((eb) => ({ members_version: eb('members_version', '+', ONE) }))
        .where('id', '=', p.conversationId),
    ),
    deleteMember: prepare(db, (p: ConvUser) =>
      qb
        .deleteFrom('members')
        .where('conversation_id', '=', p.conversationId)
        .where('user_id', '=', p.userId),
    ),
    setRole: prepare(db, (p: ConvUser & { role: 'admin' | 'member' }) =>
      qb
        .updateTable('members')
        .set({ role: p.role })
        .where('conversation_id', '=', p.conversationId)
        .where('user_id', '=', p.userId),
    ),
    counts: prepare(db, (p: Conv) =>
      qb
        .selectFrom('members')
        .select((eb) => [
          eb.fn.countAll<number>().as('members'),
          eb.fn.sum<number | null>(sql<number>`role = 'admin'`).as('admins'),
        ])
        .where('conversation_id', '=', p.conversationId),
    ),
    /** The longest-standing member but `exceptId`: the next admin when the last one goes. */
    longestStanding: prepare(db, (p: Conv & { exceptId: string }) =>
      longestStandingMembers(qb, p.conversationId, p.exceptId).limit(ONE),
    ),
    /** Every member with what each one's own view of the conversation needs. */
    membersOf: prepare(db, (p: Conv) =>
      qb
        .selectFrom('members as m')
        .innerJoin('users as u', 'u.id', 'm.user_id')
        .select([...MEMBER_VIEW_COLUMNS])
        .where('m.conversation_id', '=', p.conversationId)
        .orderBy('m.join_seq')
        .orderBy('m.joined_at')
        .orderBy('m.user_id'),
    ),
    conversationById: prepare(db, (p: Conv) =>
      qb
        .selectFrom('conversations as c')
        .select(CONVERSATION_COLUMNS)
        .where('c.id', '=', p.conversationId),
    ),
    setSettings: prepare(
      db,
      (p: ConvUser & { muted: boolean | undefined; archived: boolean | undefined }) =>
        qb
          .updateTable('members')
          .set({
            muted: sql<0 | 1>`coalesce(${p.muted}, muted)`,
            archived: sql<0 | 1>`coalesce(${p.archived}, archived)`,
          })
          .where('conversation_id', '=', p.conversationId)
          .where('user_id', '=', p.userId),
    ),

    // Message actions
    /** Who hears of a change to a message: members who may see its seq. */
    membersWhoMaySee: prepare(db, (p: ConvSeq) => membersWhoMaySee(qb, p.conversationId, p.seq)),
    setBody: prepare(db, (p: ConvSeq & { body: string; now: number }) =>
      qb
        .updateTable('messages')
        .set({ body: p.body, edited_at: p.now })
        .where('conversation_id', '=', p.conversationId)
        .where('seq', '=', p.seq),
    ),
    /** The body goes from storage (and, by trigger, from the search index); the seq stays. */
    tombstone: prepare(db, (p: ConvSeq & { now: number }) =>
      qb
        .updateTable('messages')
        .set({ body: '', deleted_at: p.now, attachments_json: null })
        .where('conversation_id', '=', p.conversationId)
        .where('seq', '=', p.seq),
    ),
    deleteReactions: prepare(db, (p: ConvSeq) =>
      qb
        .deleteFrom('reactions')
        .where('conversation_id', '=', p.conversationId)
        .where('seq', '=', p.seq),
    ),
    reactionOf: prepare(db, (p: ConvSeq & { userId: string }) =>
      qb
        .selectFrom('reactions')
        .select('emoji')
        .where('conversation_id', '=', p.conversationId)
        .where('seq', '=', p.seq)
        .where('user_id', '=', p.userId),
    ),
    upsertReaction: prepare(db, (p: ConvSeq & { userId: string; emoji: string; now: number }) =>
      upsertReaction(qb, p),
    ),
    deleteReaction: prepare(db, (p: ConvSeq & { userId: string }) =>
      qb
        .deleteFrom('reactions')
        .where('conversation_id', '=', p.conversationId)
        .where('seq', '=', p.seq)
        .where('user_id', '=', p.userId),
    ),

    // Search
    searchAll: searchQuery(db, false),
    searchOne: searchQuery(db, true),

    // Accounts
    tombstoneUser: prepare(
      db,
      (p: { id: string; username: string; displayName: string; now: number }) =>
        qb
          .updateTable('users')
          .set({
            username: p.username,
            display_name: p.displayName,
            password_hash: '',
            deleted_at: p.now,
          })
          .where('id', '=', p.id),
    ),
    deleteContactsBy: prepare(db, (p: { userId: string }) =>
      qb.deleteFrom('contacts').where('owner_id', '=', p.userId),
    ),
    deleteContactsOf: prepare(db, (p: { userId: string }) =>
      qb.deleteFrom('contacts').where('contact_id', '=', p.userId),
    ),
    deleteBlocksBy: prepare(db, (p: { userId: string }) =>
      qb.deleteFrom('blocks').where('blocker_id', '=', p.userId),
    ),
    deleteBlocksOf: prepare(db, (p: { userId: string }) =>
      qb.deleteFrom('blocks').where('blocked_id', '=', p.userId),
    ),
    membershipsOf: prepare(db, (p: { userId: string }) =>
      qb
        .selectFrom('members as m')
        .innerJoin('conversations as c', 'c.id', 'm.conversation_id')
        .select(['c.id', 'c.kind'])
        .where('m.user_id', '=', p.userId)
        .orderBy('c.id'),
    ),
    /**
     * A page of the export: the sender's live messages after a (conversation, seq), in that
     * order, through the export index (caught up first: READS_INDEXES).
     */
    sentMessages: prepare(
      db,
      (p: { userId: string; conversationId: string; seq: number; limit: number }) =>
        sentMessagesAfter(sentIndex(), p.userId, p, p.limit),
    ),
    /** The reactions of the page: on the sender's live messages in (from, to]. */
    sentReactions: prepare(
      db,
      (p: {
        userId: string;
        fromConversation: string;
        fromSeq: number;
        toConversation: string;
        toSeq: number;
      }) =>
        sentReactionsBetween(
          sentIndex(),
          p.userId,
          { conversationId: p.fromConversation, seq: p.fromSeq },
          { conversationId: p.toConversation, seq: p.toSeq },
        ),
    ),

    // Pruning (the rules are in shared/prune.ts)
    pruneSessionTokens: prepare(db, (p: PruneCutoffs) => deleteDeadSessionTokens(asPruneDb(qb), p)),
    pruneSessions: prepare(db, (p: PruneCutoffs) => deleteDeadSessions(asPruneDb(qb), p)),
    prunePositionLog: prepare(db, (p: PruneCutoffs) => deleteOldPositionLog(asPruneDb(qb), p)),
  };
}

export type ActionQueries = ReturnType<typeof createActionQueries>;
