/** WebSocket frames. Every client frame is parsed with `clientFrame` before it is acted on. */
import { z } from 'zod';
import { limits } from './limits.js';
import {
  attachmentIds,
  bodyOrAttachments,
  bodyOrAttachmentsMessage,
  clientMsgId,
  cursorSeq,
  positiveSeq,
  sendBodyText,
} from './rest.js';
import {
  conversation,
  conversationChange,
  id,
  message,
  receiptKind,
  user,
  isoTime,
} from './models.js';
import type { ErrorCode } from './errors.js';

const requestId = z.union([z.string().max(64), z.number()]).optional();

export const authFrame = z.object({
  type: z.literal('auth'),
  id: requestId,
  token: z.string().min(1).max(4096),
});
export const sendFrame = z
  .object({
    type: z.literal('send'),
    id: requestId,
    conversationId: id.optional(),
    /** A userId: the direct conversation with that user (created when missing). */
    to: id.optional(),
    clientMsgId,
    body: sendBodyText,
    replyToSeq: positiveSeq.optional(),
    /** Uploaded file ids (`POST /api/files`), the sender's own, each attached once. */
    attachments: attachmentIds.optional(),
  })
  .refine((f) => (f.conversationId === undefined) !== (f.to === undefined), {
    message: 'exactly one of conversationId and to is required',
    path: ['conversationId'],
  })
  .refine(bodyOrAttachments, { message: bodyOrAttachmentsMessage, path: ['body'] });
export const typingFrame = z.object({
  type: z.literal('typing'),
  id: requestId,
  conversationId: id,
});
export const deliveredFrame = z.object({
  type: z.literal('delivered'),
  id: requestId,
  conversationId: id,
  seq: cursorSeq,
});
export const readFrame = z.object({
  type: z.literal('read'),
  id: requestId,
  conversationId: id,
  seq: cursorSeq,
});
export const syncFrame = z.object({
  type: z.literal('sync'),
  id: requestId,
  cursors: z
    .record(id, cursorSeq)
    .refine((c) => Object.keys(c).length <= 10_000, 'at most 10000 cursors'),
});
export const pingFrame = z.object({ type: z.literal('ping'), id: requestId });

export const clientFrame = z.union([
  authFrame,
  sendFrame,
  typingFrame,
  deliveredFrame,
  readFrame,
  syncFrame,
  pingFrame,
]);
export type ClientFrame = z.infer<typeof clientFrame>;
export const clientFrameSchemas = {
  auth: authFrame,
  send: sendFrame,
  typing: typingFrame,
  delivered: deliveredFrame,
  read: readFrame,
  sync: syncFrame,
  ping: pingFrame,
} as const;
export type ClientFrameType = keyof typeof clientFrameSchemas;
export const clientFrameTypes = Object.keys(clientFrameSchemas) as ClientFrameType[];

export type SendFrame = z.infer<typeof sendFrame>;
export type SyncFrame = z.infer<typeof syncFrame>;

/** Server → client. */
export const serverFrameSchemas = {
  ready: z.object({ type: z.literal('ready'), user, sessionId: z.string() }),
  ok: z.looseObject({ type: z.literal('ok'), id: requestId }),
  error: z.object({
    type: z.literal('error'),
    id: requestId,
    code: z.string(),
    message: z.string(),
  }),
  message: z.object({ type: z.literal('message'), message }),
  'message.updated': z.object({ type: z.literal('message.updated'), message }),
  receipt: z.object({
    type: z.literal('receipt'),
    conversationId: id,
    userId: id,
    kind: receiptKind,
    seq: z.number().int().nonnegative(),
  }),
  typing: z.object({ type: z.literal('typing'), conversationId: id, userId: id }),
  presence: z.object({
    type: z.literal('presence'),
    userId: id,
    online: z.boolean(),
    lastSeenAt: isoTime.nullable(),
  }),
  conversation: z.object({ type: z.literal('conversation'), conversation }),
  /**
   * Extension: what a group change changed, one frame for every member (serialized once):
   * members added (in full), ids removed, role changes, the new title when renamed, and the
   * member count and members version after it. The new members get their full `conversation`
   * instead, the removed ones `conversation.removed`.
   */
  'conversation.changed': conversationChange,
  /** Extension: the caller lost access to a conversation (removed, left); drop it locally. */
  'conversation.removed': z.object({ type: z.literal('conversation.removed'), conversationId: id }),
} as const;
export type ServerFrameType = keyof typeof serverFrameSchemas;
export const serverFrameTypes = Object.keys(serverFrameSchemas) as ServerFrameType[];
export type ServerFrame = {
  [K in ServerFrameType]: z.infer<(typeof serverFrameSchemas)[K]>;
}[ServerFrameType];
export type ServerFrameOf<K extends ServerFrameType> = z.infer<(typeof serverFrameSchemas)[K]>;

export interface ErrorFrame {
  type: 'error';
  id?: string | number;
  code: ErrorCode;
  message: string;
}

/** The `ok` answer to `sync`. */
export interface SyncResult {
  conversations: { id: string; lastSeq: number }[];
  truncated: string[];
}

export { limits };
