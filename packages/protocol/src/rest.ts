/** REST request bodies and queries, validated by the server before anything else runs. */
import { z } from 'zod';
import { limits } from './limits.js';
import {
  id,
  isoTime,
  role,
  member,
  conversation,
  contact,
  message,
  user,
  receipt,
  searchResult,
} from './models.js';

const codePoints = (s: string) => [...s].length;

export const username = z
  .string()
  .trim()
  .toLowerCase()
  .min(
    limits.usernameMin,
    `username must be ${limits.usernameMin}–${limits.usernameMax} characters`,
  )
  .max(
    limits.usernameMax,
    `username must be ${limits.usernameMin}–${limits.usernameMax} characters`,
  )
  .regex(/^[a-z0-9_.]+$/, 'username may contain only a-z, 0-9, "_" and "."');

export const password = z
  .string()
  .min(limits.passwordMin, `password must be at least ${limits.passwordMin} characters`)
  .max(limits.passwordMax, `password must be at most ${limits.passwordMax} characters`);

/** PostgreSQL text cannot hold U+0000 and no person types it: refused at the edge for every store. */
const noNul = (s: string) => !s.includes('\u0000');
const noNulMessage = 'must not contain the NUL character (U+0000)';

export const displayName = z
  .string()
  .trim()
  .refine(noNul, `displayName ${noNulMessage}`)
  .min(1, 'displayName must not be empty')
  .max(limits.displayNameMax, `displayName must be at most ${limits.displayNameMax} characters`);

/** A body that may be empty (a send with attachments): up to 4,000 code points after trimming. */
export const sendBodyText = z
  .string()
  .trim()
  .refine(noNul, `body ${noNulMessage}`)
  .refine(
    (s) => codePoints(s) <= limits.maxBodyChars,
    `body must be at most ${limits.maxBodyChars} characters`,
  );

/** A message body: 1–4,000 code points after trimming; stored trimmed. */
export const messageBody = sendBodyText.refine((s) => s.length > 0, 'body must not be empty');

/** Uploaded file ids (`POST /api/files`) a send attaches: distinct, at most limits.maxAttachments. */
export const attachmentIds = z
  .array(z.string().min(1).max(64))
  .max(limits.maxAttachments, `at most ${limits.maxAttachments} attachments`)
  .refine((ids) => new Set(ids).size === ids.length, 'attachments must not repeat a file');

/** A send's body may be empty only when it carries attachments. */
export const bodyOrAttachments = (s: { body: string; attachments?: string[] | undefined }) =>
  s.body.length > 0 || (s.attachments?.length ?? 0) > 0;
export const bodyOrAttachmentsMessage = 'body must not be empty (unless there are attachments)';

export const groupTitle = z
  .string()
  .trim()
  .min(1)
  .max(limits.groupTitleMax)
  .refine(noNul, `title ${noNulMessage}`);

export const clientMsgId = z
  .string()
  .min(1)
  .max(limits.maxClientMsgIdChars)
  .refine(noNul, `clientMsgId ${noNulMessage}`);
/** A message's seq as a client names it: 1 up to what both stores hold. */
export const positiveSeq = z.number().int().positive().max(limits.maxSeq);
/** A position or cursor: 0 (nothing yet) up to the largest seq. */
export const cursorSeq = z.number().int().nonnegative().max(limits.maxSeq);

export const registerBody = z.object({ username, password, displayName: displayName.optional() });
export const loginBody = z.object({
  username: z.string().max(256),
  password: z.string().max(limits.passwordMax),
});
export const refreshBody = z.object({ refreshToken: z.string().min(1).max(512).optional() });
export const patchMeBody = z.object({ displayName });
export const changePasswordBody = z.object({
  currentPassword: z.string().max(limits.passwordMax),
  newPassword: password,
});
export const deleteMeBody = z.object({ password: z.string().max(limits.passwordMax) });
/** A Web Push endpoint: the URL the browser's push service gave; the server checks it more. */
const pushEndpoint = z.string().min(1).max(2048).url();
/** base64url, as PushSubscription.toJSON() gives them (a P-256 point, a 16-byte secret). */
const base64url = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(/^[A-Za-z0-9_-]+=*$/, 'base64url');
export const pushSubscribeBody = z.object({
  endpoint: pushEndpoint,
  keys: z.object({ p256dh: base64url(200), auth: base64url(100) }),
});
/** The caller's push settings: `preview` is "show message text in notifications" (default on). */
export const pushSettingsBody = z.object({ preview: z.boolean() });
export const pushUnsubscribeBody = z.object({ endpoint: pushEndpoint });
/** The JSON a push carries (encrypted for the browser, never seen by the push service). */
export type PushPayload = MessagePush | ReadPush;
export interface MessagePush {
  type: 'message';
  conversationId: string;
  seq: number;
  /** The sender, and in a group "sender in group". */
  title: string;
  /** The message text, unless the recipient turned previews off. */
  body?: string;
}
/** The recipient read up to `seq` (on some device): close the chat's notification. */
export interface ReadPush {
  type: 'read';
  conversationId: string;
  seq: number;
}
export const usersQuery = z.object({ query: z.string().max(limits.usernameMax).default('') });

export const addContactBody = z.object({ username: z.string().min(1).max(256) });
export const blockBody = z.object({ userId: id });

export const createConversationBody = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('direct'), userId: id }),
  z.object({
    kind: z.literal('group'),
    title: groupTitle,
    memberIds: z.array(id).max(limits.groupMaxMembers - 1),
  }),
]);

export const historyQuery = z.object({
  before: z.coerce.number().int().positive().max(limits.maxSeq).optional(),
  after: z.coerce.number().int().nonnegative().max(limits.maxSeq).optional(),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(limits.historyMaxLimit)
    .default(limits.historyDefaultLimit),
});

/** `GET /api/conversations`: a page; `cursor` is a `nextCursor` the server gave, opaque. */
export const conversationsQuery = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(limits.conversationsMaxLimit)
    .default(limits.conversationsDefaultLimit),
  cursor: z.string().min(1).max(200).optional(),
});

export const sendMessageBody = z
  .object({
    clientMsgId,
    body: sendBodyText,
    replyToSeq: positiveSeq.optional(),
    attachments: attachmentIds.optional(),
  })
  .refine(bodyOrAttachments, { message: bodyOrAttachmentsMessage, path: ['body'] });
export const readBody = z.object({ seq: cursorSeq });

/** A seq in a path (`/messages/:seq`). */
export const messageParams = z.object({
  seq: z.coerce.number().int().positive().max(limits.maxSeq),
});

export const patchConversationBody = z.object({
  title: groupTitle,
});
export const addMembersBody = z.object({ userIds: z.array(id).min(1).max(limits.groupMaxMembers) });
export const patchMemberBody = z.object({ role });
export const editMessageBody = z.object({ body: messageBody });

let graphemes: Intl.Segmenter | undefined;
/** A pictograph, a flag (two regional indicators) or a keycap (`1️⃣`). */
const emojiMark = /\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20E3/u;

/** True for exactly one emoji: one grapheme cluster (skin tones, ZWJ families, flags) that is one. */
export function isSingleEmoji(text: string): boolean {
  graphemes ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' });
  let count = 0;
  for (const _ of graphemes.segment(text)) if (++count > 1) return false;
  return count === 1 && emojiMark.test(text);
}

export const emoji = z
  .string()
  .min(1, 'emoji must not be empty')
  .max(limits.emojiMaxChars, 'emoji must be a single emoji')
  .refine(isSingleEmoji, 'emoji must be a single emoji');
export const reactionBody = z.object({ emoji });

export const searchQuery = z.object({
  q: z
    .string()
    .trim()
    .min(1, 'q must not be empty')
    .max(limits.searchQueryMaxChars)
    .refine(noNul, `q ${noNulMessage}`),
  conversationId: id.optional(),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(limits.searchMaxLimit)
    .default(limits.searchDefaultLimit),
});

/** Extension: the caller's own settings of a conversation. At least one field. */
export const conversationSettingsBody = z
  .object({ muted: z.boolean().optional(), archived: z.boolean().optional() })
  .refine((b) => b.muted !== undefined || b.archived !== undefined, {
    message: 'give muted or archived',
    path: ['muted'],
  });

/**
 * Sent as `Letter-Auth-Mode: cookie` on register, login and refresh by a client that keeps its
 * refresh token in the HttpOnly cookie (the web app): the token is then never in a response
 * body, out of reach of page scripts. Other clients send nothing and get it in the body.
 */
export const authModeHeader = 'letter-auth-mode';

/** Response shapes, for the sdk and the docs. `refreshToken` is absent for cookie clients. */
export const authResponse = z.object({
  user,
  accessToken: z.string(),
  refreshToken: z.string().optional(),
});
export const tokensResponse = z.object({
  accessToken: z.string(),
  refreshToken: z.string().optional(),
});
export const historyResponse = z.object({ messages: z.array(message), hasMore: z.boolean() });
export const conversationsResponse = z.object({
  conversations: z.array(conversation),
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: z.string().nullable(),
});
export const contactsResponse = z.object({ contacts: z.array(contact) });
export const receiptsResponse = z.object({ receipts: z.array(receipt) });
export const conversationResponse = z.object({ conversation });
/** Extension: `GET /api/conversations/:id/members`, every member in join order. */
export const membersResponse = z.object({
  members: z.array(member),
  memberCount: z.number().int().nonnegative(),
  membersVersion: z.number().int().nonnegative(),
});
export type MembersResponse = z.infer<typeof membersResponse>;
export const messageResponse = z.object({ message });
export const searchResponse = z.object({ results: z.array(searchResult) });

/** `GET /api/me/export`: everything Letter keeps about the caller, in one document. */
export const exportDocument = z.object({
  format: z.literal('letter-export/1'),
  exportedAt: isoTime,
  user: user.extend({ createdAt: isoTime }),
  contacts: z.array(user),
  blocks: z.array(user),
  /** As the caller sees them now. */
  conversations: z.array(conversation),
  /** Every message the caller sent and has not deleted, by conversation then seq. */
  messages: z.array(message),
});

export type RegisterBody = z.infer<typeof registerBody>;
export type CreateConversationBody = z.infer<typeof createConversationBody>;
export type HistoryQuery = z.infer<typeof historyQuery>;
export type ConversationsQuery = z.infer<typeof conversationsQuery>;
export type ConversationsResponse = z.infer<typeof conversationsResponse>;
export type AuthResponse = z.infer<typeof authResponse>;
export type TokensResponse = z.infer<typeof tokensResponse>;
export type ConversationSettingsBody = z.infer<typeof conversationSettingsBody>;
export type SearchQuery = z.infer<typeof searchQuery>;
export type SearchResponse = z.infer<typeof searchResponse>;
export type ExportDocument = z.infer<typeof exportDocument>;
