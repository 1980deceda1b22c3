/**
 * The store: the one source of truth. Everything durable goes through this interface; the
 * implementations (`sqlite/sqlite-store.ts` behind a worker thread, `postgres/open.ts`) are chosen only in node.ts
 * and must all pass `suite/suite.ts`.
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
  SearchResult,
  SystemEvent,
  User,
} from '@letter/protocol';

export interface UserRecord extends User {
  passwordHash: string;
  createdAt: number;
  lastSeenAt: number | null;
  /** Set once the account was deleted: then the record is a tombstone ("Deleted account"). */
  deletedAt: number | null;
}

/** A contact as the owner may see them (`online` is the caller's to add, from presence). */
export interface ContactRecord extends Omit<Contact, 'online' | 'user'> {
  user: User;
  /** Whether the owner may see this contact's presence (shared/presence-rule.ts). */
  presenceVisible: boolean;
}

export interface NewUser {
  id: string;
  /** Already lower-cased and validated. */
  username: string;
  displayName: string;
  passwordHash: string;
  createdAt: number;
}

export interface PruneCutoffs {
  now: number;
  sessionsCreatedBefore: number;
  positionLogBefore: number;
  limit: number;
}

/** Rows deleted by one `prune` call. */
export interface PruneCounts {
  sessions: number;
  refreshTokens: number;
  positionLog: number;
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

/** A group to create: its creator becomes admin; `memberIds` may repeat or name the creator. */
export interface NewGroup {
  id: string;
  title: string;
  creatorId: string;
  memberIds: string[];
  createdAt: number;
  systemMessageId: string;
}

/** A session with its first refresh token (only the hash is stored). */
export interface NewSession {
  id: string;
  userId: string;
  refreshHash: string;
  createdAt: number;
  expiresAt: number;
}

export interface NewMessage {
  id: string;
  conversationId: string;
  senderId: string;
  clientMsgId: string;
  /** Already trimmed and validated. */
  body: string;
  replyToSeq: number | null;
  createdAt: number;
  /**
   * Users the body names (`@username`), resolved by the caller; the store keeps those who are
   * members at the commit of a group message (never the sender) as `message.mentions`.
   */
  mentions?: string[] | undefined;
  /** Files to attach (ids), in the same transaction and on the same terms as `attachFiles`. */
  attachments?: string[] | undefined;
  /**
   * The members version of the caller's cached member list, if it has one. When the
   * conversation's version differs at commit, the result carries the current `members`.
   */
  knownMembersVersion?: number | undefined;
}

export interface AppendResult {
  message: Message;
  /** false when (senderId, clientMsgId) already existed: `message` is the original. */
  created: boolean;
  /**
   * The members at the commit of a created message, when they differ from
   * `knownMembersVersion` (always when it was not given): exactly who may receive it.
   */
  members?: MemberSet | undefined;
}

/** The members of a conversation and the version of that list (bumped by every change of members or roles). */
export interface MemberSet {
  userIds: string[];
  version: number;
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
  /**
   * When it moved: the members who may hear of it, i.e. who joined at or before the new
   * position (a member added later sees nothing from before their join point, receipts
   * included). Empty when it did not move.
   */
  audience: string[];
}

/** The outcome of a group change (rename, members added or removed, roles). */
export interface MemberChange {
  conversationId: string;
  /**
   * The system messages recording the change, in seq order: the change itself and, when the
   * last admin went, the automatic promotion (actorId null). Empty when nothing changed.
   */
  messages: Message[];
  /** The members after the change, with its members version. */
  members: MemberSet;
  /** Members who joined with this change (they see history from its first message on). */
  addedUserIds: string[];
  /** Members who lost access with this change. */
  removedUserIds: string[];
  /**
   * The own view after the change of each member it added, and of the actor when still a
   * member (their answer): read in the same transaction, so the events of a change describe
   * exactly the state it committed. Everyone else hears of it through one delta
   * (`conversation.changed`, built from `messages`), not a view each.
   */
  views: MemberView[];
}

/** A conversation as one member sees it. */
export interface MemberView {
  userId: string;
  conversation: Conversation;
}

/** Ids for the system messages a group change may append: the change and a hand-over. */
export type SystemMessageIds = [string, string];

export interface GroupChangeBase {
  conversationId: string;
  /** Who acts; must be a member (else `not_found`) and, except to leave, an admin. */
  actorId: string;
  now: number;
  messageIds: SystemMessageIds;
}

/** The outcome of an edit, a delete or a reaction. */
export interface MessageChange {
  /** The message after the change, as members see it (a tombstone after a delete). */
  message: Message;
  /** false when it already was so (same body, already deleted, same reaction): no event. */
  changed: boolean;
  /**
   * Who hears of the change: the members at commit who may see the message (joined at or
   * before its seq, `membersWhoMaySee`). A later joiner never gets an older message's update.
   */
  memberIds: string[];
}

export interface MessageTarget {
  conversationId: string;
  seq: number;
  /** The member acting; `not_found` unless they are a member who may see `seq`. */
  userId: string;
  now: number;
}

export interface ConversationSettings {
  muted?: boolean | undefined;
  archived?: boolean | undefined;
}

/** Where a page of conversations starts: after this activity time and id (exclusive). */
export interface ConversationCursor {
  activityAt: number;
  id: string;
}

export interface ConversationPageQuery {
  limit: number;
  after?: ConversationCursor | undefined;
}

export interface SentMessagesPage {
  limit: number;
  after?: { conversationId: string; seq: number } | undefined;
}

export interface SearchInput {
  /** The user's words as typed; the store escapes them (no query syntax reaches the engine). */
  text: string;
  conversationId?: string | undefined;
  limit: number;
}

export interface AccountDeletion {
  /** Sessions that were live and are now revoked: their sockets must close (4401). */
  revokedSessionIds: string[];
  /** One per group the user was in: they left it (with the admin hand-over rule). */
  groupChanges: MemberChange[];
  /** Direct conversations they were in; the peers now see "Deleted account". */
  directConversationIds: string[];
}

/** What a deleted account looks like from outside. */
export const DELETED_DISPLAY_NAME = 'Deleted account';

/** A browser's Web Push subscription, tied to the session that made it. */
export interface PushSubscriptionRecord {
  /** The push service URL (unique: a re-subscription moves it to the new session). */
  endpoint: string;
  sessionId: string;
  userId: string;
  /** The browser's P-256 key and auth secret, base64url, as the Push API gives them. */
  p256dh: string;
  auth: string;
  /** The owner's "show message text in notifications" (read only: `setPushPreview`). */
  preview: boolean;
}

export type NewPushSubscription = Omit<PushSubscriptionRecord, 'preview'>;

export interface ConversationSummary {
  id: string;
  lastSeq: number;
}

/** An uploaded file's metadata (its bytes are the blob `sha256`, files/blob-store.ts). */
export interface FileRecord {
  id: string;
  uploaderId: string;
  /** As the uploader named it, already made safe (files/names.ts). */
  name: string;
  size: number;
  /** Sniffed from the bytes, never taken from the client. */
  mime: string;
  width: number | null;
  height: number | null;
  sha256: string;
  thumbSha256: string | null;
  thumbhash: string | null;
  createdAt: number;
  /** The message it is attached to, null until it is. */
  conversationId: string | null;
  seq: number | null;
}

export type NewFile = Omit<FileRecord, 'conversationId' | 'seq'>;

/** A blob deletion older than this (its deleter crashed) no longer holds uploads back. */
export const BLOB_DELETION_WAIT_MS = 10 * 60 * 1000;

/** Which files `removeFiles` deletes. */
export type FileSelector =
  /** Never attached and uploaded before `before` (the sweeper), at most `limit`. */
  | { kind: 'unattached'; before: number; limit: number }
  /** Attached to one message (delete for everyone). */
  | { kind: 'message'; conversationId: string; seq: number }
  /** Every file the user uploaded (account deletion). */
  | { kind: 'uploader'; userId: string }
  /** One file (an upload whose blob vanished under it). */
  | { kind: 'file'; id: string };

export interface RemovedFiles {
  ids: string[];
  /** Blobs (file and thumbnail) no file row names any more: the caller deletes their bytes. */
  orphanedBlobs: string[];
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
  /** null for unknown usernames and for deleted accounts (they cannot log in). */
  getUserByUsername(username: string): Promise<UserRecord | null>;
  /** Deleted accounts too: their tombstone, displayName "Deleted account". */
  getUser(id: string): Promise<UserRecord | null>;
  getUsers(ids: string[]): Promise<User[]>;
  /** Usernames starting with `prefix` (lower-cased), ordered by username, excluding `excludeId`. */
  searchUsers(prefix: string, limit: number, excludeId: string): Promise<User[]>;
  updateDisplayName(userId: string, displayName: string): Promise<User>;
  updatePasswordHash(userId: string, passwordHash: string): Promise<void>;
  setLastSeen(userId: string, at: number): Promise<void>;
  /**
   * Deletes an account, atomically: username freed (replaced by a tombstone no registration
   * can produce), display name "Deleted account", password hash cleared, every session
   * revoked, contacts and blocks of and by the user removed, every group left (appending a
   * `left` message and handing admin over as `removeMember` does). Their messages stay. Direct
   * conversations stay, but nobody can send in them any more (`forbidden`). System message ids
   * are `${messageIdPrefix}.${n}`. `not_found` when the user does not exist or is deleted.
   */
  deleteUser(input: {
    userId: string;
    now: number;
    messageIdPrefix: string;
  }): Promise<AccountDeletion>;
  /**
   * A page of the messages the user sent and did not delete, by conversation and seq, after
   * `page.after` (export).
   */
  sentMessages(userId: string, page: SentMessagesPage): Promise<Message[]>;
  /**
   * Deletes what nothing needs any more, at most `limit` sessions (each with all its tokens)
   * and `limit` position moves per call (the sweeper calls again while a count reaches it), so
   * one call never holds the writer long:
   * - dead sessions with all their refresh tokens: revoked, created before `sessionsCreatedBefore`
   *   (the maximum lifetime), or without a refresh token that is unspent and unexpired at `now`.
   *   Spent tokens of a live session stay: presenting one is how reuse is detected, and that
   *   matters only while the session could still be refreshed.
   * - `position_log` rows older than `positionLogBefore`, except the newest row of each member
   *   and kind: "delivered"/"read" stay true for every message (the newest row covers them),
   *   only the time of a receipt older than the cutoff may show a later move's time.
   */
  prune(cutoffs: PruneCutoffs): Promise<PruneCounts>;

  // Files (files/…): metadata only, the bytes are in the blob store
  createFile(file: NewFile): Promise<FileRecord>;
  getFile(id: string): Promise<FileRecord | null>;
  /**
   * The file when `userId` may read it: they uploaded it, or it is attached to a message of a
   * conversation they are a member of and may see (joined at or before its seq). null
   * otherwise, so the caller answers 404 without telling which.
   */
  fileForViewer(fileId: string, userId: string): Promise<FileRecord | null>;
  /**
   * Attaches files to a message, all or none: each must exist, be `uploaderId`'s and not be
   * attached yet (else `not_found`, nothing attached). Returns them in the order given.
   */
  attachFiles(input: {
    fileIds: string[];
    uploaderId: string;
    conversationId: string;
    seq: number;
  }): Promise<FileRecord[]>;
  /** The bytes the user's files take (their quota). */
  uploadedBytes(userId: string): Promise<number>;
  /** Deletes file rows; returns them and the blobs nothing names any more. */
  removeFiles(selector: FileSelector): Promise<RemovedFiles>;
  /**
   * Of `keys`, the blobs no file row names, each marked as being deleted, in one write: a
   * `createFile` naming a blob whose deletion started within BLOB_DELETION_WAIT_MS answers
   * `unavailable`. The caller deletes the bytes, then calls `endBlobDeletions`.
   */
  startBlobDeletions(keys: string[], now: number): Promise<string[]>;
  endBlobDeletions(keys: string[]): Promise<void>;
  /** Deletions started before `before` and never ended (their deleter died), at most `limit`. */
  staleBlobDeletions(before: number, limit: number): Promise<string[]>;

  // Sessions and refresh tokens (only hashes are stored)
  createSession(session: NewSession): Promise<void>;
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
  /** The owner's contacts; `lastSeenAt` is null where the rule hides their presence. */
  listContacts(ownerId: string): Promise<ContactRecord[]>;
  block(blockerId: string, blockedId: string, now: number): Promise<void>;
  unblock(blockerId: string, blockedId: string): Promise<void>;
  listBlocked(blockerId: string): Promise<User[]>;
  /** True when either has blocked the other. */
  isBlockedEitherWay(a: string, b: string): Promise<boolean>;
  /**
   * Everyone who may see this user's presence (shared/presence-rule.ts): mutual contacts and
   * co-members, minus blocks either way.
   */
  presenceAudience(userId: string): Promise<string[]>;
  /** Whether `viewerId` may see the presence of `subjectId`, by the same rule. */
  canSeePresence(viewerId: string, subjectId: string): Promise<boolean>;
  /** Everyone the user has blocked or is blocked by. */
  blockPeers(userId: string): Promise<string[]>;

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
  /** `blocked` when the creator blocked, or was blocked by, any of the members. */
  createGroup(group: NewGroup): Promise<Conversation>;
  /** The conversation as `viewerId` sees it, or null when they are not a member. */
  getConversation(conversationId: string, viewerId: string): Promise<Conversation | null>;
  /**
   * A page of the user's conversations, latest activity first (ties: higher id first): at most
   * `page.limit`, only those after `page.after` in that order. A conversation whose activity
   * moves it ahead of `after` meanwhile is not on a later page (its event tells the client).
   */
  listConversations(userId: string, page: ConversationPageQuery): Promise<Conversation[]>;
  listConversationSummaries(userId: string): Promise<ConversationSummary[]>;
  /** Member ids of a conversation ([] when it does not exist). */
  memberIds(conversationId: string): Promise<string[]>;
  /** Member ids with the members version ({[], 0} when it does not exist). */
  memberSet(conversationId: string): Promise<MemberSet>;
  isMember(conversationId: string, userId: string): Promise<boolean>;
  /**
   * The conversation as each of `userIds` sees it, in that order, skipping non-members: one
   * set of reads for a whole announcement instead of one per member.
   */
  conversationViews(conversationId: string, userIds: string[]): Promise<MemberView[]>;
  /** Sets the viewer's own muted/archived flags; null when not a member. */
  updateSettings(
    conversationId: string,
    userId: string,
    settings: ConversationSettings,
  ): Promise<Conversation | null>;

  // Group management. Every method checks, inside its transaction: the actor is a member
  // (`not_found`), the conversation is a group (`forbidden`), the actor is an admin where
  // needed (`forbidden`). A group never has zero admins while it has members: when the last
  // admin leaves, is removed or demotes themselves, the longest-standing remaining member
  // (earliest join seq, then join time, then id) becomes admin, recorded as a `promoted`
  // system message with actorId null.
  /** Renames (admins). The same title again changes nothing. */
  renameGroup(input: GroupChangeBase & { title: string }): Promise<MemberChange>;
  /**
   * Adds members (admins); existing members are skipped, unknown or deleted users are
   * `not_found`, more than limits.groupMaxMembers is `bad_request`, someone who blocked the
   * actor or whom the actor blocked is `blocked`. The new members see history
   * from the `added` message on and have it unread.
   */
  addMembers(input: GroupChangeBase & { userIds: string[] }): Promise<MemberChange>;
  /**
   * Removes `userId` (admins), or leaves when `userId` is the actor (any member). `not_found`
   * when `userId` is not a member. Their read positions go with them; a re-add starts afresh.
   */
  removeMember(input: GroupChangeBase & { userId: string }): Promise<MemberChange>;
  /** Promotes or demotes (admins). A sole member cannot demote themselves (`bad_request`). */
  setMemberRole(input: GroupChangeBase & { userId: string; role: Role }): Promise<MemberChange>;

  // Messages
  /**
   * Appends with the next gap-free seq. Idempotent on (senderId, clientMsgId): a repeat returns
   * the original with `created: false` (and attaches nothing). Attaches `attachments` in the
   * same transaction (`not_found` and nothing stored when one may not be attached). Throws `not_found` when the sender is not a member,
   * `blocked` when it is a direct conversation and either side blocked the other.
   * Advances the sender's own read and delivered position to the new seq.
   */
  appendMessage(message: NewMessage): Promise<AppendResult>;
  /**
   * History page for a member (null when not a member), ascending by seq. Only seqs from the
   * member's first visible seq (their join) on; `hasMore` is false at that boundary.
   */
  history(
    conversationId: string,
    viewerId: string,
    range: HistoryRange,
  ): Promise<HistoryPage | null>;
  /** Any message, whoever asks: for the server's own use, never answered to a client as is. */
  getMessage(conversationId: string, seq: number): Promise<Message | null>;

  // Message actions. `not_found` unless the actor is a member who may see the seq and it
  // exists; system messages cannot be edited, deleted or reacted to (`forbidden`).
  /**
   * Edits one's own message (`forbidden` for anyone else's or a deleted one); sets editedAt.
   * `blocked` in a direct conversation blocked either way, `forbidden` when the peer's account
   * was deleted, as for sends.
   */
  editMessage(input: MessageTarget & { body: string }): Promise<MessageChange>;
  /**
   * Deletes for everyone: one's own message, or anyone's for a group admin (`forbidden`
   * otherwise). The body is erased from storage and the search index, reactions go, deletedAt
   * is set; the seq stays as a tombstone. Deleting a tombstone again changes nothing.
   */
  deleteMessage(input: MessageTarget): Promise<MessageChange>;
  /** Sets the actor's one reaction on a message, replacing theirs (`forbidden` on tombstones). */
  setReaction(input: MessageTarget & { emoji: string }): Promise<MessageChange>;
  /** Removes the actor's reaction, if any. */
  removeReaction(input: MessageTarget): Promise<MessageChange>;
  /**
   * Full-text search over the viewer's conversations (or one of them: null when not a member),
   * only seqs they may see, not deleted, best match first. Words match by prefix, all must
   * occur; case and diacritics are ignored.
   */
  search(viewerId: string, input: SearchInput): Promise<SearchResult[] | null>;

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
  /**
   * Per member but the sender (and but members who joined after `seq`): when `seq` was
   * delivered to and read by them. null unless `viewerId` is a member who may see `seq` and it
   * exists.
   */
  receipts(conversationId: string, seq: number, viewerId: string): Promise<Receipt[] | null>;

  // Web Push
  /**
   * Stores (or moves to this session) a subscription; false when the session is not live. A
   * revoked session's subscriptions go with the revocation, whatever revoked it.
   */
  addPushSubscription(sub: NewPushSubscription, now: number): Promise<boolean>;
  /** Removes the session's subscription at `endpoint`; false when it had none there. */
  removePushSubscription(sessionId: string, endpoint: string): Promise<boolean>;
  /** Removes a subscription the push service says is gone (404/410), whoever owns it. */
  deletePushEndpoint(endpoint: string): Promise<void>;
  /** The subscriptions of live sessions of these users. */
  pushSubscriptions(userIds: string[]): Promise<PushSubscriptionRecord[]>;
  /** The user's "show message text in notifications" (default true). */
  pushPreview(userId: string): Promise<boolean>;
  setPushPreview(userId: string, preview: boolean): Promise<void>;

  /** Cumulative group-commit counters, where the implementation batches (for /metrics). */
  stats?(): StoreStats;
}

export interface StoreStats {
  /** Write transactions committed. */
  transactions: number;
  /** Every request served, reads included. */
  requests: number;
  /** Requests that wrote, each inside one of `transactions`: writes / transactions = rows per commit. */
  writes: number;
  /** The largest write batch. */
  maxBatch: number;
  /** SQLite: slices of the search index's merging that merged (sqlite/search-merges.ts). */
  searchMerges?: number;
  /** SQLite: the checkpointer thread's work (sqlite/checkpoints.ts); absent without one. */
  checkpoints?: CheckpointStats;
  /**
   * PostgreSQL: conversations whose members changed (a group change) between an append batch's
   * unlocked reads and its write; their messages were decided again under the lock
   * (postgres/append-batch.ts).
   */
  staleConversations?: number;
  /** PostgreSQL: conversations where a batch's seqs moved up past messages another node stored. */
  shiftedConversations?: number;
  /**
   * PostgreSQL: append batches read without member lists that then read again with them (a
   * message's members version was not the current one: a node's first send to a conversation).
   */
  memberRereads?: number;
  /**
   * PostgreSQL: append and position batches that failed for a reason no rule foresaw and fell
   * back to one transaction per call (postgres/pipeline.ts `commitOrEachAlone`). Should stay 0:
   * a rise means a fault that costs every such batch a transaction per call.
   */
  batchFallbacks?: number;
}

/** What the SQLite checkpointer thread did (sqlite/checkpoints.ts). */
export interface CheckpointStats {
  /** Runs of the checkpointer thread. */
  runs: number;
  /** Finishing checkpoints the writer ran between batches. */
  finished: number;
  /** The longest log a run reported, in pages. */
  maxLog: number;
  /** True once the thread failed and SQLite's automatic checkpoints are back on. */
  fallback: boolean;
}

export type { Role, SystemEvent };
