/**
 * The store: the one source of truth. Everything durable goes through this interface; the
 * implementations (`sqlite.ts` behind a worker thread, `postgres.ts`) are chosen only in node.ts
 * and must all pass `store.suite.ts`.
 *
 * Conventions for every method:
 * - Times are epoch milliseconds in and ISO strings out (protocol shapes).
 * - Access checks that must be atomic with a write (membership on append, blocks on a direct
 *   send) happen inside the store's transaction and throw `LetterError`.
 * - A returned promise resolves only after the change is committed durably (guarantee 1).
 * - Methods that read "for a viewer" return `null` when the viewer is not a member: the caller
 *   answers 404 without learning whether the conversation exists.
 */
import type {
  Contact,
  Conversation,
  Message,
  Receipt,
  ReceiptKind,
  Role,
  SystemEvent,
  User,
} from '@letter/protocol';

export interface UserRecord extends User {
  passwordHash: string;
  createdAt: number;
  lastSeenAt: number | null;
}

export interface NewUser {
  id: string;
  /** Already lower-cased and validated. */
  username: string;
  displayName: string;
  passwordHash: string;
  createdAt: number;
}

export interface SessionRecord {
  id: string;
  userId: string;
  createdAt: number;
  revokedAt: number | null;
}

export type RefreshOutcome =
  | { kind: 'rotated'; session: SessionRecord }
  /** The token was spent before: the whole session is now revoked. */
  | { kind: 'reuse'; sessionId: string; userId: string }
  /** Unknown, expired or revoked. */
  | { kind: 'invalid' };

export interface NewMessage {
  id: string;
  conversationId: string;
  senderId: string;
  clientMsgId: string;
  /** Already trimmed and validated. */
  body: string;
  replyToSeq: number | null;
  createdAt: number;
}

export interface AppendResult {
  message: Message;
  /** false when (senderId, clientMsgId) already existed: `message` is the original. */
  created: boolean;
}

export interface HistoryPage {
  messages: Message[];
  hasMore: boolean;
}

export interface HistoryRange {
  /** Only seq < before. */
  before?: number | undefined;
  /** Only seq > after; pages go forward from `after` when set, backward from the end otherwise. */
  after?: number | undefined;
  limit: number;
}

export interface PositionResult {
  /** The member's position after the call (never lower than before). */
  seq: number;
  /** Whether the position moved. */
  changed: boolean;
}

export interface MemberChange {
  conversation: Conversation;
  /** The system message recording the change, already appended with its own seq. */
  message: Message | null;
}

export interface ConversationSummary {
  id: string;
  lastSeq: number;
}

export interface Store {
  /** Creates the schema or migrates it forward. Idempotent. */
  migrate(): Promise<void>;
  /** Cheap liveness probe for /healthz. */
  ping(): Promise<void>;
  /** Waits for every acknowledged write to be durable, then releases everything. */
  close(): Promise<void>;

  // Users
  /** Throws `LetterError('username_taken')` on a case-insensitive clash. */
  createUser(user: NewUser): Promise<User>;
  getUserByUsername(username: string): Promise<UserRecord | null>;
  getUser(id: string): Promise<UserRecord | null>;
  getUsers(ids: string[]): Promise<User[]>;
  /** Usernames starting with `prefix` (lower-cased), ordered by username, excluding `excludeId`. */
  searchUsers(prefix: string, limit: number, excludeId: string): Promise<User[]>;
  updateDisplayName(userId: string, displayName: string): Promise<User>;
  updatePasswordHash(userId: string, passwordHash: string): Promise<void>;
  setLastSeen(userId: string, at: number): Promise<void>;

  // Sessions and refresh tokens (only hashes are stored)
  createSession(session: {
    id: string;
    userId: string;
    refreshHash: string;
    createdAt: number;
    expiresAt: number;
  }): Promise<void>;
  getSession(id: string): Promise<SessionRecord | null>;
  /** Atomically spends `oldHash` and stores `newHash`; a spent token revokes its session. */
  rotateRefreshToken(
    oldHash: string,
    newHash: string,
    now: number,
    expiresAt: number,
  ): Promise<RefreshOutcome>;
  revokeSession(id: string, now: number): Promise<void>;
  /** Revokes every live session of the user but `exceptId`; returns the ids it revoked. */
  revokeUserSessions(userId: string, now: number, exceptId?: string): Promise<string[]>;

  // Contacts and blocks
  /** Returns false when the contact was already there. */
  addContact(ownerId: string, contactId: string, now: number): Promise<boolean>;
  removeContact(ownerId: string, contactId: string): Promise<void>;
  listContacts(ownerId: string): Promise<(Omit<Contact, 'online'> & { user: User })[]>;
  block(blockerId: string, blockedId: string, now: number): Promise<void>;
  unblock(blockerId: string, blockedId: string): Promise<void>;
  listBlocked(blockerId: string): Promise<User[]>;
  /** True when either has blocked the other. */
  isBlockedEitherWay(a: string, b: string): Promise<boolean>;
  /** Everyone who may see this user's presence: their contacts' owners and every co-member. */
  presenceAudience(userId: string): Promise<string[]>;

  // Conversations
  /**
   * The direct conversation of a pair, created when missing. Unique per pair by a database
   * constraint, so concurrent calls agree. `created` tells which call made it.
   */
  openDirect(
    id: string,
    userId: string,
    peerId: string,
    now: number,
  ): Promise<{ conversation: Conversation; created: boolean }>;
  /** Finds the direct conversation of a pair without creating it. */
  findDirect(userId: string, peerId: string): Promise<string | null>;
  createGroup(group: {
    id: string;
    title: string;
    creatorId: string;
    memberIds: string[];
    createdAt: number;
    systemMessageId: string;
  }): Promise<Conversation>;
  /** The conversation as `viewerId` sees it, or null when they are not a member. */
  getConversation(conversationId: string, viewerId: string): Promise<Conversation | null>;
  /** Every conversation of the user, latest activity first. */
  listConversations(userId: string): Promise<Conversation[]>;
  listConversationSummaries(userId: string): Promise<ConversationSummary[]>;
  /** Member ids of a conversation ([] when it does not exist). */
  memberIds(conversationId: string): Promise<string[]>;
  isMember(conversationId: string, userId: string): Promise<boolean>;

  // Messages
  /**
   * Appends with the next gap-free seq. Idempotent on (senderId, clientMsgId): a repeat returns
   * the original with `created: false`. Throws `not_found` when the sender is not a member,
   * `blocked` when it is a direct conversation and either side blocked the other.
   * Advances the sender's own read and delivered position to the new seq.
   */
  appendMessage(message: NewMessage): Promise<AppendResult>;
  /** History page for a member (null when not a member), ascending by seq. */
  history(
    conversationId: string,
    viewerId: string,
    range: HistoryRange,
  ): Promise<HistoryPage | null>;
  getMessage(conversationId: string, seq: number): Promise<Message | null>;

  /**
   * Moves a member's delivered or read position forward (clamped to lastSeq; reading implies
   * delivered). null when not a member.
   */
  advancePosition(
    conversationId: string,
    userId: string,
    kind: ReceiptKind,
    seq: number,
    now: number,
  ): Promise<PositionResult | null>;
  /** Per member but the sender: when `seq` was delivered to and read by them. */
  receipts(conversationId: string, seq: number): Promise<Receipt[]>;

  /** Cumulative group-commit counters, where the implementation batches (for /metrics). */
  stats?(): StoreStats;
}

export interface StoreStats {
  transactions: number;
  requests: number;
  maxBatch: number;
}

export type { Role, SystemEvent };
