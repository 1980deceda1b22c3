/**
 * The SQLite store's logic, synchronous over better-sqlite3. It runs inside the writer
 * (sqlite/writer.ts, on its worker thread or inline), which wraps each call in a savepoint of a
 * group-commit transaction; the methods themselves assume they already run inside a transaction.
 */
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
import type { ConversationViewQueries } from './queries.js';
import { SqliteAccounts } from './accounts.js';
import { SqliteFiles } from './files.js';
import type { FileRecord, FileSelector, NewFile, RemovedFiles } from '../store.js';
import type { Membership, SqliteCore } from './core.js';
import { SqliteGroups } from './groups.js';
import { SqliteMessageActions } from './message-actions.js';
import { SqlitePeople, type SqliteOptions } from './people.js';
import { SqlitePush } from './push.js';
import { searchMessages } from './search.js';
import { AppendPath } from './append.js';
import type { AppendQueries } from './queries-append.js';
import {
  directKeyOf,
  historyAfter,
  otherMembers,
  ownMoveIsLogged,
  pageLimit,
  refuseBlockedMembers,
  refuseDirectSend,
  refuseSelfConversation,
  toReceipt,
} from '../shared/rules.js';
import {
  toConversations,
  toMemberViews,
  toMessage,
  toMessages,
  systemMessageRow,
  type MessageRow,
} from '../shared/rows.js';

export { openDatabase, type SqliteOptions } from './people.js';

/** The Store methods the worker forwards; close and stats belong to the worker itself. */
import type { StoreMethod } from '../shared/store-methods.js';
export type { StoreMethod };

/** The Store with every method synchronous: what the worker calls. */
export type SyncStore = {
  [K in StoreMethod]: (...args: Parameters<Store[K]>) => Awaited<ReturnType<Store[K]>>;
};

/** One index, or both (sqlite/writer.ts catches each up on its own). */
export type IndexNeed = 'search' | 'export' | 'all';

/**
 * Reads that need an index complete (SqliteStore.deferSearchIndex), and which: the worker catches
 * that index up before them, which makes their batch a write. A search reads only the search
 * index; receipts and an export page only the export index (`sent_messages`), so neither waits
 * for the other's catch-up (the search index's costs ~3.5 ms per 1,000 rows, and owes merges).
 * `all`, both, is for writes that could change a body (SqliteStore.indexPending).
 */
export const READS_INDEXES: ReadonlyMap<StoreMethod, IndexNeed> = new Map<StoreMethod, IndexNeed>([
  ['search', 'search'],
  ['receipts', 'export'],
  ['sentMessages', 'export'],
]);

/** Above every seq: `seq < NO_UPPER_BOUND` is the absent `before`. */
const NO_UPPER_BOUND = Number.MAX_SAFE_INTEGER;

export class SqliteStore extends SqlitePeople implements SyncStore, SqliteCore {
  private readonly groups: SqliteGroups;
  private readonly actions: SqliteMessageActions;
  private readonly accounts: SqliteAccounts;
  private readonly push: SqlitePush;
  private readonly files: SqliteFiles;
  /** The append path and the conversation state it keeps (sqlite/append.ts). */
  readonly appends: AppendPath;

  constructor(file: string, options: SqliteOptions = {}) {
    super(file, options);
    this.appends = new AppendPath(this);
    this.groups = new SqliteGroups(this);
    this.actions = new SqliteMessageActions(this);
    this.accounts = new SqliteAccounts(this, this.groups);
    this.push = new SqlitePush(this.db);
    this.files = new SqliteFiles(this.db);
  }

  // Web Push (sqlite/push.ts)

  addPushSubscription(sub: NewPushSubscription, now: number): boolean {
    return this.push.addPushSubscription(sub, now);
  }

  removePushSubscription(sessionId: string, endpoint: string): boolean {
    return this.push.removePushSubscription(sessionId, endpoint);
  }

  deletePushEndpoint(endpoint: string): void {
    this.push.deletePushEndpoint(endpoint);
  }

  pushSubscriptions(userIds: string[]): PushSubscriptionRecord[] {
    return this.push.pushSubscriptions(userIds);
  }

  pushPreview(userId: string): boolean {
    return this.push.pushPreview(userId);
  }

  setPushPreview(userId: string, preview: boolean): void {
    this.push.setPushPreview(userId, preview);
  }

  // Files (sqlite/files.ts)

  createFile(file: NewFile): FileRecord {
    return this.files.createFile(file);
  }
  getFile(id: string): FileRecord | null {
    return this.files.getFile(id);
  }
  fileForViewer(fileId: string, userId: string): FileRecord | null {
    return this.files.fileForViewer(fileId, userId);
  }
  attachFiles(input: Parameters<Store['attachFiles']>[0]): FileRecord[] {
    return this.files.attachFiles(input);
  }
  uploadedBytes(userId: string): number {
    return this.files.uploadedBytes(userId);
  }
  removeFiles(selector: FileSelector): RemovedFiles {
    return this.files.removeFiles(selector);
  }
  startBlobDeletions(keys: string[], now: number): string[] {
    return this.files.startBlobDeletions(keys, now);
  }
  endBlobDeletions(keys: string[]): void {
    this.files.endBlobDeletions(keys);
  }
  staleBlobDeletions(before: number, limit: number): string[] {
    return this.files.staleBlobDeletions(before, limit);
  }

  // Accounts (sqlite/accounts.ts); users, sessions and contacts are in sqlite/people.ts

  deleteUser(input: { userId: string; now: number; messageIdPrefix: string }): AccountDeletion {
    return this.accounts.deleteUser(input);
  }

  sentMessages(userId: string, page: SentMessagesPage): Message[] {
    return this.accounts.sentMessages(userId, page);
  }

  prune(cutoffs: PruneCutoffs): PruneCounts {
    return this.accounts.prune(cutoffs);
  }

  // Conversations

  openDirect(
    id: string,
    userId: string,
    peerId: string,
    now: number,
  ): { conversation: Conversation; created: boolean } {
    refuseSelfConversation(userId, peerId);
    this.requireUser(userId);
    this.requireUser(peerId);
    const directKey = directKeyOf(userId, peerId);
    const inserted = this.q.insertConversation.run({
      id,
      kind: 'direct',
      title: null,
      directKey,
      lastSeq: 0,
      now,
    });
    const created = inserted.changes > 0;
    let conversationId = id;
    if (created) {
      for (const member of [userId, peerId]) {
        this.q.insertMember.run({
          conversationId: id,
          userId: member,
          role: 'member',
          now,
          readSeq: 0,
          joinSeq: 0,
        });
      }
    } else {
      conversationId = this.q.directByKey.get({ directKey })!.id;
    }
    return { conversation: this.requireConversation(conversationId, userId), created };
  }

  findDirect(userId: string, peerId: string): string | null {
    return this.q.directByKey.get({ directKey: directKeyOf(userId, peerId) })?.id ?? null;
  }

  createGroup(group: NewGroup): Conversation {
    const { id, creatorId, createdAt: now } = group;
    const others = otherMembers(creatorId, group.memberIds);
    for (const userId of [creatorId, ...others]) this.requireUser(userId);
    this.refuseBlockedMembers(creatorId, others);
    this.q.insertConversation.run({
      id,
      kind: 'group',
      title: group.title,
      directKey: null,
      lastSeq: 1,
      now,
    });
    this.q.insertMember.run({
      conversationId: id,
      userId: creatorId,
      role: 'admin',
      now,
      readSeq: 1,
      joinSeq: 0,
    });
    this.logPosition(id, creatorId, 'read', 1, now);
    for (const member of others) {
      this.q.insertMember.run({
        conversationId: id,
        userId: member,
        role: 'member',
        now,
        readSeq: 0,
        joinSeq: 0,
      });
    }
    const created: SystemEvent = {
      kind: 'created',
      actorId: creatorId,
      userIds: others,
      title: group.title,
    };
    this.insertMessageRow(systemMessageRow(id, group.systemMessageId, 1, created, now));
    return this.requireConversation(id, creatorId);
  }

  /** `blocked` when the actor blocked, or was blocked by, any of `userIds`. */
  refuseBlockedMembers(actorId: string, userIds: string[]): void {
    const blocked = this.a.blockedEitherWayWith.all({ userId: actorId });
    refuseBlockedMembers(
      blocked.map((row) => row.user_id),
      userIds,
    );
  }

  getConversation(conversationId: string, viewerId: string): Conversation | null {
    return this.views(this.q.viewOne, viewerId, conversationId)[0] ?? null;
  }

  listConversations(userId: string, page: ConversationPageQuery): Conversation[] {
    const ids = this.q.conversationPage.all({
      userId,
      // No cursor: before every time and id there is.
      activityAt: page.after?.activityAt ?? Number.MAX_SAFE_INTEGER,
      id: page.after?.id ?? '',
      limit: Math.max(0, Math.trunc(page.limit)),
    });
    if (ids.length === 0) return [];
    return this.views(this.q.viewPage, userId, JSON.stringify(ids.map((row) => row.id)));
  }

  listConversationSummaries(userId: string): ConversationSummary[] {
    return this.q.summaries.all({ userId }).map((row) => ({ id: row.id, lastSeq: row.last_seq }));
  }

  memberIds(conversationId: string): string[] {
    return this.q.memberIds.all({ conversationId }).map((row) => row.user_id);
  }

  memberSet(conversationId: string): MemberSet {
    const version = this.q.membersVersion.get({ conversationId })?.members_version ?? 0;
    return { userIds: this.memberIds(conversationId), version };
  }

  isMember(conversationId: string, userId: string): boolean {
    return this.q.membership.get({ conversationId, userId }) !== undefined;
  }

  conversationViews(conversationId: string, userIds: string[]): MemberView[] {
    const conversation = this.a.conversationById.get({ conversationId });
    if (!conversation) return [];
    const members = this.a.membersOf.all({ conversationId });
    const last = this.getMessage(conversationId, conversation.last_seq) ?? undefined;
    return toMemberViews(conversation, members, last, userIds);
  }

  updateSettings(
    conversationId: string,
    userId: string,
    settings: ConversationSettings,
  ): Conversation | null {
    if (!this.isMember(conversationId, userId)) return null;
    this.a.setSettings.run({
      conversationId,
      userId,
      muted: settings.muted,
      archived: settings.archived,
    });
    return this.getConversation(conversationId, userId);
  }

  // Group management (sqlite/groups.ts)

  renameGroup(input: GroupChangeBase & { title: string }): MemberChange {
    return this.groups.rename(input);
  }

  addMembers(input: GroupChangeBase & { userIds: string[] }): MemberChange {
    return this.groups.addMembers(input);
  }

  removeMember(input: GroupChangeBase & { userId: string }): MemberChange {
    return this.groups.removeMember(input);
  }

  setMemberRole(
    input: GroupChangeBase & { userId: string; role: 'admin' | 'member' },
  ): MemberChange {
    return this.groups.setRole(input);
  }

  // Messages

  appendMessage(message: NewMessage): AppendResult {
    return this.appends.append(message);
  }

  history(conversationId: string, viewerId: string, range: HistoryRange): HistoryPage | null {
    const member = this.q.membership.get({ conversationId, userId: viewerId });
    if (!member) return null;
    const limit = pageLimit(range.limit);
    const params = {
      conversationId,
      // Nothing from before the member joined: the page stops there with hasMore false.
      after: historyAfter(range.after, member.join_seq),
      before: range.before ?? NO_UPPER_BOUND,
      limit: limit + 1,
    };
    const forward = range.after !== undefined;
    const rows = forward ? this.q.pageForward.all(params) : this.q.pageBackward.all(params);
    const hasMore = rows.length > limit;
    const page = rows.slice(0, limit);
    if (!forward) page.reverse();
    if (page.length === 0) return { messages: [], hasMore };
    const reactions = this.q.reactionsBetween.all({
      conversationId,
      from: page[0]!.seq,
      to: page[page.length - 1]!.seq,
    });
    return { messages: toMessages(page, reactions), hasMore };
  }

  getMessage(conversationId: string, seq: number): Message | null {
    const row = this.q.messageBySeq.get({ conversationId, seq });
    if (!row) return null;
    const reactions = this.q.reactionsBetween.all({ conversationId, from: seq, to: seq });
    return toMessages([row], reactions)[0]!;
  }

  advancePosition(
    conversationId: string,
    userId: string,
    kind: ReceiptKind,
    seq: number,
    now: number,
  ): PositionResult | null {
    return this.appends.advance(conversationId, userId, kind, seq, now);
  }

  // Message actions (sqlite/message-actions.ts) and search (sqlite/search.ts)

  editMessage(input: MessageTarget & { body: string }): MessageChange {
    return this.withIndexCaughtUp(() => this.actions.edit(input));
  }

  deleteMessage(input: MessageTarget): MessageChange {
    return this.withIndexCaughtUp(() => this.actions.delete(input));
  }

  setReaction(input: MessageTarget & { emoji: string }): MessageChange {
    return this.actions.setReaction(input);
  }

  removeReaction(input: MessageTarget): MessageChange {
    return this.actions.removeReaction(input);
  }

  search(viewerId: string, input: SearchInput): SearchResult[] | null {
    if (input.conversationId !== undefined && !this.isMember(input.conversationId, viewerId)) {
      return null;
    }
    const reactionsOf = (conversationId: string, seq: number) =>
      this.getMessage(conversationId, seq)?.reactions ?? {};
    // The worker brings the index up to date before a search (SqliteStore.indexPending), so a
    // search finds every message committed before it.
    return searchMessages(this.a, reactionsOf, viewerId, input);
  }

  // The search and export indexes, filled in batches after the commit (docs/performance.md)

  /**
   * When on (the worker), appended rows reach the FTS index and the export index
   * (`sent_messages`) only when the worker catches them up (indexSearch and indexExport: in
   * batches after their commit; the one a call in READS_INDEXES reads before that call; both
   * before any other write that could delete or change a body: indexPending). Rows other calls
   * insert are indexed in that call. Off, every row is indexed by the statement that
   * inserted it, like the trigger it replaces.
   *
   * Rows wait for the indexes only at the end of the table: appends take rowid max + 1, and every
   * write that could delete a row catches the indexes up first. So "not yet in the search index"
   * is exactly "rowid above the search index's highest" (messages_fts_docsize), and "not yet in
   * the export index" exactly "rowid above its mark" (sent_messages_mark, written in the same
   * transaction as the rows), in every committed state too: a restart after kill -9 finds what
   * is missing from each.
   */
  deferSearchIndex = false;

  /** Inserts a message row (with `statement`, when not the plain insert); false if it did not. */
  insertMessageRow(
    row: MessageRow,
    statement: AppendQueries['insertSend'] = this.q.insertMessage,
    append = false,
  ): boolean {
    const { changes } = statement.run(row);
    if (changes === 0) return false;
    if (!(append && this.deferSearchIndex)) this.indexPending();
    return true;
  }

  insertMention(p: { conversationId: string; userId: string; seq: number }): void {
    this.push.insertMention(p);
  }

  /**
   * Runs a call for the worker: the method, then whatever keeps the append path's cache exact
   * (sqlite/append.ts), also when the method failed.
   */
  call(method: StoreMethod, args: unknown[]): unknown {
    try {
      return (this[method] as (...a: unknown[]) => unknown).apply(this, args);
    } finally {
      this.appends.afterCall(method);
    }
  }

  /** Writes the seqs and positions appends left for the end of the batch (sqlite/append.ts). */
  flushWrites(): void {
    this.appends.flushWrites();
  }

  /**
   * Brings the search index and the export index up to every message row there is (in this
   * transaction). Returns the rows added to the search index.
   */
  indexPending(): number {
    this.indexExport();
    return this.indexSearch();
  }

  /** Brings the search index up to every message row (in this transaction); returns the rows. */
  indexSearch(): number {
    const from = this.q.indexedUpTo.get({})!.rowid;
    return this.q.indexMessages.run({ from }).changes;
  }

  /** Brings the export index and its mark up to every message row (in this transaction). */
  indexExport(): void {
    this.q.indexSenders.run({ from: this.q.exportedUpTo.get({})!.rowid });
    this.q.markExported.run({});
  }

  /** The transaction was rolled back: what was cached in it may be gone with it. */
  forgetPending(): void {
    this.appends.discard();
  }

  /**
   * Runs `fn`, which changes indexed bodies (whose triggers delete the old text from the index:
   * it must be there).
   */
  private withIndexCaughtUp<T>(fn: () => T): T {
    this.indexPending();
    return fn();
  }

  receipts(conversationId: string, seq: number, viewerId: string): Receipt[] | null {
    const viewer = this.q.membership.get({ conversationId, userId: viewerId });
    if (!viewer || seq < viewer.join_seq) return null;
    const message = this.q.messageBySeq.get({ conversationId, seq });
    if (!message) return null;
    const rows = this.q.receipts.all({ conversationId, seq, senderId: message.sender_id ?? '' });
    // Reading implies delivery, and read entries stand in for delivered ones; so does sending.
    return rows.map(toReceipt);
  }

  // Helpers

  private views(queries: ConversationViewQueries, viewerId: string, conversationId: string) {
    const params = { viewerId, conversationId };
    const conversations = queries.conversations.all(params);
    if (conversations.length === 0) return [];
    return toConversations(
      viewerId,
      conversations,
      queries.members.all(params),
      queries.lastMessages.all(params),
      queries.lastReactions.all(params),
    );
  }

  private requireConversation(conversationId: string, viewerId: string): Conversation {
    const conversation = this.getConversation(conversationId, viewerId);
    if (!conversation) throw new LetterError('not_found');
    return conversation;
  }

  requireMessage(conversationId: string, seq: number): Message {
    const message = this.getMessage(conversationId, seq);
    if (!message) throw new LetterError('not_found');
    return message;
  }

  /** The actor's membership, or `not_found`: the one answer a non-member gets. */
  requireMembership(conversationId: string, userId: string): Membership {
    const membership = this.q.membership.get({ conversationId, userId });
    if (!membership) throw new LetterError('not_found');
    return membership;
  }

  /** Sending (or editing, reacting) in a direct conversation: refused when blocked or deleted. */
  checkDirectSend(conversationId: string, userId: string): void {
    const peer = this.q.peerOf.get({ conversationId, userId });
    if (!peer) return;
    refuseDirectSend(peer.deleted_at, this.isBlockedEitherWay(userId, peer.user_id));
  }

  /**
   * Appends a system message with the next seq. The actor, when still a member, has seen it:
   * like a sender, their positions move to it.
   */
  appendSystemMessage(
    conversationId: string,
    id: string,
    event: SystemEvent,
    now: number,
  ): Message {
    const seq = this.q.takeSeq.get({ conversationId, now })!.last_seq;
    const row = systemMessageRow(conversationId, id, seq, event, now);
    this.insertMessageRow(row);
    if (event.actorId !== null) {
      const actor = this.q.membership.get({ conversationId, userId: event.actorId });
      if (actor) this.moveOwnPositions(conversationId, event.actorId, actor, seq, now);
    }
    return toMessage(row);
  }

  /**
   * The sender has seen everything up to their own message. One read entry dates both positions;
   * it is only worth writing when it covers someone else's message: with the position already at
   * seq - 1 it would only date the sender's own message, which receipts never report.
   */
  private moveOwnPositions(
    conversationId: string,
    userId: string,
    before: { read_seq: number },
    seq: number,
    now: number,
  ): void {
    this.q.setPositions.run({ conversationId, userId, readSeq: seq, deliveredSeq: seq });
    if (ownMoveIsLogged(before, seq)) this.logPosition(conversationId, userId, 'read', seq, now);
  }

  logPosition(
    conversationId: string,
    userId: string,
    kind: ReceiptKind,
    seq: number,
    at: number,
  ): void {
    this.q.logPosition.run({ conversationId, userId, kind, seq, at });
  }
}
