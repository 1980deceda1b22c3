/** Derived views for the UI, memoized on snapshot identity so `useSyncExternalStore` stays cheap. */
import type { Conversation } from '@letter/protocol';
import { hasOlder } from './timeline.js';
import type { ClientState, PendingMessage, Timeline } from './types.js';

let lastList: {
  conversations: ClientState['conversations'];
  order: ClientState['conversationOrder'];
  list: readonly Conversation[];
} | null = null;

/** Conversations, latest activity first; the same array while nothing in it changed. */
export function selectConversations(state: ClientState): readonly Conversation[] {
  if (
    lastList?.conversations === state.conversations &&
    lastList.order === state.conversationOrder
  ) {
    return lastList.list;
  }
  const list = state.conversationOrder
    .map((id) => state.conversations[id])
    .filter((c): c is Conversation => c !== undefined);
  lastList = { conversations: state.conversations, order: state.conversationOrder, list };
  return list;
}

const noTimeline: Timeline = { messages: [], cursor: 0 };
const noPending: readonly PendingMessage[] = [];

export function selectTimeline(state: ClientState, conversationId: string): Timeline {
  return state.timelines[conversationId] ?? noTimeline;
}

/** Local echoes of a conversation, in composition order. */
export function selectPending(
  state: ClientState,
  conversationId: string,
): readonly PendingMessage[] {
  return state.pending[conversationId] ?? noPending;
}

/** Whether `loadOlder` has anything left to fetch for this conversation. */
export function selectHasOlder(state: ClientState, conversationId: string): boolean {
  const timeline = state.timelines[conversationId];
  return timeline ? hasOlder(timeline) : false;
}

/** Ids of the people typing in a conversation right now. */
export function selectTyping(state: ClientState, conversationId: string): string[] {
  return Object.keys(state.typing[conversationId] ?? {});
}

export function selectTotalUnread(state: ClientState): number {
  let total = 0;
  for (const id of state.conversationOrder) total += state.conversations[id]?.unreadCount ?? 0;
  return total;
}
