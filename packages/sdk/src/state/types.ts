/**
 * The client-side state the web app renders from. Every snapshot is immutable: a change makes
 * new objects along its path and shares the rest, so React can compare by reference.
 */
import type {
  Contact,
  Conversation,
  ConversationChange,
  ErrorCode,
  Member,
  Message,
  ReceiptKind,
  User,
} from '@letter/protocol';
import type { AuthStatus } from '../auth.js';
import type { ConnectionStatus } from '../connection.js';

/** A message composed here and not yet acknowledged (local echo), or one that failed for good. */
export interface PendingMessage {
  readonly clientMsgId: string;
  readonly conversationId: string;
  readonly senderId: string;
  readonly body: string;
  readonly replyToSeq: number | null;
  readonly createdAt: string;
  readonly status: 'pending' | 'failed';
  /** The permanent error of a failed send. */
  readonly error: ErrorCode | null;
  /** Files going with it, uploaded first (absent: a text message). */
  readonly attachments?: readonly PendingAttachment[];
}

/** A file of a pending message: its bytes (for a local preview) and how far its upload got. */
export interface PendingAttachment {
  readonly localId: string;
  readonly name: string;
  readonly size: number;
  readonly mime: string;
  readonly blob: Blob;
  readonly uploadedBytes: number;
  readonly uploaded: boolean;
}

export interface Timeline {
  /** Acknowledged messages, ascending by seq, one per seq, contiguous up to `cursor`. */
  readonly messages: readonly Message[];
  /**
   * Nothing at or below this seq is missing on the recent side: the `sync` cursor. It starts
   * at the conversation's lastSeq when first seen (older history is paged on demand) and only
   * advances through messages actually held, so a gap is never skipped.
   */
  readonly cursor: number;
  /** The first seq the viewer may see (`conversation.firstSeq`); history stops there. Default 1. */
  readonly firstSeq?: number;
}

/** The server's unread count and the positions it was computed at; see unread.ts. */
export interface UnreadBase {
  readonly lastSeq: number;
  readonly readSeq: number;
  readonly unreadCount: number;
  /** The server's `unreadMentions` at the same positions (0 when it sent none). */
  readonly unreadMentions?: number;
}

export interface Presence {
  readonly online: boolean;
  readonly lastSeenAt: string | null;
}

export interface ClientState {
  readonly session: AuthStatus;
  readonly me: User | null;
  readonly connection: ConnectionStatus;
  /** True from `ready` until the resume (sync, missing conversations, gaps) is done. */
  readonly syncing: boolean;
  /** False until the first conversation list arrived: the app shows a spinner instead of "empty". */
  readonly conversationsLoaded: boolean;
  readonly conversations: Readonly<Record<string, Conversation>>;
  /** Conversation ids, latest activity first. */
  readonly conversationOrder: readonly string[];
  readonly timelines: Readonly<Record<string, Timeline>>;
  /**
   * Local echoes per conversation in the order they were composed, rendered after the
   * timeline. Kept apart from timelines because the outbox loads before the conversations do.
   */
  readonly pending: Readonly<Record<string, readonly PendingMessage[]>>;
  readonly unreadBase: Readonly<Record<string, UnreadBase>>;
  readonly presence: Readonly<Record<string, Presence>>;
  /** conversationId → userId → when their typing indicator expires (epoch ms). */
  readonly typing: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** Null until loaded. */
  readonly contacts: readonly Contact[] | null;
}

export const initialState: ClientState = {
  session: 'unknown',
  me: null,
  connection: 'offline',
  syncing: false,
  conversationsLoaded: false,
  conversations: {},
  conversationOrder: [],
  timelines: {},
  pending: {},
  unreadBase: {},
  presence: {},
  typing: {},
  contacts: null,
};

/** Everything that changes the state. Server frames map onto these one to one. */
export type StateEvent =
  | { type: 'session'; status: AuthStatus; user: User | null }
  | { type: 'connection'; status: ConnectionStatus }
  | { type: 'syncing'; syncing: boolean }
  /** The full list: conversations not in it are gone. */
  | { type: 'conversations.loaded'; conversations: readonly Conversation[] }
  | { type: 'conversation'; conversation: Conversation }
  | { type: 'conversation.removed'; conversationId: string }
  /** A group change as a delta (`conversation.changed`): applied on top of what is known. */
  | { type: 'conversation.changed'; change: ConversationChange }
  /** Every member, fetched on demand (`GET /api/conversations/:id/members`). */
  | {
      type: 'members';
      conversationId: string;
      members: readonly Member[];
      memberCount: number;
      membersVersion: number;
    }
  | { type: 'message'; message: Message }
  | { type: 'message.updated'; message: Message }
  /** A contiguous run from REST history (older page or gap fill). */
  | { type: 'messages.page'; conversationId: string; messages: readonly Message[] }
  | { type: 'receipt'; conversationId: string; userId: string; kind: ReceiptKind; seq: number }
  | { type: 'typing'; conversationId: string; userId: string; expiresAt: number }
  | { type: 'typing.expire'; now: number }
  | { type: 'presence'; userId: string; online: boolean; lastSeenAt: string | null }
  | { type: 'contacts'; contacts: readonly Contact[] }
  | { type: 'pending.upsert'; pending: PendingMessage }
  | { type: 'pending.remove'; conversationId: string; clientMsgId: string }
  /** Signed out: forget everything but the connection status. */
  | { type: 'reset' };
