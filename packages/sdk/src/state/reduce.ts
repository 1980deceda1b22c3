/**
 * `reduce(state, event)`: the one way the client state changes, a pure function. Server frames
 * go through `applyFrame`, which only turns a frame into its event (typing needs a clock).
 */
import { limits } from '@letter/protocol';
import type { Conversation, ConversationChange, Member, Message } from '@letter/protocol';
import type { PushFrame } from '../connection.js';
import {
  addMessages,
  emptyTimeline,
  updateMessage,
  upsertPending,
  withoutAcknowledged,
} from './timeline.js';
import { computeUnread, computeUnreadMentions } from './unread.js';
import { initialState } from './types.js';
import type { ClientState, PendingMessage, StateEvent, UnreadBase } from './types.js';

export function applyFrame(state: ClientState, frame: PushFrame, now: number): ClientState {
  return reduce(state, frameToEvent(frame, now));
}

export function frameToEvent(frame: PushFrame, now: number): StateEvent {
  switch (frame.type) {
    case 'typing':
      return {
        type: 'typing',
        conversationId: frame.conversationId,
        userId: frame.userId,
        expiresAt: now + limits.typingTtlMs,
      };
    case 'message':
    case 'message.updated':
      return { type: frame.type, message: frame.message };
    case 'receipt':
      return { ...frame };
    case 'presence':
      return { ...frame };
    case 'conversation':
      return { type: 'conversation', conversation: frame.conversation };
    case 'conversation.removed':
      return { type: 'conversation.removed', conversationId: frame.conversationId };
    case 'conversation.changed':
      return { type: 'conversation.changed', change: frame };
  }
}

export function reduce(state: ClientState, event: StateEvent): ClientState {
  switch (event.type) {
    case 'session':
      if (event.status === 'signedOut')
        return { ...initialState, connection: state.connection, session: 'signedOut' };
      return { ...state, session: event.status, me: event.user ?? state.me };
    case 'connection':
      return state.connection === event.status ? state : { ...state, connection: event.status };
    case 'syncing':
      return state.syncing === event.syncing ? state : { ...state, syncing: event.syncing };
    case 'conversations.loaded':
      return loadConversations(state, event.conversations);
    case 'conversation':
      return reorder(upsertConversation(state, event.conversation));
    case 'conversation.removed':
      return removeConversation(state, event.conversationId);
    case 'conversation.changed':
      return applyChange(state, event.change);
    case 'members':
      return applyMembers(state, event);
    case 'message':
      return unarchive(
        applyMessages(state, event.message.conversationId, [event.message]),
        state,
        event.message,
      );
    case 'messages.page':
      return applyMessages(state, event.conversationId, event.messages);
    case 'message.updated':
      return applyUpdate(state, event.message);
    case 'receipt':
      return applyReceipt(state, event);
    case 'typing':
      return applyTyping(state, event.conversationId, event.userId, event.expiresAt);
    case 'typing.expire':
      return expireTyping(state, event.now);
    case 'presence':
      return {
        ...state,
        presence: {
          ...state.presence,
          [event.userId]: { online: event.online, lastSeenAt: event.lastSeenAt },
        },
      };
    case 'contacts': {
      const presence = { ...state.presence };
      for (const c of event.contacts) {
        presence[c.user.id] = { online: c.online, lastSeenAt: c.lastSeenAt };
      }
      return { ...state, contacts: event.contacts, presence };
    }
    case 'pending.upsert': {
      const id = event.pending.conversationId;
      return withPending(state, id, upsertPending(state.pending[id] ?? [], event.pending));
    }
    case 'pending.remove': {
      const list = state.pending[event.conversationId] ?? [];
      const kept = list.filter((p) => p.clientMsgId !== event.clientMsgId);
      return kept.length === list.length ? state : withPending(state, event.conversationId, kept);
    }
    case 'reset':
      return { ...initialState, connection: state.connection, session: state.session };
  }
}

function loadConversations(state: ClientState, list: readonly Conversation[]): ClientState {
  let next = state;
  const listed = new Set(list.map((c) => c.id));
  for (const id of Object.keys(state.conversations)) {
    if (!listed.has(id)) next = removeConversation(next, id);
  }
  for (const conversation of list) next = upsertConversation(next, conversation, true);
  return reorder({ ...next, conversationsLoaded: true });
}

/**
 * Merges a conversation snapshot from the server. Structure (title, members, roles) comes from
 * the snapshot; positions only move forward, because the snapshot may predate messages and
 * receipts already applied here.
 */
function upsertConversation(
  state: ClientState,
  incoming: Conversation,
  /** A list entry: its `unreadMentions` is exact (absent = none); an event's view has none. */
  listed = false,
): ClientState {
  const existing = state.conversations[incoming.id];
  let merged = incoming;
  if (existing) {
    const newer = incoming.lastSeq >= existing.lastSeq;
    merged = {
      ...incoming,
      lastSeq: Math.max(existing.lastSeq, incoming.lastSeq),
      lastMessage: newer ? incoming.lastMessage : existing.lastMessage,
      readSeq: Math.max(existing.readSeq, incoming.readSeq),
      lastActivityAt: later(existing.lastActivityAt, incoming.lastActivityAt),
      members: mergeMembers(
        // A list entry previews the members: a full list of the same version stays.
        isComplete(incoming) ||
          !isComplete(existing) ||
          existing.membersVersion !== incoming.membersVersion
          ? incoming.members
          : existing.members,
        existing.members,
      ),
    };
  }
  const base = state.unreadBase[incoming.id];
  const nextBase: UnreadBase =
    !base || incoming.lastSeq >= base.lastSeq
      ? {
          lastSeq: incoming.lastSeq,
          readSeq: incoming.readSeq,
          unreadCount: incoming.unreadCount,
          unreadMentions: incoming.unreadMentions ?? (listed ? 0 : (existing?.unreadMentions ?? 0)),
        }
      : base;
  let timeline = state.timelines[incoming.id] ?? emptyTimeline(incoming.lastSeq);
  if ((timeline.firstSeq ?? 1) !== incoming.firstSeq) {
    timeline = { ...timeline, firstSeq: incoming.firstSeq };
  }
  // Nothing held yet: older history is paged on demand, so the cursor may start at the top.
  if (timeline.messages.length === 0 && incoming.lastSeq > timeline.cursor) {
    timeline = { ...timeline, cursor: incoming.lastSeq };
  }
  return withUnread(
    {
      ...state,
      conversations: { ...state.conversations, [incoming.id]: merged },
      unreadBase: { ...state.unreadBase, [incoming.id]: nextBase },
      timelines: { ...state.timelines, [incoming.id]: timeline },
    },
    incoming.id,
  );
}

function removeConversation(state: ClientState, id: string): ClientState {
  if (!state.conversations[id] && !state.timelines[id]) return state;
  const { [id]: _c, ...conversations } = state.conversations;
  const { [id]: _t, ...timelines } = state.timelines;
  const { [id]: _b, ...unreadBase } = state.unreadBase;
  const { [id]: _y, ...typing } = state.typing;
  const { [id]: _p, ...pending } = state.pending;
  return {
    ...state,
    conversations,
    timelines,
    unreadBase,
    typing,
    pending,
    conversationOrder: state.conversationOrder.filter((c) => c !== id),
  };
}

function applyMessages(
  state: ClientState,
  conversationId: string,
  messages: readonly Message[],
): ClientState {
  const conversation = state.conversations[conversationId];
  const timeline = state.timelines[conversationId];
  // Unknown conversation: the client fetches it; its snapshot will account for this message.
  if (messages.length === 0) return state;
  const pendingList = state.pending[conversationId] ?? [];
  const acknowledged = withoutAcknowledged(pendingList, messages);
  if (acknowledged !== pendingList) state = withPending(state, conversationId, acknowledged);
  if (!conversation || !timeline) return state;
  const nextTimeline = addMessages(timeline, messages);
  if (nextTimeline === timeline) return state;
  const meId = state.me?.id ?? null;
  let next = { ...conversation };
  let typing = state.typing;
  for (const message of messages) {
    if (message.seq > next.lastSeq) {
      next.lastSeq = message.seq;
      next.lastMessage = message;
    }
    next.lastActivityAt = later(next.lastActivityAt, message.createdAt);
    // The server moves the sender's own read and delivered positions to the message it sent,
    // and a system message's actor's to it, with no receipt of either.
    const mover = message.senderId ?? message.system?.actorId ?? null;
    if (mover === null) continue;
    next.members = next.members.map((m) =>
      m.user.id === mover
        ? mergeMember(m, { ...m, readSeq: message.seq, deliveredSeq: message.seq })
        : m,
    );
    if (mover === meId) next.readSeq = Math.max(next.readSeq, message.seq);
    const sender = message.senderId;
    if (sender === null) continue;
    if (typing[conversationId]?.[sender] !== undefined) {
      const { [sender]: _gone, ...rest } = typing[conversationId]!;
      typing = { ...typing, [conversationId]: rest };
    }
  }
  const activityChanged = next.lastActivityAt !== conversation.lastActivityAt;
  next = sameConversation(conversation, next) ? conversation : next;
  const updated = withUnread(
    {
      ...state,
      typing,
      conversations: { ...state.conversations, [conversationId]: next },
      timelines: { ...state.timelines, [conversationId]: nextTimeline },
    },
    conversationId,
  );
  return activityChanged ? reorder(updated) : updated;
}

/**
 * A new message from someone else un-archives the conversation, as the server does in the same
 * transaction without a separate event. Only past what the snapshot knew (`lastSeq`), so a
 * replay of an older message never undoes an archive made after it.
 */
function unarchive(next: ClientState, before: ClientState, message: Message): ClientState {
  const id = message.conversationId;
  const previous = before.conversations[id];
  const conversation = next.conversations[id];
  if (!previous || !conversation?.archived) return next;
  if (message.senderId === null || message.senderId === next.me?.id) return next;
  if (message.seq <= previous.lastSeq) return next;
  return {
    ...next,
    conversations: { ...next.conversations, [id]: { ...conversation, archived: false } },
  };
}

function applyUpdate(state: ClientState, message: Message): ClientState {
  const id = message.conversationId;
  const conversation = state.conversations[id];
  const timeline = state.timelines[id];
  if (!conversation || !timeline) return state;
  const nextTimeline = updateMessage(timeline, message);
  const isLast = conversation.lastMessage?.seq === message.seq;
  if (nextTimeline === timeline && !isLast) return state;
  return {
    ...state,
    conversations: isLast
      ? { ...state.conversations, [id]: { ...conversation, lastMessage: message } }
      : state.conversations,
    timelines: { ...state.timelines, [id]: nextTimeline },
  };
}

function applyReceipt(
  state: ClientState,
  receipt: Extract<StateEvent, { type: 'receipt' }>,
): ClientState {
  const conversation = state.conversations[receipt.conversationId];
  if (!conversation) return state;
  const isRead = receipt.kind === 'read';
  const members = conversation.members.map((m) =>
    m.user.id === receipt.userId
      ? mergeMember(m, {
          ...m,
          // Reading implies having received.
          deliveredSeq: receipt.seq,
          readSeq: isRead ? receipt.seq : m.readSeq,
        })
      : m,
  );
  const mine = isRead && receipt.userId === state.me?.id;
  const next: Conversation = {
    ...conversation,
    members,
    readSeq: mine ? Math.max(conversation.readSeq, receipt.seq) : conversation.readSeq,
  };
  if (sameConversation(conversation, next)) return state;
  return withUnread(
    { ...state, conversations: { ...state.conversations, [conversation.id]: next } },
    conversation.id,
  );
}

function applyTyping(
  state: ClientState,
  conversationId: string,
  userId: string,
  expiresAt: number,
): ClientState {
  if (userId === state.me?.id || !state.conversations[conversationId]) return state;
  return {
    ...state,
    typing: {
      ...state.typing,
      [conversationId]: { ...state.typing[conversationId], [userId]: expiresAt },
    },
  };
}

function expireTyping(state: ClientState, now: number): ClientState {
  let changed = false;
  const typing: Record<string, Record<string, number>> = {};
  for (const [conversationId, users] of Object.entries(state.typing)) {
    const live = Object.entries(users).filter(([, expiresAt]) => expiresAt > now);
    if (live.length !== Object.keys(users).length) changed = true;
    if (live.length > 0) typing[conversationId] = Object.fromEntries(live);
  }
  return changed ? { ...state, typing } : state;
}

function withPending(
  state: ClientState,
  conversationId: string,
  list: readonly PendingMessage[],
): ClientState {
  if (list.length === 0) {
    if (!state.pending[conversationId]) return state;
    const { [conversationId]: _gone, ...pending } = state.pending;
    return { ...state, pending };
  }
  return { ...state, pending: { ...state.pending, [conversationId]: list } };
}

/** Recomputes one conversation's unread count from its base and what is held. */
function withUnread(state: ClientState, id: string): ClientState {
  const conversation = state.conversations[id];
  const base = state.unreadBase[id];
  const timeline = state.timelines[id];
  if (!conversation || !base || !timeline) return state;
  const meId = state.me?.id ?? null;
  const unreadCount = computeUnread(base, conversation.readSeq, timeline.messages, meId);
  const mentions = computeUnreadMentions(base, conversation.readSeq, timeline.messages, meId);
  if (unreadCount === conversation.unreadCount && mentions === (conversation.unreadMentions ?? 0))
    return state;
  // The protocol's `unreadMentions` is positive or absent.
  const { unreadMentions: _old, ...rest } = conversation;
  const next =
    mentions > 0 ? { ...rest, unreadCount, unreadMentions: mentions } : { ...rest, unreadCount };
  return { ...state, conversations: { ...state.conversations, [id]: next } };
}

/** Latest activity first; ties by id so the order is the same on every device. */
function reorder(state: ClientState): ClientState {
  const order = Object.values(state.conversations)
    .sort(
      (a, b) =>
        compareActivity(b.lastActivityAt, a.lastActivityAt) ||
        (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    )
    .map((c) => c.id);
  const same =
    order.length === state.conversationOrder.length &&
    order.every((id, i) => id === state.conversationOrder[i]);
  return same ? state : { ...state, conversationOrder: order };
}

function compareActivity(a: string, b: string): number {
  return Date.parse(a) - Date.parse(b);
}

function later(a: string, b: string): string {
  return compareActivity(a, b) >= 0 ? a : b;
}

/** Whether `members` lists every member (not a list entry's preview). */
export function isComplete(conversation: Conversation): boolean {
  return conversation.members.length >= conversation.memberCount;
}

/** `members`, each with positions never behind what `known` had for them. */
function mergeMembers(members: readonly Member[], known: readonly Member[]): Member[] {
  const byId = new Map(known.map((m) => [m.user.id, m]));
  return members.map((m) => {
    const old = byId.get(m.user.id);
    return old ? mergeMember(m, old) : m;
  });
}

/**
 * A group change on top of the conversation as known: members added (at the end, in join
 * order), removed, roles changed, a new title, the count and version after it. A delta for a
 * conversation not known here, or older than what is known, changes nothing (the client fetches
 * the conversation when it sees one it does not know, or a version jump).
 */
function applyChange(state: ClientState, change: ConversationChange): ClientState {
  const conversation = state.conversations[change.conversationId];
  if (!conversation || change.membersVersion < conversation.membersVersion) return state;
  const removed = new Set(change.removed);
  const roles = new Map(change.roles.map((r) => [r.userId, r.role]));
  const kept = conversation.members
    .filter((m) => !removed.has(m.user.id))
    .map((m) => {
      const role = roles.get(m.user.id);
      return role && role !== m.role ? { ...m, role } : m;
    });
  const present = new Set(kept.map((m) => m.user.id));
  const next: Conversation = {
    ...conversation,
    title: change.title ?? conversation.title,
    members: [...kept, ...change.added.filter((m) => !present.has(m.user.id))],
    memberCount: change.memberCount,
    membersVersion: change.membersVersion,
  };
  return { ...state, conversations: { ...state.conversations, [conversation.id]: next } };
}

/** Every member, fetched on demand; an answer older than what is known changes nothing. */
function applyMembers(
  state: ClientState,
  event: Extract<StateEvent, { type: 'members' }>,
): ClientState {
  const conversation = state.conversations[event.conversationId];
  if (!conversation || event.membersVersion < conversation.membersVersion) return state;
  const next: Conversation = {
    ...conversation,
    members: mergeMembers(event.members, conversation.members),
    memberCount: event.memberCount,
    membersVersion: event.membersVersion,
  };
  return { ...state, conversations: { ...state.conversations, [conversation.id]: next } };
}

function mergeMember(incoming: Member, other: Member): Member {
  const readSeq = Math.max(incoming.readSeq, other.readSeq);
  const deliveredSeq = Math.max(incoming.deliveredSeq, other.deliveredSeq, readSeq);
  if (readSeq === incoming.readSeq && deliveredSeq === incoming.deliveredSeq) return incoming;
  return { ...incoming, readSeq, deliveredSeq };
}

function sameConversation(a: Conversation, b: Conversation): boolean {
  return (
    a.lastSeq === b.lastSeq &&
    a.lastMessage === b.lastMessage &&
    a.readSeq === b.readSeq &&
    a.lastActivityAt === b.lastActivityAt &&
    a.members.length === b.members.length &&
    a.members.every((m, i) => m === b.members[i])
  );
}
