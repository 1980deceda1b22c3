/** The shapes the server returns. Both ends import the types; the sdk may parse with the schemas. */
import { z } from 'zod';

export const id = z.string().min(1).max(64);
export const isoTime = z.string();
export const seq = z.number().int().nonnegative();

export const user = z.object({
  id,
  username: z.string(),
  displayName: z.string(),
});
export type User = z.infer<typeof user>;

export const role = z.enum(['admin', 'member']);
export type Role = z.infer<typeof role>;

export const member = z.object({
  user,
  role,
  /** Extension: how far this member has read and received, so a sender can draw ticks. */
  readSeq: seq,
  deliveredSeq: seq,
});
export type Member = z.infer<typeof member>;

export const systemEvent = z.object({
  kind: z.enum(['created', 'added', 'removed', 'left', 'renamed', 'promoted', 'demoted']),
  actorId: id.nullable(),
  userIds: z.array(id),
  title: z.string().optional(),
});
export type SystemEvent = z.infer<typeof systemEvent>;

/**
 * A file on a message. `url` and `thumbnailUrl` are signed for the one viewer they were sent to
 * and expire (contract "Files"); `thumbhash` (base64) is a tiny placeholder of an image.
 */
export const attachment = z.object({
  id,
  name: z.string(),
  mime: z.string(),
  size: z.number().int().nonnegative(),
  width: z.number().int().positive().optional(),
  height: z.number().int().positive().optional(),
  thumbhash: z.string().optional(),
  url: z.string(),
  thumbnailUrl: z.string().optional(),
});
export type Attachment = z.infer<typeof attachment>;

export const message = z.object({
  id,
  conversationId: id,
  seq: z.number().int().positive(),
  /** null for system messages. */
  senderId: id.nullable(),
  /** null for system messages. */
  clientMsgId: z.string().nullable(),
  body: z.string(),
  createdAt: isoTime,
  editedAt: isoTime.nullable(),
  deletedAt: isoTime.nullable(),
  replyToSeq: z.number().int().positive().nullable(),
  attachments: z.array(attachment),
  reactions: z.record(z.string(), z.array(id)),
  system: systemEvent.optional(),
  /**
   * Extension: the members a group message mentions (`@username` in the body when sent, members
   * only, never the sender); absent when it mentions nobody.
   */
  mentions: z.array(id).optional(),
});
export type Message = z.infer<typeof message>;

export const conversationKind = z.enum(['direct', 'group']);
export type ConversationKind = z.infer<typeof conversationKind>;

export const conversation = z.object({
  id,
  kind: conversationKind,
  /** Group title; for a direct conversation the other person's display name. */
  title: z.string(),
  /**
   * Every member, in join order, from `GET /api/conversations/:id` and in the view a new member
   * gets. In `GET /api/conversations` entries only a preview: the first
   * limits.conversationListMembers members in join order, and the viewer's own entry when it is
   * not among them. `memberCount` says how many there are; the full list comes from
   * `GET /api/conversations/:id/members`.
   */
  members: z.array(member),
  /** Extension: how many members the conversation has (`members` may be a preview). */
  memberCount: z.number().int().nonnegative(),
  /**
   * Extension: the version of the member list, bumped by every change of members or roles. A
   * `conversation.changed` event carries the version after it: one more than what a client
   * holds means it applies on top; more than that means the client missed one.
   */
  membersVersion: z.number().int().nonnegative(),
  lastMessage: message.nullable(),
  lastSeq: seq,
  /** The caller's own read position: the same on every device. */
  readSeq: seq,
  unreadCount: z.number().int().nonnegative(),
  /**
   * Extension: unread messages that mention the viewer (groups); absent when none, and in the
   * views `conversation` events carry (a client counts live `message.mentions` itself).
   */
  unreadMentions: z.number().int().positive().optional(),
  createdAt: isoTime,
  /** Extension: time of the latest message, or creation; the list is ordered by it. */
  lastActivityAt: isoTime,
  /**
   * Extension: the first seq the viewer may see. A member added to a group sees history from
   * the system message that added them on; everyone else from 1.
   */
  firstSeq: z.number().int().positive(),
  /** Extension: the viewer muted it (still counted in `unreadCount`; no notifications). */
  muted: z.boolean(),
  /** Extension: the viewer archived it; a new message from someone else un-archives it. */
  archived: z.boolean(),
});
export type Conversation = z.infer<typeof conversation>;

/** A group change as every member hears of it: the `conversation.changed` frame. */
export const conversationChange = z.object({
  type: z.literal('conversation.changed'),
  conversationId: id,
  /** The members version after the change (see `conversation.membersVersion`). */
  membersVersion: seq,
  memberCount: z.number().int().nonnegative(),
  /** Set when the group was renamed. */
  title: z.string().optional(),
  /** Members who joined with this change. */
  added: z.array(member),
  /** User ids of members who left or were removed. */
  removed: z.array(id),
  /** Members whose role changed, with their new role (a promotion on hand-over included). */
  roles: z.array(z.object({ userId: id, role })),
});
export type ConversationChange = z.infer<typeof conversationChange>;

export const contact = z.object({
  user,
  online: z.boolean(),
  lastSeenAt: isoTime.nullable(),
});
export type Contact = z.infer<typeof contact>;

export const receipt = z.object({
  userId: id,
  deliveredAt: isoTime.nullable(),
  readAt: isoTime.nullable(),
});
export type Receipt = z.infer<typeof receipt>;

export const receiptKind = z.enum(['delivered', 'read']);
export type ReceiptKind = z.infer<typeof receiptKind>;

/** Where a search term matched, in UTF-16 code units (JavaScript string indices) of `snippet`. */
export const highlight = z.object({
  start: z.number().int().nonnegative(),
  length: z.number().int().positive(),
});
export type Highlight = z.infer<typeof highlight>;

/**
 * One search hit. `snippet` is plain text, never HTML: an excerpt of the body around the first
 * match, with `…` where it was cut. Render it as text and mark the `highlights` ranges.
 */
export const searchResult = z.object({
  message,
  conversationId: id,
  snippet: z.string(),
  highlights: z.array(highlight),
});
export type SearchResult = z.infer<typeof searchResult>;
