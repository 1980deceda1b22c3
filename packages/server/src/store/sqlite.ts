/**
 * The SQLite store's logic, synchronous over better-sqlite3. It runs inside the worker thread
 * (sqlite-worker.ts), which wraps each call in a savepoint of a group-commit transaction; the
 * methods themselves assume they already run inside a transaction.
 */
import Database from 'better-sqlite3';
import {
  LetterError,
  type Conversation,
  type Message,
  type Receipt,
  type ReceiptKind,
  type User,
} from '@letter/protocol';
import { iso } from '../util/clock.js';
import type {
  AppendResult,
  ConversationSummary,
  HistoryPage,
  HistoryRange,
  NewMessage,
  NewUser,
  PositionResult,
  RefreshOutcome,
  SessionRecord,
  Store,
  UserRecord,
} from './store.js';
import type { Db } from './sqlite-db.js';
import { migrate } from './sqlite-migrations.js';
import { createQueries, type ConversationViewQueries, type Queries } from './sqlite-queries.js';
import { toConversations, toMessage, toMessages, toUser, toUserRecord } from './sqlite-views.js';

/** The Store methods the worker forwards; close and stats belong to the worker itself. */
export type StoreMethod = Exclude<keyof Store, 'close' | 'stats'>;

/** The Store with every method synchronous: what the worker calls. */
export type SyncStore = {
  [K in StoreMethod]: (...args: Parameters<Store[K]>) => Awaited<ReturnType<Store[K]>>;
};

/** Above every seq: `seq < NO_UPPER_BOUND` is the absent `before`. */
const NO_UPPER_BOUND = Number.MAX_SAFE_INTEGER;

export interface SqliteOptions {
  /** Milliseconds to wait for a lock held by another connection (e.g. a backup). */
  busyTimeoutMs?: number;
}

export function openDatabase(file: string, options: SqliteOptions = {}): Db {
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    // An acknowledged message must survive power loss, not only a crash: fsync every commit.
    // Group commit in the worker spreads that fsync over a whole batch of requests.
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 5000)}`);
    db.pragma('temp_store = MEMORY');
    // Automatic checkpoints stay on: they run on this (worker) thread after a commit.
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

export class SqliteStore implements SyncStore {
  readonly db: Db;
  private readonly q: Queries;

  constructor(file: string, options: SqliteOptions = {}) {
    this.db = openDatabase(file, options);
    this.q = createQueries(this.db);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  migrate(): void {
    migrate(this.db);
  }

  ping(): void {
    this.db.prepare('SELECT 1').get();
  }

  // Users

  createUser(user: NewUser): User {
    const username = user.username.toLowerCase();
    if (this.q.userByUsername.get({ username })) throw new LetterError('username_taken');
    this.q.insertUser.run({ ...user, username });
    return { id: user.id, username, displayName: user.displayName };
  }

  getUserByUsername(username: string): UserRecord | null {
    const row = this.q.userByUsername.get({ username: username.toLowerCase() });
    return row ? toUserRecord(row) : null;
  }

  getUser(id: string): UserRecord | null {
    const row = this.q.userById.get({ id });
    return row ? toUserRecord(row) : null;
  }

  getUsers(ids: string[]): User[] {
    const byId = new Map(
      this.q.usersByIds.all({ idsJson: JSON.stringify(ids) }).map((row) => [row.id, toUser(row)]),
    );
    const seen = new Set<string>();
    const users: User[] = [];
    for (const id of ids) {
      const user = byId.get(id);
      if (user && !seen.has(id)) users.push(user);
      seen.add(id);
    }
    return users;
  }

  searchUsers(prefix: string, limit: number, excludeId: string): User[] {
    const from = prefix.toLowerCase();
    // A range on the username index: every string with this prefix sorts below prefix+U+10FFFF.
    const rows = this.q.searchUsers.all({ from, to: `${from}\u{10FFFF}`, excludeId, limit });
    return rows.map(toUser);
  }

  updateDisplayName(userId: string, displayName: string): User {
    if (this.q.setDisplayName.run({ id: userId, displayName }).changes === 0) {
      throw new LetterError('not_found');
    }
    return toUser(this.requireUser(userId));
  }

  updatePasswordHash(userId: string, passwordHash: string): void {
    if (this.q.setPasswordHash.run({ id: userId, passwordHash }).changes === 0) {
      throw new LetterError('not_found');
    }
  }

  setLastSeen(userId: string, at: number): void {
    this.q.setLastSeen.run({ id: userId, at });
  }

  // Sessions

  createSession(session: {
    id: string;
    userId: string;
    refreshHash: string;
    createdAt: number;
    expiresAt: number;
  }): void {
    this.q.insertSession.run(session);
    this.q.insertRefreshToken.run({
      tokenHash: session.refreshHash,
      sessionId: session.id,
      expiresAt: session.expiresAt,
    });
  }

  getSession(id: string): SessionRecord | null {
    const row = this.q.sessionById.get({ id });
    return row ? toSession(row) : null;
  }

  rotateRefreshToken(
    oldHash: string,
    newHash: string,
    now: number,
    expiresAt: number,
  ): RefreshOutcome {
    const row = this.q.refreshToken.get({ tokenHash: oldHash });
    if (!row || row.revoked_at !== null) return { kind: 'invalid' };
    if (row.spent_at !== null) {
      // Someone presents a token that was already exchanged: one of the two copies is stolen,
      // and we cannot tell which, so the whole session dies.
      this.q.revokeSession.run({ id: row.id, now });
      return { kind: 'reuse', sessionId: row.id, userId: row.user_id };
    }
    if (row.expires_at <= now) return { kind: 'invalid' };
    this.q.spendRefreshToken.run({ tokenHash: oldHash, now });
    this.q.insertRefreshToken.run({ tokenHash: newHash, sessionId: row.id, expiresAt });
    return { kind: 'rotated', session: toSession(row) };
  }

  revokeSession(id: string, now: number): void {
    this.q.revokeSession.run({ id, now });
  }

  revokeUserSessions(userId: string, now: number, exceptId?: string): string[] {
    const rows = this.q.revokeUserSessions.all({ userId, now, exceptId: exceptId ?? '' });
    return rows.map((row) => row.id);
  }

  // Contacts and blocks

  addContact(ownerId: string, contactId: string, now: number): boolean {
    this.requireUser(contactId);
    return this.q.insertContact.run({ ownerId, contactId, now }).changes > 0;
  }

  removeContact(ownerId: string, contactId: string): void {
    this.q.deleteContact.run({ ownerId, contactId });
  }

  listContacts(ownerId: string): { user: User; lastSeenAt: string | null }[] {
    return this.q.contacts.all({ ownerId }).map((row) => ({
      user: toUser(row),
      lastSeenAt: row.last_seen_at === null ? null : iso(row.last_seen_at),
    }));
  }

  block(blockerId: string, blockedId: string, now: number): void {
    this.requireUser(blockedId);
    this.q.insertBlock.run({ blockerId, blockedId, now });
  }

  unblock(blockerId: string, blockedId: string): void {
    this.q.deleteBlock.run({ blockerId, blockedId });
  }

  listBlocked(blockerId: string): User[] {
    return this.q.blocked.all({ blockerId }).map(toUser);
  }

  isBlockedEitherWay(a: string, b: string): boolean {
    return this.q.blockEitherWay.get({ a, b })?.blocked === 1;
  }

  presenceAudience(userId: string): string[] {
    return this.q.presenceAudience.all({ userId }).map((row) => row.id);
  }

  // Conversations

  openDirect(
    id: string,
    userId: string,
    peerId: string,
    now: number,
  ): { conversation: Conversation; created: boolean } {
    if (userId === peerId) throw new LetterError('bad_request', 'Cannot talk to yourself.');
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

  createGroup(group: {
    id: string;
    title: string;
    creatorId: string;
    memberIds: string[];
    createdAt: number;
    systemMessageId: string;
  }): Conversation {
    const { id, creatorId, createdAt: now } = group;
    const others = [...new Set(group.memberIds)].filter((member) => member !== creatorId);
    if (this.getUsers([creatorId, ...others]).length !== others.length + 1) {
      throw new LetterError('not_found', 'Unknown user.');
    }
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
    });
    this.logPosition(id, creatorId, 'read', 1, now);
    for (const member of others) {
      this.q.insertMember.run({
        conversationId: id,
        userId: member,
        role: 'member',
        now,
        readSeq: 0,
      });
    }
    this.q.insertMessage.run({
      id: group.systemMessageId,
      conversationId: id,
      seq: 1,
      senderId: null,
      clientMsgId: null,
      body: '',
      createdAt: now,
      replyToSeq: null,
      systemJson: JSON.stringify({
        kind: 'created',
        actorId: creatorId,
        userIds: others,
        title: group.title,
      }),
    });
    return this.requireConversation(id, creatorId);
  }

  getConversation(conversationId: string, viewerId: string): Conversation | null {
    return this.views(this.q.viewOne, viewerId, conversationId)[0] ?? null;
  }

  listConversations(userId: string): Conversation[] {
    return this.views(this.q.viewAll, userId, '');
  }

  listConversationSummaries(userId: string): ConversationSummary[] {
    return this.q.summaries.all({ userId }).map((row) => ({ id: row.id, lastSeq: row.last_seq }));
  }

  memberIds(conversationId: string): string[] {
    return this.q.memberIds.all({ conversationId }).map((row) => row.user_id);
  }

  isMember(conversationId: string, userId: string): boolean {
    return this.q.membership.get({ conversationId, userId }) !== undefined;
  }

  // Messages

  appendMessage(message: NewMessage): AppendResult {
    const { conversationId, senderId, clientMsgId } = message;
    const membership = this.q.membership.get({ conversationId, userId: senderId });
    if (!membership) throw new LetterError('not_found');
    // A retry of a send that already committed gets its original answer, even if a block
    // happened in between: the message was sent before the block.
    const existing = this.q.messageByClientId.get({ senderId, clientMsgId });
    if (existing) {
      if (existing.conversation_id !== conversationId) {
        throw new LetterError(
          'bad_request',
          'clientMsgId was already used in another conversation.',
        );
      }
      return { message: this.requireMessage(conversationId, existing.seq), created: false };
    }
    if (membership.kind === 'direct') {
      const peerId = this.q.peerOf.get({ conversationId, userId: senderId })?.user_id;
      if (peerId !== undefined && this.isBlockedEitherWay(senderId, peerId)) {
        throw new LetterError('blocked');
      }
    }
    if (
      message.replyToSeq !== null &&
      !this.q.messageBySeq.get({ conversationId, seq: message.replyToSeq })
    ) {
      throw new LetterError('bad_request', 'replyToSeq does not refer to a message here.');
    }
    const seq = this.q.takeSeq.get({ conversationId, now: message.createdAt })!.last_seq;
    const row = {
      id: message.id,
      conversation_id: conversationId,
      seq,
      sender_id: senderId,
      client_msg_id: clientMsgId,
      body: message.body,
      created_at: message.createdAt,
      edited_at: null,
      deleted_at: null,
      reply_to_seq: message.replyToSeq,
      system_json: null,
    };
    this.q.insertMessage.run({ ...message, seq, systemJson: null });
    this.moveOwnPositions(conversationId, senderId, membership, seq, message.createdAt);
    return { message: toMessage(row), created: true };
  }

  history(conversationId: string, viewerId: string, range: HistoryRange): HistoryPage | null {
    if (!this.isMember(conversationId, viewerId)) return null;
    const limit = Math.max(0, Math.trunc(range.limit));
    const params = {
      conversationId,
      after: range.after ?? 0,
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
    const member = this.q.membership.get({ conversationId, userId });
    if (!member) return null;
    const target = Math.min(Math.trunc(seq), member.last_seq);
    const readSeq = kind === 'read' ? Math.max(member.read_seq, target) : member.read_seq;
    // Reading implies having received.
    const deliveredSeq = Math.max(member.delivered_seq, kind === 'read' ? readSeq : target);
    // A read entry also dates delivery (receipts take the earlier of both), so a read that
    // drags delivered along writes one entry, not two.
    if (readSeq > member.read_seq) this.logPosition(conversationId, userId, 'read', readSeq, now);
    else if (deliveredSeq > member.delivered_seq) {
      this.logPosition(conversationId, userId, 'delivered', deliveredSeq, now);
    }
    const changed = readSeq > member.read_seq || deliveredSeq > member.delivered_seq;
    if (changed) this.q.setPositions.run({ conversationId, userId, readSeq, deliveredSeq });
    return kind === 'read'
      ? { seq: readSeq, changed: readSeq > member.read_seq }
      : { seq: deliveredSeq, changed: deliveredSeq > member.delivered_seq };
  }

  receipts(conversationId: string, seq: number): Receipt[] {
    const message = this.q.messageBySeq.get({ conversationId, seq });
    if (!message) return [];
    const rows = this.q.receipts.all({ conversationId, seq, senderId: message.sender_id ?? '' });
    return rows.map((row) => {
      // Reading implies delivery, and read entries stand in for delivered ones.
      const delivered =
        row.delivered_at === null || row.read_at === null
          ? (row.delivered_at ?? row.read_at)
          : Math.min(row.delivered_at, row.read_at);
      return {
        userId: row.user_id,
        deliveredAt: delivered === null ? null : iso(delivered),
        readAt: row.read_at === null ? null : iso(row.read_at),
      };
    });
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

  private requireMessage(conversationId: string, seq: number): Message {
    const message = this.getMessage(conversationId, seq);
    if (!message) throw new LetterError('not_found');
    return message;
  }

  private requireUser(id: string) {
    const row = this.q.userById.get({ id });
    if (!row || row.deleted_at !== null) throw new LetterError('not_found', 'Unknown user.');
    return row;
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
    if (before.read_seq < seq - 1) this.logPosition(conversationId, userId, 'read', seq, now);
  }

  private logPosition(
    conversationId: string,
    userId: string,
    kind: ReceiptKind,
    seq: number,
    at: number,
  ): void {
    this.q.logPosition.run({ conversationId, userId, kind, seq, at });
  }
}

/** One key per unordered pair; JSON keeps it unambiguous whatever characters ids contain. */
const directKeyOf = (a: string, b: string): string => JSON.stringify(a < b ? [a, b] : [b, a]);

function toSession(row: {
  id: string;
  user_id: string;
  created_at: number;
  revoked_at: number | null;
}): SessionRecord {
  return {
    id: row.id,
    userId: row.user_id,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}
