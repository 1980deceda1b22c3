/**
 * Queries both SQL stores run as they are: one kysely builder over the shared tables, so a rule
 * that decides who may learn what is written once and compiled for each engine.
 */
import { sql, type QueryCreator, type RawBuilder, type SelectQueryBuilder } from 'kysely';
import { limits } from '@letter/protocol';
import {
  CONVERSATION_COLUMNS,
  MEMBER_COLUMNS,
  MESSAGE_COLUMNS,
  VIEWER_COLUMNS,
  type FilesTable,
  type MessagesTable,
  type SharedTables,
} from './tables.js';
import type { FileSelector } from '../store.js';

/**
 * The members who may see message `seq`, in join order: those whose join point (the first seq
 * they may see) is at or before it. A change to a message (edit, delete, reaction) goes to them
 * only: someone added later never learns, not even through an update, what was said before.
 */
export function membersWhoMaySee(
  db: QueryCreator<SharedTables>,
  conversationId: string,
  seq: number,
) {
  return membersInJoinOrder(db, conversationId).where('join_seq', '<=', seq);
}

/**
 * Who sent the messages in `(from, to]`: whose ticks a position move over them changes
 * (rules.ts `receiptAudience`).
 */
export function sendersBetween(
  db: QueryCreator<SharedTables>,
  conversationId: string,
  from: number,
  to: number,
) {
  return db
    .selectFrom('messages')
    .select('sender_id')
    .distinct()
    .where('conversation_id', '=', conversationId)
    .where('seq', '>', from)
    .where('seq', '<=', to);
}

/** A conversation's member ids in join order (join point, then join time, then id). */
export function membersInJoinOrder(db: QueryCreator<SharedTables>, conversationId: string) {
  return db
    .selectFrom('members')
    .select('user_id')
    .where('conversation_id', '=', conversationId)
    .orderBy('join_seq')
    .orderBy('joined_at')
    .orderBy('user_id');
}

/** Everyone `userId` blocked or was blocked by (either way counts). */
export function blockedEitherWayWith(db: QueryCreator<SharedTables>, userId: string) {
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
  db: QueryCreator<SharedTables>,
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

/**
 * Who takes over as admin when a group has none left: the longest-standing member other than
 * `exceptId` (join point, then join time, then id). Each engine takes the first row.
 */
export function longestStandingMembers(
  db: QueryCreator<SharedTables>,
  conversationId: string,
  exceptId: string,
) {
  return membersInJoinOrder(db, conversationId).where('user_id', '!=', exceptId);
}

/** One reaction per person per message: a new one replaces theirs (and moves to the end). */
export function upsertReaction(
  db: QueryCreator<SharedTables>,
  r: { conversationId: string; seq: number; userId: string; emoji: string; now: number },
) {
  return db
    .insertInto('reactions')
    .values({
      conversation_id: r.conversationId,
      seq: r.seq,
      user_id: r.userId,
      emoji: r.emoji,
      created_at: r.now,
    })
    .onConflict((oc) =>
      oc
        .columns(['conversation_id', 'seq', 'user_id'])
        .doUpdateSet({ emoji: r.emoji, created_at: r.now }),
    );
}

/**
 * Where a store finds a user's messages by (sender, conversation, seq): `messages as msg`
 * itself (PostgreSQL, through messages_by_sender_live), or an export index of those keys joined to
 * it (SQLite's `sent_messages as s`, filled after the commit). `keys` names the alias whose
 * columns the page's bounds and order use, so each engine's plan walks its own index.
 */
export interface SentSource {
  messages: SelectQueryBuilder<SharedTables & { msg: MessagesTable }, 'msg', object>;
  keys: 'msg' | 's';
}

/** PostgreSQL's source: the messages table (its partial index holds live messages only). */
export const sentFromMessages = (db: QueryCreator<SharedTables>): SentSource => ({
  messages: db.selectFrom('messages as msg'),
  keys: 'msg',
});

/** A key column of the source: `msg.seq` or `s.seq`. */
const sentKey = (source: SentSource, column: 'sender_id' | 'conversation_id' | 'seq') =>
  sql.ref(`${source.keys}.${column}`);

/** A user's live messages after (conversation, seq): what the export's pages walk. */
function sentAfter(
  source: SentSource,
  userId: string,
  after: { conversationId: string; seq: number },
) {
  const key = (column: 'sender_id' | 'conversation_id' | 'seq') => sentKey(source, column);
  return source.messages
    .where(sql<boolean>`${key('sender_id')} = ${userId}`)
    .where(
      sql<boolean>`(${key('conversation_id')}, ${key('seq')}) > (${after.conversationId}, ${after.seq})`,
    )
    .where('msg.deleted_at', 'is', null);
}

/** A page of a user's export: their live messages after (conversation, seq), in that order. */
export function sentMessagesAfter(
  source: SentSource,
  userId: string,
  after: { conversationId: string; seq: number },
  limit: number,
) {
  return sentAfter(source, userId, after)
    .select(MESSAGE_COLUMNS)
    .orderBy(sentKey(source, 'conversation_id'))
    .orderBy(sentKey(source, 'seq'))
    .limit(limit);
}

/** The reactions of such a page: on the user's live messages in (from, to]. */
export function sentReactionsBetween(
  source: SentSource,
  userId: string,
  from: { conversationId: string; seq: number },
  to: { conversationId: string; seq: number },
) {
  const key = (column: 'conversation_id' | 'seq') => sentKey(source, column);
  return sentAfter(source, userId, from)
    .where(
      sql<boolean>`(${key('conversation_id')}, ${key('seq')}) <= (${to.conversationId}, ${to.seq})`,
    )
    .innerJoin('reactions as r', (join) =>
      join.onRef('r.conversation_id', '=', 'msg.conversation_id').onRef('r.seq', '=', 'msg.seq'),
    )
    .select(['r.conversation_id', 'r.seq', 'r.user_id', 'r.emoji'])
    .orderBy('r.conversation_id')
    .orderBy('r.seq')
    .orderBy('r.created_at')
    .orderBy('r.user_id');
}

/**
 * The four queries of conversation views as `viewerId` sees them (rows.ts toConversations turns
 * them into protocol shapes): the conversations, their members, their last messages and those
 * messages' reactions, a constant number of queries however many conversations. `which` picks
 * the viewer's conversations: `=` one id, or each engine's form of an id list (`in` a
 * `json_each` subquery, `= ANY(array)`). `previewIds` (a list's ids as a subquery) asks for a
 * member preview per conversation (memberPreview); null lists one conversation's every member.
 */
export function conversationViewQueries(
  db: QueryCreator<SharedTables>,
  viewerId: string,
  which: { op: '=' | 'in'; ids: string | RawBuilder<string> },
  previewIds: RawBuilder<string> | null,
) {
  const mine = () =>
    db
      .selectFrom('members as mine')
      .where('mine.user_id', '=', viewerId)
      .where('mine.conversation_id', which.op, which.ids);
  return {
    conversations: mine()
      .innerJoin('conversations as c', 'c.id', 'mine.conversation_id')
      .select([...CONVERSATION_COLUMNS, ...VIEWER_COLUMNS])
      .select((eb) =>
        // Mentions of the viewer after their read position (and from their join on), whose
        // message was not deleted since.
        eb
          .selectFrom('mentions as mn')
          .innerJoin('messages as mm', (join) =>
            join
              .onRef('mm.conversation_id', '=', 'mn.conversation_id')
              .onRef('mm.seq', '=', 'mn.seq'),
          )
          .select(sql<number>`cast(count(*) as integer)`.as('n'))
          .whereRef('mn.conversation_id', '=', 'c.id')
          .where('mn.user_id', '=', viewerId)
          .whereRef('mn.seq', '>', 'mine.read_seq')
          .whereRef('mn.seq', '>=', 'mine.join_seq')
          .where('mm.deleted_at', 'is', null)
          .as('viewer_unread_mentions'),
      )
      .orderBy('c.last_activity_at', 'desc')
      .orderBy('c.id', 'desc'),
    // One conversation shows every member; a list only a preview of each (memberPreview).
    members: previewIds
      ? memberPreview(db, viewerId, previewIds)
      : mine()
          .innerJoin('members as m', 'm.conversation_id', 'mine.conversation_id')
          .innerJoin('users as u', 'u.id', 'm.user_id')
          .select([...MEMBER_COLUMNS])
          .orderBy('m.conversation_id')
          .orderBy('m.join_seq')
          .orderBy('m.joined_at')
          .orderBy('m.user_id'),
    lastMessages: mine()
      .innerJoin('conversations as c', 'c.id', 'mine.conversation_id')
      .innerJoin('messages as msg', (join) =>
        join.onRef('msg.conversation_id', '=', 'c.id').onRef('msg.seq', '=', 'c.last_seq'),
      )
      .select(MESSAGE_COLUMNS),
    lastReactions: mine()
      .innerJoin('conversations as c', 'c.id', 'mine.conversation_id')
      .innerJoin('reactions as r', (join) =>
        join.onRef('r.conversation_id', '=', 'c.id').onRef('r.seq', '=', 'c.last_seq'),
      )
      .select(['r.conversation_id', 'r.seq', 'r.user_id', 'r.emoji'])
      .orderBy('r.created_at')
      .orderBy('r.user_id'),
  };
}

/** The values a push subscription row is written from. */
export interface PushSubscriptionInput {
  endpoint: string;
  sessionId: string;
  userId: string;
  p256dh: string;
  auth: string;
  now: number;
}

/**
 * Stores a subscription, or moves an existing endpoint to this session, only while the session
 * is live and belongs to the user (a revoked one inserts nothing: the caller answers 401).
 */
export function upsertPushSubscription(db: QueryCreator<SharedTables>, p: PushSubscriptionInput) {
  const live = db
    .selectFrom('sessions')
    .select([
      sql<string>`${p.endpoint}`.as('endpoint'),
      'id as session_id',
      'user_id',
      sql<string>`${p.p256dh}`.as('p256dh'),
      sql<string>`${p.auth}`.as('auth'),
      sql<number>`cast(${p.now} as bigint)`.as('created_at'),
    ])
    .where('id', '=', p.sessionId)
    .where('user_id', '=', p.userId)
    .where('revoked_at', 'is', null);
  return db
    .insertInto('push_subscriptions')
    .columns(['endpoint', 'session_id', 'user_id', 'p256dh', 'auth', 'created_at'])
    .expression(live)
    .onConflict((oc) =>
      oc.column('endpoint').doUpdateSet((eb) => ({
        session_id: eb.ref('excluded.session_id'),
        user_id: eb.ref('excluded.user_id'),
        p256dh: eb.ref('excluded.p256dh'),
        auth: eb.ref('excluded.auth'),
        created_at: eb.ref('excluded.created_at'),
      })),
    );
}

/** Removes one session's subscription at an endpoint. */
export function deleteSessionPushSubscription(
  db: QueryCreator<SharedTables>,
  p: { sessionId: string; endpoint: string },
) {
  return db
    .deleteFrom('push_subscriptions')
    .where('endpoint', '=', p.endpoint)
    .where('session_id', '=', p.sessionId);
}

/** Removes an endpoint the push service called gone, whoever owns it. */
export function deletePushEndpoint(db: QueryCreator<SharedTables>, p: { endpoint: string }) {
  return db.deleteFrom('push_subscriptions').where('endpoint', '=', p.endpoint);
}

/** The subscriptions of live sessions of the users `userIds` lists (a subquery of ids). */
export function pushSubscriptionsOf(db: QueryCreator<SharedTables>, userIds: RawBuilder<string>) {
  return db
    .selectFrom('push_subscriptions as p')
    .innerJoin('sessions as s', 's.id', 'p.session_id')
    .leftJoin('push_settings as ps', 'ps.user_id', 'p.user_id')
    .select(['p.endpoint', 'p.session_id', 'p.user_id', 'p.p256dh', 'p.auth'])
    .select(sql<number>`coalesce(ps.preview, 1)`.as('preview'))
    .where('p.user_id', 'in', userIds)
    .where('s.revoked_at', 'is', null)
    .orderBy('p.user_id')
    .orderBy('p.endpoint');
}

/** The user's "show message text in notifications" (no row: on). */
export function pushPreviewOf(db: QueryCreator<SharedTables>, p: { userId: string }) {
  return db.selectFrom('push_settings').select('preview').where('user_id', '=', p.userId);
}

/** Sets it. */
export function upsertPushPreview(
  db: QueryCreator<SharedTables>,
  p: { userId: string; preview: 0 | 1 },
) {
  return db
    .insertInto('push_settings')
    .values({ user_id: p.userId, preview: p.preview })
    .onConflict((oc) => oc.column('user_id').doUpdateSet({ preview: p.preview }));
}

// Files (store.ts FileRecord; the bytes live in the blob store)

export function insertFile(db: QueryCreator<SharedTables>, row: FilesTable) {
  return db.insertInto('files').values(row);
}

export function fileById(db: QueryCreator<SharedTables>, id: string) {
  return db.selectFrom('files').selectAll().where('id', '=', id);
}

/**
 * The file if `userId` may read it: the uploader, or a member of the conversation it is
 * attached to who may see that message (joined at or before it, as membersWhoMaySee).
 */
export function fileForViewer(db: QueryCreator<SharedTables>, fileId: string, userId: string) {
  return db
    .selectFrom('files as f')
    .selectAll('f')
    .where('f.id', '=', fileId)
    .where((eb) =>
      eb.or([
        eb('f.uploader_id', '=', userId),
        eb.exists(
          eb
            .selectFrom('members as m')
            .select(sql.lit(1).as('one'))
            .whereRef('m.conversation_id', '=', 'f.conversation_id')
            .where('m.user_id', '=', userId)
            .whereRef('m.join_seq', '<=', 'f.seq'),
        ),
      ]),
    );
}

/** Attaches one file, if it is the uploader's and not attached yet (one row changed, or none). */
export function claimFile(
  db: QueryCreator<SharedTables>,
  c: { fileId: string; uploaderId: string; conversationId: string; seq: number },
) {
  return db
    .updateTable('files')
    .set({ conversation_id: c.conversationId, seq: c.seq })
    .where('id', '=', c.fileId)
    .where('uploader_id', '=', c.uploaderId)
    .where('conversation_id', 'is', null);
}

export function uploadedBytes(db: QueryCreator<SharedTables>, userId: string) {
  return db
    .selectFrom('files')
    .select(sql<number>`cast(coalesce(sum(size), 0) as bigint)`.as('bytes'))
    .where('uploader_id', '=', userId);
}

/** The ids and blobs of the files a selector names (removeFiles deletes them one by one). */
export function filesSelected(db: QueryCreator<SharedTables>, selector: FileSelector) {
  const query = db.selectFrom('files').select(['id', 'sha256', 'thumb_sha256']);
  switch (selector.kind) {
    case 'unattached':
      return query
        .where('conversation_id', 'is', null)
        .where('created_at', '<', selector.before)
        .orderBy('created_at')
        .limit(selector.limit);
    case 'message':
      return query
        .where('conversation_id', '=', selector.conversationId)
        .where('seq', '=', selector.seq);
    case 'uploader':
      return query.where('uploader_id', '=', selector.userId);
    case 'file':
      return query.where('id', '=', selector.id);
  }
}

export function deleteFile(db: QueryCreator<SharedTables>, id: string) {
  return db.deleteFrom('files').where('id', '=', id);
}

/** Whether any file row still names the blob, as its bytes or its thumbnail. */
export function blobInUse(db: QueryCreator<SharedTables>, key: string) {
  return db
    .selectFrom('files')
    .select(sql.lit(1).as('one'))
    .where((eb) => eb.or([eb('sha256', '=', key), eb('thumb_sha256', '=', key)]))
    .limit(1);
}

/** A deletion of either blob that started at or after `since` (a fresher one blocks an upload). */
export function blobDeletionPending(
  db: QueryCreator<SharedTables>,
  p: { key: string; thumbKey: string; since: number },
) {
  return db
    .selectFrom('blob_deletions')
    .select(sql.lit(1).as('one'))
    .where('key', 'in', [p.key, p.thumbKey])
    .where('started_at', '>=', p.since)
    .limit(1);
}

export function markBlobDeletion(db: QueryCreator<SharedTables>, key: string, now: number) {
  return db
    .insertInto('blob_deletions')
    .values({ key, started_at: now })
    .onConflict((oc) => oc.column('key').doUpdateSet({ started_at: now }));
}

export function endBlobDeletion(db: QueryCreator<SharedTables>, key: string) {
  return db.deleteFrom('blob_deletions').where('key', '=', key);
}

export function staleBlobDeletions(db: QueryCreator<SharedTables>, before: number, limit: number) {
  return db
    .selectFrom('blob_deletions')
    .select('key')
    .where('started_at', '<', before)
    .orderBy('started_at')
    .limit(limit);
}
