/**
 * Every statement the SQLite store runs, compiled once from kysely builders. Grouping them here
 * keeps sqlite/sqlite-store.ts about rules (who may do what, in which order) rather than SQL.
 */
import { sql } from 'kysely';
import { prepare, qb, type Db } from './db.js';
import { presenceVisible } from '../shared/presence-rule.js';
import {
  MEMBERSHIP_COLUMNS,
  MESSAGE_COLUMNS,
  messageValues,
  type MessagesTable,
} from '../shared/tables.js';
import { conversationViewQueries as sharedViewQueries } from '../shared/queries.js';

/**
 * Constants go into the SQL text, not into bound parameters: SQLite plans `LIMIT 1` better than
 * `LIMIT ?` (measured: a bound limit doubles the cost of a primary-key probe).
 */
const ONE = sql.lit(1);

type Id = { id: string };
type Conv = { conversationId: string };
type ConvUser = { conversationId: string; userId: string };
type Pair = { a: string; b: string };

/** Conversation views, either for all of a viewer's conversations or for one of them. */
function conversationViewQueries(db: Db, single: boolean) {
  /** `conversationId`: the one (single), else a JSON array of the ids of a page. */
  type P = { viewerId: string; conversationId: string };
  const views = (p: P) => {
    const page = sql<string>`(SELECT value FROM json_each(${p.conversationId}))`;
    return sharedViewQueries(
      qb,
      p.viewerId,
      single ? { op: '=', ids: p.conversationId } : { op: 'in', ids: page },
      single ? null : page,
    );
  };
  return {
    conversations: prepare(db, (p: P) => views(p).conversations),
    members: prepare(db, (p: P) => views(p).members),
    lastMessages: prepare(db, (p: P) => views(p).lastMessages),
    lastReactions: prepare(db, (p: P) => views(p).lastReactions),
  };
}

export type ConversationViewQueries = ReturnType<typeof conversationViewQueries>;

export function createQueries(db: Db) {
  return {
    // Users
    userById: prepare(db, (p: Id) => qb.selectFrom('users').selectAll().where('id', '=', p.id)),
    userByUsername: prepare(db, (p: { username: string }) =>
      qb.selectFrom('users').selectAll().where('username', '=', p.username),
    ),
    usersByIds: prepare(db, (p: { idsJson: string }) =>
      qb
        .selectFrom('users')
        .select(['id', 'username', 'display_name'])
        .where('id', 'in', sql<string>`(SELECT value FROM json_each(${p.idsJson}))`),
    ),
    searchUsers: prepare(db, (p: { from: string; to: string; excludeId: string; limit: number }) =>
      qb
        .selectFrom('users')
        .select(['id', 'username', 'display_name'])
        .where('username', '>=', p.from)
        .where('username', '<', p.to)
        .where('id', '!=', p.excludeId)
        .where('deleted_at', 'is', null)
        .orderBy('username')
        .limit(p.limit),
    ),
    insertUser: prepare(
      db,
      (p: {
        id: string;
        username: string;
        displayName: string;
        passwordHash: string;
        createdAt: number;
      }) =>
        qb.insertInto('users').values({
          id: p.id,
          username: p.username,
          display_name: p.displayName,
          password_hash: p.passwordHash,
          created_at: p.createdAt,
          last_seen_at: null,
          deleted_at: null,
        }),
    ),
    setDisplayName: prepare(db, (p: Id & { displayName: string }) =>
      qb.updateTable('users').set({ display_name: p.displayName }).where('id', '=', p.id),
    ),
    setPasswordHash: prepare(db, (p: Id & { passwordHash: string }) =>
      qb.updateTable('users').set({ password_hash: p.passwordHash }).where('id', '=', p.id),
    ),
    setLastSeen: prepare(db, (p: Id & { at: number }) =>
      qb.updateTable('users').set({ last_seen_at: p.at }).where('id', '=', p.id),
    ),

    // Sessions
    insertSession: prepare(db, (p: Id & { userId: string; createdAt: number }) =>
      qb
        .insertInto('sessions')
        .values({ id: p.id, user_id: p.userId, created_at: p.createdAt, revoked_at: null }),
    ),
    sessionById: prepare(db, (p: Id) =>
      qb.selectFrom('sessions').selectAll().where('id', '=', p.id),
    ),
    insertRefreshToken: prepare(
      db,
      (p: { tokenHash: string; sessionId: string; expiresAt: number }) =>
        qb.insertInto('refresh_tokens').values({
          token_hash: p.tokenHash,
          session_id: p.sessionId,
          expires_at: p.expiresAt,
          spent_at: null,
        }),
    ),
    refreshToken: prepare(db, (p: { tokenHash: string }) =>
      qb
        .selectFrom('refresh_tokens as t')
        .innerJoin('sessions as s', 's.id', 't.session_id')
        .select(['t.expires_at', 't.spent_at', 's.id', 's.user_id', 's.created_at', 's.revoked_at'])
        .where('t.token_hash', '=', p.tokenHash),
    ),
    spendRefreshToken: prepare(db, (p: { tokenHash: string; now: number }) =>
      qb
        .updateTable('refresh_tokens')
        .set({ spent_at: p.now })
        .where('token_hash', '=', p.tokenHash)
        .where('spent_at', 'is', null),
    ),
    revokeSession: prepare(db, (p: Id & { now: number }) =>
      qb
        .updateTable('sessions')
        .set({ revoked_at: p.now })
        .where('id', '=', p.id)
        .where('revoked_at', 'is', null),
    ),
    revokeUserSessions: prepare(db, (p: { userId: string; now: number; exceptId: string }) =>
      qb
        .updateTable('sessions')
        .set({ revoked_at: p.now })
        .where('user_id', '=', p.userId)
        .where('revoked_at', 'is', null)
        .where('id', '!=', p.exceptId)
        .returning('id'),
    ),

    // Contacts and blocks
    insertContact: prepare(db, (p: { ownerId: string; contactId: string; now: number }) =>
      qb
        .insertInto('contacts')
        .values({ owner_id: p.ownerId, contact_id: p.contactId, created_at: p.now })
        .onConflict((oc) => oc.doNothing()),
    ),
    deleteContact: prepare(db, (p: { ownerId: string; contactId: string }) =>
      qb
        .deleteFrom('contacts')
        .where('owner_id', '=', p.ownerId)
        .where('contact_id', '=', p.contactId),
    ),
    contacts: prepare(db, (p: { ownerId: string }) =>
      qb
        .selectFrom('contacts as k')
        .innerJoin('users as u', 'u.id', 'k.contact_id')
        .select(['u.id', 'u.username', 'u.display_name', 'u.last_seen_at'])
        .select(presenceVisible(sql.ref('k.owner_id'), sql.ref('k.contact_id')).as('visible'))
        .where('k.owner_id', '=', p.ownerId)
        .orderBy('u.username'),
    ),
    insertBlock: prepare(db, (p: { blockerId: string; blockedId: string; now: number }) =>
      qb
        .insertInto('blocks')
        .values({ blocker_id: p.blockerId, blocked_id: p.blockedId, created_at: p.now })
        .onConflict((oc) => oc.doNothing()),
    ),
    deleteBlock: prepare(db, (p: { blockerId: string; blockedId: string }) =>
      qb
        .deleteFrom('blocks')
        .where('blocker_id', '=', p.blockerId)
        .where('blocked_id', '=', p.blockedId),
    ),
    blocked: prepare(db, (p: { blockerId: string }) =>
      qb
        .selectFrom('blocks as b')
        .innerJoin('users as u', 'u.id', 'b.blocked_id')
        .select(['u.id', 'u.username', 'u.display_name'])
        .where('b.blocker_id', '=', p.blockerId)
        .orderBy('u.username'),
    ),
    /** Two primary-key probes; an OR of both pairs in one WHERE costs SQLite a multi-index scan. */
    blockEitherWay: prepare(db, (p: Pair) =>
      qb.selectNoFrom((eb) =>
        eb
          .or([
            eb.exists(
              eb
                .selectFrom('blocks')
                .select('blocker_id')
                .where('blocker_id', '=', p.a)
                .where('blocked_id', '=', p.b),
            ),
            eb.exists(
              eb
                .selectFrom('blocks')
                .select('blocker_id')
                .where('blocker_id', '=', p.b)
                .where('blocked_id', '=', p.a),
            ),
          ])
          .as('blocked'),
      ),
    ),
    // Who might see the user (contact owners, co-members), narrowed by the one rule.
    presenceAudience: prepare(db, (p: { userId: string }) =>
      qb
        .selectFrom(
          qb
            .selectFrom('contacts')
            .select('owner_id as id')
            .where('contact_id', '=', p.userId)
            .union(
              qb
                .selectFrom('members as mine')
                .innerJoin('members as m', 'm.conversation_id', 'mine.conversation_id')
                .select('m.user_id as id')
                .where('mine.user_id', '=', p.userId)
                .where('m.user_id', '!=', p.userId),
            )
            .as('candidate'),
        )
        .select('candidate.id')
        .where(presenceVisible(sql.ref('candidate.id'), p.userId)),
    ),
    canSeePresence: prepare(db, (p: { viewerId: string; subjectId: string }) =>
      qb.selectNoFrom(presenceVisible(p.viewerId, p.subjectId).as('visible')),
    ),
    blockPeers: prepare(db, (p: { userId: string }) =>
      qb
        .selectFrom('blocks')
        .select('blocked_id as id')
        .where('blocker_id', '=', p.userId)
        .union(
          qb.selectFrom('blocks').select('blocker_id as id').where('blocked_id', '=', p.userId),
        ),
    ),

    // Conversations
    insertConversation: prepare(
      db,
      (p: {
        id: string;
        kind: 'direct' | 'group';
        title: string | null;
        directKey: string | null;
        lastSeq: number;
        now: number;
      }) =>
        qb
          .insertInto('conversations')
          .values({
            id: p.id,
            kind: p.kind,
            title: p.title,
            direct_key: p.directKey,
            last_seq: p.lastSeq,
            created_at: p.now,
            last_activity_at: p.now,
            members_version: 0,
          })
          .onConflict((oc) => oc.column('direct_key').doNothing()),
    ),
    directByKey: prepare(db, (p: { directKey: string }) =>
      qb.selectFrom('conversations').select('id').where('direct_key', '=', p.directKey),
    ),
    insertMember: prepare(
      db,
      (p: ConvUser & { role: 'admin' | 'member'; now: number; readSeq: number; joinSeq: number }) =>
        qb.insertInto('members').values({
          conversation_id: p.conversationId,
          user_id: p.userId,
          role: p.role,
          joined_at: p.now,
          read_seq: p.readSeq,
          delivered_seq: p.readSeq,
          join_seq: p.joinSeq,
          muted: 0,
          archived: 0,
        }),
    ),
    /** The member row with what every access check on a conversation needs. */
    membership: prepare(db, (p: ConvUser) =>
      qb
        .selectFrom('members as m')
        .innerJoin('conversations as c', 'c.id', 'm.conversation_id')
        .select(MEMBERSHIP_COLUMNS)
        .where('m.conversation_id', '=', p.conversationId)
        .where('m.user_id', '=', p.userId),
    ),
    memberIds: prepare(db, (p: Conv) =>
      qb
        .selectFrom('members')
        .select('user_id')
        .where('conversation_id', '=', p.conversationId)
        .orderBy('join_seq')
        .orderBy('joined_at')
        .orderBy('user_id'),
    ),
    membersVersion: prepare(db, (p: Conv) =>
      qb.selectFrom('conversations').select('members_version').where('id', '=', p.conversationId),
    ),
    /** The other member of a direct conversation, and whether their account was deleted. */
    peerOf: prepare(db, (p: ConvUser) =>
      qb
        .selectFrom('members as m')
        .innerJoin('users as u', 'u.id', 'm.user_id')
        .select(['m.user_id', 'u.deleted_at'])
        .where('m.conversation_id', '=', p.conversationId)
        .where('m.user_id', '!=', p.userId)
        .limit(ONE),
    ),
    /**
     * A new message un-archives the conversation for everyone but its sender. INDEXED BY the
     * partial index members_archived: a probe of the few archived rows instead of a walk over
     * every member of a large group (without ANALYZE statistics SQLite would pick the primary
     * key), and a prepare-time error should the index ever go missing.
     */
    /** Cheap probe on the partial index: most conversations have nobody archived. */
    anyArchived: prepare(db, (p: { conversationId: string }) => ({
      compile: () =>
        sql<{ one: number }>`SELECT 1 AS one FROM members INDEXED BY members_archived
            WHERE conversation_id = ${p.conversationId} AND archived = 1 LIMIT 1`.compile(qb),
    })),
    unarchiveOthers: prepare(db, (p: ConvUser) => ({
      compile: () =>
        sql`UPDATE members INDEXED BY members_archived SET archived = 0
            WHERE conversation_id = ${p.conversationId} AND archived = 1
              AND user_id != ${p.userId}`.compile(qb),
    })),
    summaries: prepare(db, (p: { userId: string }) =>
      qb
        .selectFrom('members as mine')
        .innerJoin('conversations as c', 'c.id', 'mine.conversation_id')
        .select(['c.id', 'c.last_seq'])
        .where('mine.user_id', '=', p.userId)
        .orderBy('c.last_activity_at', 'desc')
        .orderBy('c.id', 'desc'),
    ),
    /** The ids of a page of the user's conversations (Store.listConversations). */
    conversationPage: prepare(
      db,
      (p: { userId: string; activityAt: number; id: string; limit: number }) =>
        qb
          .selectFrom('members as mine')
          .innerJoin('conversations as c', 'c.id', 'mine.conversation_id')
          .select(['c.id'])
          .where('mine.user_id', '=', p.userId)
          .where((eb) =>
            eb.or([
              eb('c.last_activity_at', '<', p.activityAt),
              eb.and([eb('c.last_activity_at', '=', p.activityAt), eb('c.id', '<', p.id)]),
            ]),
          )
          .orderBy('c.last_activity_at', 'desc')
          .orderBy('c.id', 'desc')
          .limit(p.limit),
    ),
    viewPage: conversationViewQueries(db, false),
    viewOne: conversationViewQueries(db, true),

    // Messages
    /** Takes the next gap-free seq: the row lock of this UPDATE serialises concurrent appends. */
    takeSeq: prepare(db, (p: Conv & { now: number }) =>
      qb
        .updateTable('conversations')
        .set((eb) => ({
          last_seq: eb('last_seq', '+', ONE),
          last_activity_at: sql<number>`max(last_activity_at, ${p.now})`,
        }))
        .where('id', '=', p.conversationId)
        .returning(['last_seq', 'members_version']),
    ),
    // Every column of the row, each bound by its name (shared/rows.ts builds the rows).
    insertMessage: prepare(db, (p: MessagesTable) =>
      qb.insertInto('messages').values(messageValues(p)),
    ),
    /**
     * The highest rowid the search index holds: it holds every row up to it and none above
     * (SqliteStore.deferSearchIndex says why).
     */
    indexedUpTo: prepare(db, (_p: Record<string, never>) => ({
      compile: () =>
        sql<{ rowid: number }>`SELECT coalesce(max(id), 0) AS rowid
            FROM messages_fts_docsize`.compile(qb),
    })),
    /**
     * Adds every row above `from` to the search index: the batched replacement of an AFTER
     * INSERT trigger. System messages and tombstones go in too, with their empty bodies, so the
     * index's row count matches the table and its delete triggers always find their row.
     */
    indexMessages: prepare(db, (p: { from: number }) => ({
      compile: () =>
        sql`INSERT INTO messages_fts(rowid, body)
            SELECT rowid, body FROM messages WHERE rowid > ${p.from}`.compile(qb),
    })),
    /** The same for the export index (sent_messages), kept in a row of its own (migration 11). */
    exportedUpTo: prepare(db, (_p: Record<string, never>) =>
      qb.selectFrom('sent_messages_mark').select('upto as rowid'),
    ),
    /** The export index now holds every row there is. */
    markExported: prepare(db, (_p: Record<string, never>) => ({
      compile: () =>
        sql`UPDATE sent_messages_mark
            SET upto = (SELECT coalesce(max(rowid), 0) FROM messages)`.compile(qb),
    })),
    /**
     * Adds every message with a sender above `from` to the export index, in its key order: a
     * catch-up of thousands of rows writes each sender's last leaf once, not once per message.
     */
    indexSenders: prepare(db, (p: { from: number }) => ({
      compile: () =>
        sql`INSERT INTO sent_messages (sender_id, conversation_id, seq, created_at)
            SELECT sender_id, conversation_id, seq, created_at FROM messages
            WHERE rowid > ${p.from} AND sender_id IS NOT NULL
            ORDER BY sender_id, conversation_id, seq`.compile(qb),
    })),
    messageBySeq: prepare(db, (p: Conv & { seq: number }) =>
      qb
        .selectFrom('messages as msg')
        .select(MESSAGE_COLUMNS)
        .where('msg.conversation_id', '=', p.conversationId)
        .where('msg.seq', '=', p.seq),
    ),
    /** Newest first: the page before `before`, read backward. */
    pageBackward: prepare(db, (p: Conv & { after: number; before: number; limit: number }) =>
      qb
        .selectFrom('messages as msg')
        .select(MESSAGE_COLUMNS)
        .where('msg.conversation_id', '=', p.conversationId)
        .where('msg.seq', '>', p.after)
        .where('msg.seq', '<', p.before)
        .orderBy('msg.seq', 'desc')
        .limit(p.limit),
    ),
    pageForward: prepare(db, (p: Conv & { after: number; before: number; limit: number }) =>
      qb
        .selectFrom('messages as msg')
        .select(MESSAGE_COLUMNS)
        .where('msg.conversation_id', '=', p.conversationId)
        .where('msg.seq', '>', p.after)
        .where('msg.seq', '<', p.before)
        .orderBy('msg.seq', 'asc')
        .limit(p.limit),
    ),
    reactionsBetween: prepare(db, (p: Conv & { from: number; to: number }) =>
      qb
        .selectFrom('reactions')
        .select(['conversation_id', 'seq', 'user_id', 'emoji'])
        .where('conversation_id', '=', p.conversationId)
        .where('seq', '>=', p.from)
        .where('seq', '<=', p.to)
        .orderBy('seq')
        .orderBy('created_at')
        .orderBy('user_id'),
    ),

    // Positions
    setPositions: prepare(db, (p: ConvUser & { readSeq: number; deliveredSeq: number }) =>
      qb
        .updateTable('members')
        .set({ read_seq: p.readSeq, delivered_seq: p.deliveredSeq })
        .where('conversation_id', '=', p.conversationId)
        .where('user_id', '=', p.userId),
    ),
    logPosition: prepare(
      db,
      (p: ConvUser & { kind: 'delivered' | 'read'; seq: number; at: number }) =>
        qb.insertInto('position_log').values({
          conversation_id: p.conversationId,
          user_id: p.userId,
          kind: p.kind,
          seq: p.seq,
          at: p.at,
        }),
    ),
    /**
     * For each member but the sender, the first time each position reached `seq`. Positions and
     * times grow together, so the first log entry at or past `seq` holds the answer, or the
     * member's first message after it, whichever came first. A read entry also counts as
     * delivered (see SqliteStore.receipts).
     */
    receipts: prepare(db, (p: Conv & { seq: number; senderId: string }) =>
      qb
        .selectFrom('members as m')
        .select((eb) => {
          const firstAt = (kind: 'delivered' | 'read') =>
            eb
              .selectFrom('position_log as l')
              .select('l.at')
              .whereRef('l.conversation_id', '=', 'm.conversation_id')
              .whereRef('l.user_id', '=', 'm.user_id')
              .where('l.kind', '=', sql.lit(kind))
              .where('l.seq', '>=', p.seq)
              .orderBy('l.seq')
              .limit(ONE);
          return [
            'm.user_id',
            firstAt('delivered').as('delivered_at'),
            firstAt('read').as('read_at'),
            // Sending reads everything before (sqlite/append.ts logs no entry for it): the
            // member's first message after `seq`, found in the export index (caught up first).
            eb
              .selectFrom('sent_messages as own')
              .select('own.created_at')
              .whereRef('own.sender_id', '=', 'm.user_id')
              .whereRef('own.conversation_id', '=', 'm.conversation_id')
              .where('own.seq', '>', p.seq)
              .orderBy('own.seq')
              .limit(ONE)
              .as('sent_after_at'),
          ];
        })
        .where('m.conversation_id', '=', p.conversationId)
        .where('m.user_id', '!=', p.senderId)
        // Someone who joined after the message never saw it and has no receipt for it.
        .where('m.join_seq', '<=', p.seq)
        .orderBy('m.join_seq')
        .orderBy('m.joined_at')
        .orderBy('m.user_id'),
    ),
  };
}

export type Queries = ReturnType<typeof createQueries>;
