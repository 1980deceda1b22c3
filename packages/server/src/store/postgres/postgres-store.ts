/**
 * The PostgreSQL store's logic (postgres/open.ts opens it): the same contract as the SQLite store (store.ts), for deployments with
 * several nodes. kysely over a `pg` pool is the one query layer. Every write is one READ
 * COMMITTED transaction whose checks run after it locked the rows they depend on: the
 * conversation row (taking a seq locks it) for appends and group changes, the message row for
 * edits, deletes and reactions, the member row for positions, user rows (FOR SHARE) for anything
 * that needs a live user. ARCHITECTURE.md ("PostgreSQL") explains the choice.
 */
import { sql } from 'kysely';
import type pg from 'pg';
import type { AppendBatchStats, AppendReads } from './append-batch.js';
import {
  LetterError,
  type Conversation,
  type Message,
  type Receipt,
  type ReceiptKind,
  type SearchResult,
  type SystemEvent,
} from '@letter/protocol';
import type {
  AccountDeletion,
  PruneCounts,
  PruneCutoffs,
  AppendResult,
  ConversationSettings,
  ConversationSummary,
  GroupChangeBase,
  HistoryPage,
  HistoryRange,
  MemberChange,
  MemberSet,
  MemberView,
  MessageChange,
  MessageTarget,
  NewMessage,
  PositionResult,
  SearchInput,
  ConversationPageQuery,
  SentMessagesPage,
  Store,
  NewGroup,
  NewPushSubscription,
  PushSubscriptionRecord,
} from '../store.js';
import { readTx, writeTx, type Db } from './db.js';
import { PostgresAppends } from './appends.js';
import { PositionBatcher } from './position-batch.js';
import type { BatchStats } from './pipeline.js';
import { PostgresAccounts } from './accounts.js';
import { PostgresPush } from './push.js';
import { PostgresFiles } from './files.js';
import type { FileRecord, FileSelector, NewFile, RemovedFiles } from '../store.js';
import type { PostgresCore } from './core.js';
import { PostgresGroups } from './groups.js';
import { PostgresMessageActions } from './message-actions.js';
import { PostgresPeople } from './people.js';
import { advancePosition, logPosition, moveOwnPositions, receipts } from './positions.js';
import { DEFAULT_SEARCH_TIMEOUT_MS, searchInReadTx, searchVector } from './search.js';
import {
  conversationPage,
  conversationsFor,
  memberSetOf,
  memberViews,
  membershipOf,
  messagesBetween,
  newMember,
  type Membership,
} from './views.js';
import { MESSAGE_COLUMNS } from '../shared/tables.js';
import { blockedEitherWayWith } from '../shared/queries.js';
import {
  directKeyOf,
  historyAfter,
  otherMembers,
  pageLimit,
  refuseBlockedMembers,
  refuseDirectSend,
  refuseSelfConversation,
} from '../shared/rules.js';
import { systemMessageRow, toMessages, type MessageRow } from '../shared/rows.js';

/** Every Store method but the lifecycle the handle in postgres/open.ts owns. */
export type PostgresStoreMethods = Omit<Store, 'close' | 'stats'>;

export class PostgresStore extends PostgresPeople implements PostgresStoreMethods, PostgresCore {
  private readonly appends: PostgresAppends;
  private readonly positions: PositionBatcher;

  /**
   * `appendPool`: pipelined connections (createPool with `pipeline: true`) for the batches of
   * appends and of positions; `appendReads`: how append batches read (append-batch.ts).
   */
  constructor(
    db: Db,
    schema: string | undefined,
    appendPool: pg.Pool,
    appendReads: AppendReads = 'locked',
    /** How long append and position batches may wait for company (tick-batcher.ts). */
    commitDelayMs = 0,
  ) {
    super(db, schema);
    this.appends = new PostgresAppends(this, appendPool, appendReads, commitDelayMs);
    this.positions = new PositionBatcher(
      appendPool,
      (input) =>
        advancePosition(db, input.conversationId, input.userId, input.kind, input.seq, input.now),
      commitDelayMs,
    );
  }

  /** Append batches so far (postgres/append-batch.ts): for measurements and tests. */
  get appendStats(): AppendBatchStats {
    return this.appends.stats;
  }

  /** Resolves when no background work (a pending-list merge) is running: before closing. */
  idle(): Promise<void> {
    return this.appends.pendingList.idle();
  }

  /** Position batches so far (postgres/position-batch.ts). */
  get positionStats(): BatchStats {
    return this.positions.stats;
  }

  private readonly groups = new PostgresGroups(this);
  private readonly actions = new PostgresMessageActions(this);
  private readonly accounts = new PostgresAccounts(this, this.groups);
  private readonly push = new PostgresPush(this.db);

  // Web Push (postgres/push.ts)

  addPushSubscription(sub: NewPushSubscription, now: number): Promise<boolean> {
    return this.push.addPushSubscription(sub, now);
  }

  removePushSubscription(sessionId: string, endpoint: string): Promise<boolean> {
    return this.push.removePushSubscription(sessionId, endpoint);
  }

  deletePushEndpoint(endpoint: string): Promise<void> {
    return this.push.deletePushEndpoint(endpoint);
  }

  pushSubscriptions(userIds: string[]): Promise<PushSubscriptionRecord[]> {
    return this.push.pushSubscriptions(userIds);
  }

  pushPreview(userId: string): Promise<boolean> {
    return this.push.pushPreview(userId);
  }

  setPushPreview(userId: string, preview: boolean): Promise<void> {
    return this.push.setPushPreview(userId, preview);
  }

  private readonly files = new PostgresFiles(this.db);

  // Files (postgres/files.ts)

  createFile(file: NewFile): Promise<FileRecord> {
    return this.files.createFile(file);
  }
  startBlobDeletions(keys: string[], now: number): Promise<string[]> {
    return this.files.startBlobDeletions(keys, now);
  }
  endBlobDeletions(keys: string[]): Promise<void> {
    return this.files.endBlobDeletions(keys);
  }
  staleBlobDeletions(before: number, limit: number): Promise<string[]> {
    return this.files.staleBlobDeletions(before, limit);
  }
  getFile(id: string): Promise<FileRecord | null> {
    return this.files.getFile(id);
  }
  fileForViewer(fileId: string, userId: string): Promise<FileRecord | null> {
    return this.files.fileForViewer(fileId, userId);
  }
  attachFiles(input: Parameters<Store['attachFiles']>[0]): Promise<FileRecord[]> {
    return this.files.attachFiles(input);
  }
  uploadedBytes(userId: string): Promise<number> {
    return this.files.uploadedBytes(userId);
  }
  removeFiles(selector: FileSelector): Promise<RemovedFiles> {
    return this.files.removeFiles(selector);
  }

  // Accounts (postgres/accounts.ts)

  deleteUser(input: {
    userId: string;
    now: number;
    messageIdPrefix: string;
  }): Promise<AccountDeletion> {
    return this.accounts.deleteUser(input);
  }

  sentMessages(userId: string, page: SentMessagesPage): Promise<Message[]> {
    return this.accounts.sentMessages(userId, page);
  }

  prune(cutoffs: PruneCutoffs): Promise<PruneCounts> {
    return this.accounts.prune(cutoffs);
  }

  // Conversations

  async openDirect(
    id: string,
    userId: string,
    peerId: string,
    now: number,
  ): Promise<{ conversation: Conversation; created: boolean }> {
    refuseSelfConversation(userId, peerId);
    return writeTx(this.db, async (tx) => {
      await this.requireUsers(tx, [userId, peerId]);
      const directKey = directKeyOf(userId, peerId);
      // The UNIQUE direct_key decides: a concurrent opener of the same pair waits for ours to
      // commit, then inserts nothing and reads ours.
      const inserted = await tx
        .insertInto('conversations')
        .values({
          id,
          kind: 'direct',
          title: null,
          direct_key: directKey,
          last_seq: 0,
          created_at: now,
          last_activity_at: now,
          members_version: 0,
        })
        .onConflict((oc) => oc.column('direct_key').doNothing())
        .returning('id')
        .executeTakeFirst();
      let conversationId = id;
      if (inserted) {
        await tx
          .insertInto('members')
          .values([userId, peerId].map((member) => newMember(id, member, 'member', now, 0, 0)))
          .execute();
      } else {
        const existing = await tx
          .selectFrom('conversations')
          .select('id')
          .where('direct_key', '=', directKey)
          .executeTakeFirstOrThrow();
        conversationId = existing.id;
      }
      const conversation = (await conversationsFor(tx, userId, conversationId))[0];
      if (!conversation) throw new LetterError('not_found');
      return { conversation, created: inserted !== undefined };
    });
  }

  async findDirect(userId: string, peerId: string): Promise<string | null> {
    const row = await this.db
      .selectFrom('conversations')
      .select('id')
      .where('direct_key', '=', directKeyOf(userId, peerId))
      .executeTakeFirst();
    return row?.id ?? null;
  }

  async createGroup(group: NewGroup): Promise<Conversation> {
    const { id, creatorId, createdAt: now } = group;
    const others = otherMembers(creatorId, group.memberIds);
    return writeTx(this.db, async (tx) => {
      await this.requireUsers(tx, [creatorId, ...others]);
      await this.refuseBlockedMembers(tx, creatorId, others);
      await tx
        .insertInto('conversations')
        .values({
          id,
          kind: 'group',
          title: group.title,
          direct_key: null,
          last_seq: 1,
          created_at: now,
          last_activity_at: now,
          members_version: 0,
        })
        .execute();
      await tx
        .insertInto('members')
        .values([
          newMember(id, creatorId, 'admin', now, 1, 0),
          ...others.map((member) => newMember(id, member, 'member', now, 0, 0)),
        ])
        .execute();
      await logPosition(tx, id, creatorId, 'read', 1, now);
      const created: SystemEvent = {
        kind: 'created',
        actorId: creatorId,
        userIds: others,
        title: group.title,
      };
      await this.insertMessage(tx, systemMessageRow(id, group.systemMessageId, 1, created, now));
      const conversation = (await conversationsFor(tx, creatorId, id))[0];
      if (!conversation) throw new LetterError('not_found');
      return conversation;
    });
  }

  /** `blocked` when the actor blocked, or was blocked by, any of `userIds`. */
  async refuseBlockedMembers(db: Db, actorId: string, userIds: string[]): Promise<void> {
    const blocked = await blockedEitherWayWith(db, actorId).execute();
    refuseBlockedMembers(
      blocked.map((row) => row.user_id),
      userIds,
    );
  }

  async getConversation(conversationId: string, viewerId: string): Promise<Conversation | null> {
    const views = await readTx(this.db, (tx) => conversationsFor(tx, viewerId, conversationId));
    return views[0] ?? null;
  }

  listConversations(userId: string, page: ConversationPageQuery): Promise<Conversation[]> {
    return readTx(this.db, (tx) => conversationPage(tx, userId, page));
  }

  async listConversationSummaries(userId: string): Promise<ConversationSummary[]> {
    const rows = await this.db
      .selectFrom('members as mine')
      .innerJoin('conversations as c', 'c.id', 'mine.conversation_id')
      .select(['c.id', 'c.last_seq'])
      .where('mine.user_id', '=', userId)
      .orderBy('c.last_activity_at', 'desc')
      .orderBy('c.id', 'desc')
      .execute();
    return rows.map((row) => ({ id: row.id, lastSeq: row.last_seq }));
  }

  async memberIds(conversationId: string): Promise<string[]> {
    return (await memberSetOf(this.db, conversationId)).userIds;
  }

  memberSet(conversationId: string): Promise<MemberSet> {
    return memberSetOf(this.db, conversationId);
  }

  async isMember(conversationId: string, userId: string): Promise<boolean> {
    return (await membershipOf(this.db, conversationId, userId)) !== undefined;
  }

  conversationViews(conversationId: string, userIds: string[]): Promise<MemberView[]> {
    return readTx(this.db, (tx) => memberViews(tx, conversationId, userIds));
  }

  async updateSettings(
    conversationId: string,
    userId: string,
    settings: ConversationSettings,
  ): Promise<Conversation | null> {
    const flag = (value: boolean | undefined) => (value === undefined ? null : value ? 1 : 0);
    return writeTx(this.db, async (tx) => {
      const updated = await tx
        .updateTable('members')
        .set({
          muted: sql<0 | 1>`coalesce(${flag(settings.muted)}::smallint, muted)`,
          archived: sql<0 | 1>`coalesce(${flag(settings.archived)}::smallint, archived)`,
        })
        .where('conversation_id', '=', conversationId)
        .where('user_id', '=', userId)
        .executeTakeFirst();
      if (updated.numUpdatedRows === 0n) return null;
      return (await conversationsFor(tx, userId, conversationId))[0] ?? null;
    });
  }

  // Group management (postgres/groups.ts)

  renameGroup(input: GroupChangeBase & { title: string }): Promise<MemberChange> {
    return this.groups.rename(input);
  }

  addMembers(input: GroupChangeBase & { userIds: string[] }): Promise<MemberChange> {
    return this.groups.addMembers(input);
  }

  removeMember(input: GroupChangeBase & { userId: string }): Promise<MemberChange> {
    return this.groups.removeMember(input);
  }

  setMemberRole(
    input: GroupChangeBase & { userId: string; role: 'admin' | 'member' },
  ): Promise<MemberChange> {
    return this.groups.setRole(input);
  }

  // Messages

  appendMessage(message: NewMessage): Promise<AppendResult> {
    return this.appends.append(message);
  }

  async history(
    conversationId: string,
    viewerId: string,
    range: HistoryRange,
  ): Promise<HistoryPage | null> {
    return readTx(this.db, async (tx) => {
      const member = await membershipOf(tx, conversationId, viewerId);
      if (!member) return null;
      const limit = pageLimit(range.limit);
      // Nothing from before the member joined: the page stops there with hasMore false.
      const after = historyAfter(range.after, member.join_seq);
      const forward = range.after !== undefined;
      let query = tx
        .selectFrom('messages as msg')
        .select(MESSAGE_COLUMNS)
        .where('msg.conversation_id', '=', conversationId)
        .where('msg.seq', '>', after);
      if (range.before !== undefined) query = query.where('msg.seq', '<', range.before);
      const rows: MessageRow[] = await query
        .orderBy('msg.seq', forward ? 'asc' : 'desc')
        .limit(limit + 1)
        .execute();
      const hasMore = rows.length > limit;
      const page = rows.slice(0, limit);
      if (!forward) page.reverse();
      if (page.length === 0) return { messages: [], hasMore };
      const from = page[0]!.seq;
      const to = page[page.length - 1]!.seq;
      const reactions = await tx
        .selectFrom('reactions')
        .select(['conversation_id', 'seq', 'user_id', 'emoji'])
        .where('conversation_id', '=', conversationId)
        .where('seq', '>=', from)
        .where('seq', '<=', to)
        .orderBy('seq')
        .orderBy('created_at')
        .orderBy('user_id')
        .execute();
      return { messages: toMessages(page, reactions), hasMore };
    });
  }

  async getMessage(conversationId: string, seq: number): Promise<Message | null> {
    const messages = await readTx(this.db, (tx) => messagesBetween(tx, conversationId, seq));
    return messages[0] ?? null;
  }

  // Positions and receipts (postgres/positions.ts)

  advancePosition(
    conversationId: string,
    userId: string,
    kind: ReceiptKind,
    seq: number,
    now: number,
  ): Promise<PositionResult | null> {
    return this.positions.move({ conversationId, userId, kind, seq, now });
  }

  receipts(conversationId: string, seq: number, viewerId: string): Promise<Receipt[] | null> {
    return receipts(this.db, conversationId, seq, viewerId);
  }

  // Message actions (postgres/message-actions.ts) and search (postgres/search.ts)

  editMessage(input: MessageTarget & { body: string }): Promise<MessageChange> {
    return this.actions.edit(input);
  }

  deleteMessage(input: MessageTarget): Promise<MessageChange> {
    return this.actions.delete(input);
  }

  setReaction(input: MessageTarget & { emoji: string }): Promise<MessageChange> {
    return this.actions.setReaction(input);
  }

  removeReaction(input: MessageTarget): Promise<MessageChange> {
    return this.actions.removeReaction(input);
  }

  /** How long one search may run (its read transaction's statement_timeout), in ms. */
  searchTimeoutMs = DEFAULT_SEARCH_TIMEOUT_MS;

  search(viewerId: string, input: SearchInput): Promise<SearchResult[] | null> {
    return searchInReadTx(this.db, viewerId, input, this.searchTimeoutMs);
  }

  // Helpers for this class and its parts (groups, message actions, accounts)

  /**
   * Takes the next seq and locks the conversation row until commit; undefined when there is no
   * such conversation.
   */
  takeSeq(db: Db, conversationId: string, now: number) {
    return db
      .updateTable('conversations')
      .set((eb) => ({
        last_seq: eb('last_seq', '+', 1),
        last_activity_at: sql<number>`greatest(last_activity_at, ${now}::bigint)`,
      }))
      .where('id', '=', conversationId)
      .returning(['last_seq', 'members_version'])
      .executeTakeFirst();
  }

  /** The actor's membership, or `not_found`: the one answer a non-member gets. */
  async requireMembership(db: Db, conversationId: string, userId: string): Promise<Membership> {
    const membership = await membershipOf(db, conversationId, userId);
    if (!membership) throw new LetterError('not_found');
    return membership;
  }

  /** Sending (or editing, reacting) in a direct conversation: refused when blocked or deleted. */
  async checkDirectSend(db: Db, conversationId: string, userId: string): Promise<void> {
    const peer = await db
      .selectFrom('members as m')
      .innerJoin('users as u', 'u.id', 'm.user_id')
      .select(['m.user_id', 'u.deleted_at'])
      .where('m.conversation_id', '=', conversationId)
      .where('m.user_id', '!=', userId)
      .limit(1)
      .executeTakeFirst();
    if (!peer) return;
    refuseDirectSend(peer.deleted_at, await this.blockedEitherWayIn(db, userId, peer.user_id));
  }

  /** Inserts a message row with its search vector; false when (sender, clientMsgId) clashed. */
  async insertMessage(db: Db, row: MessageRow): Promise<boolean> {
    const inserted = await db
      .insertInto('messages')
      .values({
        ...row,
        search_vector: sql`${row.deleted_at === null ? searchVector(row.body) : ''}::tsvector`,
      })
      .onConflict((oc) => oc.columns(['sender_id', 'client_msg_id']).doNothing())
      .executeTakeFirst();
    return inserted.numInsertedOrUpdatedRows === 1n;
  }

  /**
   * Appends a system message with the next seq (the caller holds the conversation lock). The
   * actor, when still a member, has seen it: like a sender, their positions move to it.
   */
  async appendSystemMessage(
    db: Db,
    conversationId: string,
    id: string,
    event: SystemEvent,
    now: number,
  ): Promise<Message> {
    const taken = await this.takeSeq(db, conversationId, now);
    if (!taken) throw new LetterError('not_found');
    const row = systemMessageRow(conversationId, id, taken.last_seq, event, now);
    await this.insertMessage(db, row);
    if (event.actorId !== null) {
      const actor = await membershipOf(db, conversationId, event.actorId);
      if (actor) await moveOwnPositions(db, conversationId, event.actorId, actor, row.seq, now);
    }
    return toMessages([row], [])[0]!;
  }
}
