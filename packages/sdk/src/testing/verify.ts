/**
 * Zulip's `verify_action` for Letter: the state a client built from a snapshot plus the events
 * it received must equal a fresh snapshot. These normalizers reduce both sides to what the UI
 * renders from a conversation list (order, unread counts, positions, last message). Used against
 * a real node: packages/server/test/sdk-verify-action.test.ts.
 */
import type { Conversation } from '@letter/protocol';
import type { ClientState } from '../state/types.js';

export interface ConversationSummary {
  id: string;
  kind: string;
  title: string;
  members: { userId: string; role: string; readSeq: number; deliveredSeq: number }[];
  lastSeq: number;
  lastMessage: {
    seq: number;
    body: string;
    editedAt: string | null;
    deletedAt: string | null;
    reactions: Record<string, string[]>;
  } | null;
  readSeq: number;
  unreadCount: number;
  lastActivityAt: string;
  firstSeq: number;
  muted: boolean;
  archived: boolean;
}

export function summarize(conversation: Conversation): ConversationSummary {
  return {
    id: conversation.id,
    kind: conversation.kind,
    title: conversation.title,
    members: conversation.members
      .map((m) => ({
        userId: m.user.id,
        role: m.role,
        readSeq: m.readSeq,
        deliveredSeq: m.deliveredSeq,
      }))
      .sort((a, b) => (a.userId < b.userId ? -1 : 1)),
    lastSeq: conversation.lastSeq,
    lastMessage: conversation.lastMessage && {
      seq: conversation.lastMessage.seq,
      body: conversation.lastMessage.body,
      editedAt: conversation.lastMessage.editedAt,
      deletedAt: conversation.lastMessage.deletedAt,
      reactions: conversation.lastMessage.reactions,
    },
    readSeq: conversation.readSeq,
    unreadCount: conversation.unreadCount,
    lastActivityAt: conversation.lastActivityAt,
    firstSeq: conversation.firstSeq,
    muted: conversation.muted,
    archived: conversation.archived,
  };
}

/** The client's conversation list, in its order. */
export function clientView(state: ClientState): ConversationSummary[] {
  return state.conversationOrder.map((id) => summarize(state.conversations[id]!));
}
