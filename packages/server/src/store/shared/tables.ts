/**
 * The logical schema every SQL store shares, as kysely table types: one row shape per table, so
 * the row-to-protocol functions (shared/rows.ts) serve SQLite and PostgreSQL alike. Times are
 * epoch milliseconds; flags are 0/1 (SQLite has no boolean, and PostgreSQL stores a smallint
 * with a CHECK so both engines hand back the same rows). Engine-only tables and columns (FTS5's
 * virtual table, PostgreSQL's tsvector) are added by each engine's own DB type.
 */

export interface UsersTable {
  id: string;
  username: string;
  display_name: string;
  password_hash: string;
  created_at: number;
  last_seen_at: number | null;
  deleted_at: number | null;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  created_at: number;
  revoked_at: number | null;
}

export interface RefreshTokensTable {
  token_hash: string;
  session_id: string;
  expires_at: number;
  spent_at: number | null;
}

export interface ContactsTable {
  owner_id: string;
  contact_id: string;
  created_at: number;
}

export interface BlocksTable {
  blocker_id: string;
  blocked_id: string;
  created_at: number;
}

export interface ConversationsTable {
  id: string;
  kind: 'direct' | 'group';
  title: string | null;
  direct_key: string | null;
  last_seq: number;
  created_at: number;
  last_activity_at: number;
  members_version: number;
}

export interface MembersTable {
  conversation_id: string;
  user_id: string;
  role: 'admin' | 'member';
  joined_at: number;
  read_seq: number;
  delivered_seq: number;
  join_seq: number;
  muted: 0 | 1;
  archived: 0 | 1;
}

export interface MessagesTable {
  id: string;
  conversation_id: string;
  seq: number;
  sender_id: string | null;
  client_msg_id: string | null;
  body: string;
  created_at: number;
  edited_at: number | null;
  deleted_at: number | null;
  reply_to_seq: number | null;
  system_json: string | null;
  /** JSON array of the user ids a message mentions; null when none. */
  mentions_json: string | null;
  /**
   * JSON array of the message's files as sent (StoredAttachment, shared/attachments.ts), written
   * in the append's transaction; null when none. History reads it with the row, no join.
   */
  attachments_json: string | null;
}

export interface ReactionsTable {
  conversation_id: string;
  seq: number;
  user_id: string;
  emoji: string;
  created_at: number;
}

export interface PositionLogTable {
  conversation_id: string;
  user_id: string;
  kind: 'delivered' | 'read';
  seq: number;
  at: number;
}

export interface MentionsTable {
  conversation_id: string;
  user_id: string;
  seq: number;
}

export interface PushSubscriptionsTable {
  endpoint: string;
  session_id: string;
  user_id: string;
  p256dh: string;
  auth: string;
  created_at: number;
}

export interface PushSettingsTable {
  user_id: string;
  preview: 0 | 1;
}

/**
 * An uploaded file: its bytes are the blob `sha256` (files/blob-store.ts), several rows may
 * share one blob. `conversation_id`/`seq` name the message it is attached to, null until then.
 */
export interface FilesTable {
  id: string;
  uploader_id: string;
  name: string;
  size: number;
  mime: string;
  width: number | null;
  height: number | null;
  sha256: string;
  /** The blob of the 320 px WebP thumbnail (images only). */
  thumb_sha256: string | null;
  /** A thumbhash placeholder, base64 (images only). */
  thumbhash: string | null;
  created_at: number;
  conversation_id: string | null;
  seq: number | null;
}

/** A blob whose deletion started (FileService.deleteOrphans): uploads naming it wait. */
export interface BlobDeletionsTable {
  key: string;
  started_at: number;
}

/** The tables both engines have, with the same columns. */
export interface SharedTables {
  users: UsersTable;
  sessions: SessionsTable;
  refresh_tokens: RefreshTokensTable;
  contacts: ContactsTable;
  blocks: BlocksTable;
  conversations: ConversationsTable;
  members: MembersTable;
  messages: MessagesTable;
  reactions: ReactionsTable;
  position_log: PositionLogTable;
  push_subscriptions: PushSubscriptionsTable;
  push_settings: PushSettingsTable;
  blob_deletions: BlobDeletionsTable;
  mentions: MentionsTable;
  files: FilesTable;
}

/** The columns of a message row, in the order every message query selects them. */
export const MESSAGE_COLUMNS = [
  'msg.id',
  'msg.conversation_id',
  'msg.seq',
  'msg.sender_id',
  'msg.client_msg_id',
  'msg.body',
  'msg.created_at',
  'msg.edited_at',
  'msg.deleted_at',
  'msg.reply_to_seq',
  'msg.system_json',
  'msg.mentions_json',
  'msg.attachments_json',
] as const;

/** A message row's values by column, for an INSERT whose parameters are named by column. */
export const messageValues = (row: MessagesTable): MessagesTable =>
  Object.fromEntries(
    MESSAGE_COLUMNS.map((column) => column.slice('msg.'.length) as keyof MessagesTable).map(
      (key) => [key, row[key]],
    ),
  ) as unknown as MessagesTable;

/** A conversation's own columns (alias c). */
export const CONVERSATION_COLUMNS = [
  'c.id',
  'c.kind',
  'c.title',
  'c.last_seq',
  'c.created_at',
  'c.last_activity_at',
  'c.members_version',
] as const;

/** The viewer's own member row beside each conversation of a list (alias mine). */
export const VIEWER_COLUMNS = [
  'mine.read_seq as viewer_read_seq',
  'mine.join_seq as viewer_join_seq',
  'mine.muted as viewer_muted',
  'mine.archived as viewer_archived',
] as const;

/** A member as every view lists them (aliases m: members, u: users). */
export const MEMBER_COLUMNS = [
  'm.conversation_id',
  'm.user_id',
  'u.username',
  'u.display_name',
  'm.role',
  'm.read_seq',
  'm.delivered_seq',
] as const;

/** MEMBER_COLUMNS and the member's own settings: what the view each member gets needs. */
export const MEMBER_VIEW_COLUMNS = [
  ...MEMBER_COLUMNS,
  'm.join_seq',
  'm.muted',
  'm.archived',
] as const;

/** Membership's columns (aliases m: members, c: conversations). */
export const MEMBERSHIP_COLUMNS = [
  'c.kind',
  'c.last_seq',
  'c.members_version',
  'm.role',
  'm.read_seq',
  'm.delivered_seq',
  'm.join_seq',
] as const;

/** A member row with what every access check on a conversation needs (both stores). */
export interface Membership {
  kind: 'direct' | 'group';
  last_seq: number;
  members_version: number;
  role: 'admin' | 'member';
  read_seq: number;
  delivered_seq: number;
  join_seq: number;
}
