/**
 * Rows to protocol shapes. Pure functions: the queries that feed them live in sqlite/queries.ts,
 * so a conversation list costs a constant number of queries however many conversations it has.
 */
import type { Conversation, Member, Message, SystemEvent, User } from '@letter/protocol';
import { iso } from '../../util/clock.js';
import { storedAttachment, unsignedAttachments } from './attachments.js';
import type {
  ContactRecord,
  MemberChange,
  MemberSet,
  MemberView,
  NewMessage,
  PushSubscriptionRecord,
  SessionRecord,
  UserRecord,
} from '../store.js';
import type {
  ConversationsTable,
  FilesTable,
  MessagesTable,
  SessionsTable,
  UsersTable,
} from './tables.js';
import type { FileRecord, NewFile } from '../store.js';

export type MessageRow = MessagesTable;

/** The row a send inserts at `seq`: the one place a new message's columns are listed. */
export const userMessageRow = (
  message: NewMessage,
  seq: number,
  /** The mentioned ids that are members (mentionsOf). */
  mentions: string[] = [],
  /** The files attached in the same transaction (attachFiles), in the order sent. */
  files: FileRecord[] = [],
): MessageRow => ({
  id: message.id,
  conversation_id: message.conversationId,
  seq,
  sender_id: message.senderId,
  client_msg_id: message.clientMsgId,
  body: message.body,
  created_at: message.createdAt,
  edited_at: null,
  deleted_at: null,
  reply_to_seq: message.replyToSeq,
  system_json: null,
  mentions_json: mentions.length > 0 ? JSON.stringify(mentions) : null,
  attachments_json: files.length > 0 ? JSON.stringify(files.map(storedAttachment)) : null,
});

/** Who a group message may mention: the candidates who are members, never the sender, each once. */
export function mentionsOf(message: NewMessage, isGroup: boolean, memberIds: string[]): string[] {
  if (!isGroup || !message.mentions?.length) return [];
  const members = new Set(memberIds);
  return [...new Set(message.mentions)].filter((id) => id !== message.senderId && members.has(id));
}

/** The row of a system message (nobody sent it; its event is its content). */
export const systemMessageRow = (
  conversationId: string,
  id: string,
  seq: number,
  event: SystemEvent,
  now: number,
): MessageRow => ({
  id,
  conversation_id: conversationId,
  seq,
  sender_id: null,
  client_msg_id: null,
  body: '',
  created_at: now,
  edited_at: null,
  deleted_at: null,
  reply_to_seq: null,
  system_json: JSON.stringify(event),
  mentions_json: null,
  attachments_json: null,
});

export interface ReactionRow {
  conversation_id: string;
  seq: number;
  user_id: string;
  emoji: string;
}

export interface ConversationRow extends Omit<ConversationsTable, 'direct_key'> {
  viewer_read_seq: number;
  viewer_join_seq: number;
  viewer_muted: 0 | 1;
  viewer_archived: 0 | 1;
  /** Only in list and single views (conversationViewQueries); member views leave it out. */
  viewer_unread_mentions?: number | null;
}

export interface MemberRow {
  conversation_id: string;
  user_id: string;
  username: string;
  display_name: string;
  role: 'admin' | 'member';
  read_seq: number;
  delivered_seq: number;
  /** Set on a list's preview rows (memberPreview): how many members the conversation has. */
  member_count?: number;
}

/** A member row with the member's own settings, for building every member's view at once. */
export interface MemberViewRow extends MemberRow {
  join_seq: number;
  muted: 0 | 1;
  archived: 0 | 1;
}

export type UserRow = Pick<UsersTable, 'id' | 'username' | 'display_name'>;

export const toUser = (row: UserRow): User => ({
  id: row.id,
  username: row.username,
  displayName: row.display_name,
});

/** Field by field (not `{ ...toUser(row), … }`: a new hidden class per record in V8, see toAppendReply). */
export const toUserRecord = (row: UsersTable): UserRecord => ({
  id: row.id,
  username: row.username,
  displayName: row.display_name,
  passwordHash: row.password_hash,
  createdAt: row.created_at,
  lastSeenAt: row.last_seen_at,
  deletedAt: row.deleted_at,
});

/** A contact; who may not see the contact's presence learns no last-seen time either. */
export const toContact = (
  row: UserRow & Pick<UsersTable, 'last_seen_at'>,
  presenceVisible: boolean,
): ContactRecord => ({
  user: toUser(row),
  lastSeenAt: presenceVisible && row.last_seen_at !== null ? iso(row.last_seen_at) : null,
  presenceVisible,
});

export const toSession = (row: SessionsTable): SessionRecord => ({
  id: row.id,
  userId: row.user_id,
  createdAt: row.created_at,
  revokedAt: row.revoked_at,
});

const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

const messageKey = (conversationId: string, seq: number): string => `${seq}:${conversationId}`;

/** Groups reaction rows by message: {emoji: [userId]} in the rows' order. */
export function groupReactions(rows: ReactionRow[]): Map<string, Record<string, string[]>> {
  const byMessage = new Map<string, Record<string, string[]>>();
  for (const row of rows) {
    const key = messageKey(row.conversation_id, row.seq);
    let reactions = byMessage.get(key);
    if (!reactions) byMessage.set(key, (reactions = {}));
    (reactions[row.emoji] ??= []).push(row.user_id);
  }
  return byMessage;
}

export function toMessage(row: MessageRow, reactions: Record<string, string[]> = {}): Message {
  const message: Message = {
    id: row.id,
    conversationId: row.conversation_id,
    seq: row.seq,
    senderId: row.sender_id,
    clientMsgId: row.client_msg_id,
    // A tombstone keeps its seq and times but never its content.
    body: row.deleted_at === null ? row.body : '',
    createdAt: iso(row.created_at),
    editedAt: isoOrNull(row.edited_at),
    deletedAt: isoOrNull(row.deleted_at),
    replyToSeq: row.reply_to_seq,
    attachments:
      row.deleted_at === null && row.attachments_json !== null
        ? unsignedAttachments(row.attachments_json)
        : [],
    reactions: row.deleted_at === null ? reactions : {},
  };
  if (row.system_json !== null) message.system = JSON.parse(row.system_json) as SystemEvent;
  if (row.mentions_json !== null) message.mentions = JSON.parse(row.mentions_json) as string[];
  return message;
}

export function toMessages(rows: MessageRow[], reactionRows: ReactionRow[]): Message[] {
  const reactions = groupReactions(reactionRows);
  return rows.map((row) => toMessage(row, reactions.get(messageKey(row.conversation_id, row.seq))));
}

/**
 * Builds the viewer's conversations from the rows of a few set-wise queries, keeping the order
 * of `conversations`. `members` are every member, or a list's preview rows (with member_count).
 */
export function toConversations(
  viewerId: string,
  conversations: ConversationRow[],
  members: MemberRow[],
  lastMessages: MessageRow[],
  lastReactions: ReactionRow[],
): Conversation[] {
  const membersOf = new Map<string, MemberRow[]>();
  for (const row of members) {
    let list = membersOf.get(row.conversation_id);
    if (!list) membersOf.set(row.conversation_id, (list = []));
    list.push(row);
  }
  const lastOf = new Map<string, Message>();
  for (const message of toMessages(lastMessages, lastReactions)) {
    lastOf.set(message.conversationId, message);
  }
  return conversations.map((row) => {
    const memberRows = membersOf.get(row.id) ?? [];
    const members = memberRows.map(toMember);
    const count = memberRows[0]?.member_count ?? memberRows.length;
    return toConversation(viewerId, row, memberRows, members, lastOf.get(row.id), count);
  });
}

/**
 * Every listed member's own view of one conversation. The views share one `members` array, so
 * the worker's structured clone and the heap hold it once, however large the group.
 */
export function toMemberViews(
  conversation: Omit<ConversationRow, `viewer_${string}`>,
  memberRows: MemberViewRow[],
  lastMessage: Message | undefined,
  viewerIds: string[],
): MemberView[] {
  const members = memberRows.map(toMember);
  const byId = new Map(memberRows.map((row) => [row.user_id, row]));
  const views: MemberView[] = [];
  for (const viewerId of viewerIds) {
    const own = byId.get(viewerId);
    if (!own) continue;
    const row: ConversationRow = {
      ...conversation,
      viewer_read_seq: own.read_seq,
      viewer_join_seq: own.join_seq,
      viewer_muted: own.muted,
      viewer_archived: own.archived,
    };
    const view = toConversation(viewerId, row, memberRows, members, lastMessage, members.length);
    views.push({ userId: viewerId, conversation: view });
  }
  return views;
}

function toConversation(
  viewerId: string,
  row: ConversationRow,
  memberRows: MemberRow[],
  members: Member[],
  lastMessage: Message | undefined,
  memberCount: number,
): Conversation {
  const peer = memberRows.find((m) => m.user_id !== viewerId);
  return {
    id: row.id,
    kind: row.kind,
    title: row.kind === 'group' ? (row.title ?? '') : (peer?.display_name ?? ''),
    members,
    memberCount,
    membersVersion: row.members_version,
    lastMessage: lastMessage ?? null,
    lastSeq: row.last_seq,
    readSeq: row.viewer_read_seq,
    unreadCount: Math.max(0, row.last_seq - row.viewer_read_seq),
    createdAt: iso(row.created_at),
    lastActivityAt: iso(row.last_activity_at),
    firstSeq: Math.max(1, row.viewer_join_seq),
    muted: row.viewer_muted === 1,
    archived: row.viewer_archived === 1,
    ...(row.viewer_unread_mentions ? { unreadMentions: row.viewer_unread_mentions } : {}),
  };
}

const toMember = (row: MemberRow): Member => ({
  user: { id: row.user_id, username: row.username, displayName: row.display_name },
  role: row.role,
  readSeq: row.read_seq,
  deliveredSeq: row.delivered_seq,
});

/** Whom a group change was about: those it added, those it removed. */
export interface ChangeWho {
  added?: string[];
  removed?: string[];
}

/**
 * Who gets a group change's full conversation view: those it added and the actor (everyone
 * else gets the delta). The engine reads these views, and `members`, under its lock.
 */
export const viewersOfChange = (actorId: string, who: ChangeWho): string[] => [
  ...(who.added ?? []),
  actorId,
];

/** A group change's result, as both engines return it. */
export const toMemberChange = (
  conversationId: string,
  messages: Message[],
  members: MemberSet,
  who: ChangeWho,
  views: MemberView[],
): MemberChange => ({
  conversationId,
  messages,
  members,
  addedUserIds: who.added ?? [],
  removedUserIds: who.removed ?? [],
  views,
});

/** A push_subscriptions row as the store reads it. */
export interface PushSubscriptionRow {
  endpoint: string;
  session_id: string;
  user_id: string;
  p256dh: string;
  auth: string;
  preview: number;
}

export const toPushSubscription = (row: PushSubscriptionRow): PushSubscriptionRecord => ({
  endpoint: row.endpoint,
  sessionId: row.session_id,
  userId: row.user_id,
  p256dh: row.p256dh,
  auth: row.auth,
  preview: row.preview === 1,
});

/** A files row as a FileRecord (both engines hand back the same row). */
export function toFileRecord(row: FilesTable): FileRecord {
  return {
    id: row.id,
    uploaderId: row.uploader_id,
    name: row.name,
    size: Number(row.size),
    mime: row.mime,
    width: row.width,
    height: row.height,
    sha256: row.sha256,
    thumbSha256: row.thumb_sha256,
    thumbhash: row.thumbhash,
    createdAt: Number(row.created_at),
    conversationId: row.conversation_id,
    seq: row.seq,
  };
}

export function fileRow(file: NewFile): FilesTable {
  return {
    id: file.id,
    uploader_id: file.uploaderId,
    name: file.name,
    size: file.size,
    mime: file.mime,
    width: file.width,
    height: file.height,
    sha256: file.sha256,
    thumb_sha256: file.thumbSha256,
    thumbhash: file.thumbhash,
    created_at: file.createdAt,
    conversation_id: null,
    seq: null,
  };
}
