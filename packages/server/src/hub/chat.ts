/**
 * The chat service: every change to conversations and messages, for REST and WebSocket alike.
 * It writes through the store, then tells the hub whom to notify; it is the one place that
 * decides who may see what (Guarantee 4: non-members learn nothing).
 *
 * Architecture Invariant: events are generated only after the store's commit resolves.
 */
import {
  LetterError,
  limits,
  type Conversation,
  type Message,
  type ReceiptKind,
  type SyncResult,
} from '@letter/protocol';
import type { Store } from '../store/store.js';
import type { Clock } from '../util/clock.js';
import { iso } from '../util/clock.js';
import type { Ids } from '../util/ids.js';
import type { RateLimiter } from '../util/rate.js';
import type { Hub, MessageKey } from './hub.js';
import type { Presence, PresenceChange } from '../presence/presence.js';

export interface SendInput {
  conversationId?: string | undefined;
  to?: string | undefined;
  clientMsgId: string;
  body: string;
  replyToSeq?: number | undefined;
}

export interface ChatDeps {
  store: Store;
  hub: Hub;
  presence: Presence;
  clock: Clock;
  ids: Ids;
  sendLimiter: RateLimiter;
  onMessage?: (message: Message) => void;
}

const MEMBER_CACHE_MAX = 20_000;

export class ChatService {
  /** conversationId → member ids; dropped on every membership change anywhere in the cluster. */
  private readonly members = new Map<string, Promise<string[]>>();
  private readonly typingAt = new Map<string, number>();

  constructor(private readonly deps: ChatDeps) {
    deps.hub.onEvent((event) => {
      if (event.kind === 'membership-changed') this.members.delete(event.conversationId);
    });
    deps.presence.onChange((change) => void this.announcePresence(change));
  }

  memberIds(conversationId: string): Promise<string[]> {
    let cached = this.members.get(conversationId);
    if (!cached) {
      if (this.members.size >= MEMBER_CACHE_MAX) this.members.clear();
      cached = this.deps.store.memberIds(conversationId);
      this.members.set(conversationId, cached);
      cached.catch(() => this.members.delete(conversationId));
    }
    return cached;
  }

  /** Throws not_found unless the user is a member. */
  async requireMember(conversationId: string, userId: string): Promise<string[]> {
    const members = await this.memberIds(conversationId);
    if (!members.includes(userId)) throw new LetterError('not_found');
    return members;
  }

  async send(
    userId: string,
    input: SendInput,
    exceptConnectionId?: string,
  ): Promise<{ message: Message; created: boolean }> {
    const retryAfter = this.deps.sendLimiter.take(userId);
    if (retryAfter > 0) throw new LetterError('rate_limited', 'Sending too fast.', retryAfter);
    const conversationId =
      input.conversationId ?? (await this.openDirect(userId, input.to ?? '')).conversation.id;
    const { store, ids, clock, hub } = this.deps;
    const result = await store.appendMessage({
      id: ids.next('m'),
      conversationId,
      senderId: userId,
      clientMsgId: input.clientMsgId,
      body: input.body,
      replyToSeq: input.replyToSeq ?? null,
      createdAt: clock.now(),
    });
    if (result.created) {
      const members = await this.memberIds(conversationId);
      const { message } = result;
      hub.deliver(members, { type: 'message', message }, exceptConnectionId, {
        conversationId,
        seq: message.seq,
      });
      this.deps.onMessage?.(result.message);
    }
    return result;
  }

  /** The direct conversation with `peerId`, created (and announced to both) when missing. */
  async openDirect(
    userId: string,
    peerId: string,
  ): Promise<{ conversation: Conversation; created: boolean }> {
    if (peerId === userId)
      throw new LetterError('bad_request', 'You cannot start a conversation with yourself.');
    const { store, ids, clock } = this.deps;
    const peer = await store.getUser(peerId);
    if (!peer) throw new LetterError('not_found', 'No such user.');
    const result = await store.openDirect(ids.next('c'), userId, peerId, clock.now());
    if (result.created) await this.announceConversation(result.conversation.id, [userId, peerId]);
    return result;
  }

  async createGroup(userId: string, title: string, memberIds: string[]): Promise<Conversation> {
    const { store, ids, clock } = this.deps;
    const others = [...new Set(memberIds)].filter((id) => id !== userId);
    if (others.length + 1 > limits.groupMaxMembers) {
      throw new LetterError(
        'bad_request',
        `A group has at most ${limits.groupMaxMembers} members.`,
      );
    }
    const found = await store.getUsers(others);
    if (found.length !== others.length)
      throw new LetterError('not_found', 'Some of those users do not exist.');
    const conversation = await store.createGroup({
      id: ids.next('c'),
      title,
      creatorId: userId,
      memberIds: others,
      createdAt: clock.now(),
      systemMessageId: ids.next('m'),
    });
    await this.announceConversation(conversation.id, [userId, ...others]);
    return conversation;
  }

  /** Sends each member their own view of the conversation (titles and read state differ). */
  async announceConversation(conversationId: string, userIds: string[]): Promise<void> {
    this.deps.hub.publish({ kind: 'membership-changed', conversationId });
    this.members.delete(conversationId);
    await Promise.all(
      userIds.map(async (memberId) => {
        const conversation = await this.deps.store.getConversation(conversationId, memberId);
        if (conversation) this.deps.hub.deliver([memberId], { type: 'conversation', conversation });
      }),
    );
  }

  async advance(
    userId: string,
    conversationId: string,
    kind: ReceiptKind,
    seq: number,
  ): Promise<number> {
    const result = await this.deps.store.advancePosition(
      conversationId,
      userId,
      kind,
      seq,
      this.deps.clock.now(),
    );
    if (!result) throw new LetterError('not_found');
    if (result.changed) {
      const members = await this.memberIds(conversationId);
      this.deps.hub.deliver(members, {
        type: 'receipt',
        conversationId,
        userId,
        kind,
        seq: result.seq,
      });
    }
    return result.seq;
  }

  /** Relays typing to the other members, at most once per throttle window per user and conversation. */
  async typing(userId: string, conversationId: string): Promise<void> {
    const members = await this.requireMember(conversationId, userId);
    const key = `${userId}\n${conversationId}`;
    const now = this.deps.clock.now();
    // Shorter than the client's own throttle, so a client's honest cadence is never dropped.
    if (now - (this.typingAt.get(key) ?? -Infinity) < limits.typingThrottleMs * 0.75) return;
    if (this.typingAt.size > 100_000) this.typingAt.clear();
    this.typingAt.set(key, now);
    this.deps.hub.deliver(
      members.filter((id) => id !== userId),
      { type: 'typing', conversationId, userId },
    );
  }

  /**
   * Replays what the client missed after each cursor, in seq order, through `emit`; then
   * returns every conversation's lastSeq so the client notices ones it has never seen.
   * Conversations the user is not in are ignored silently: a cursor reveals nothing.
   */
  async sync(
    userId: string,
    cursors: Record<string, number>,
    emit: (frame: object, key: MessageKey) => void,
  ): Promise<SyncResult> {
    const summaries = await this.deps.store.listConversationSummaries(userId);
    const lastSeqs = new Map(summaries.map((s) => [s.id, s.lastSeq]));
    const truncated: string[] = [];
    for (const [conversationId, cursor] of Object.entries(cursors)) {
      const lastSeq = lastSeqs.get(conversationId);
      if (lastSeq === undefined || lastSeq <= cursor) continue;
      const page = await this.deps.store.history(conversationId, userId, {
        after: cursor,
        limit: limits.syncMaxPerConversation,
      });
      if (!page) continue;
      for (const message of page.messages)
        emit({ type: 'message', message }, { conversationId, seq: message.seq });
      if (page.hasMore) truncated.push(conversationId);
    }
    return { conversations: summaries, truncated };
  }

  private async announcePresence(change: PresenceChange): Promise<void> {
    const { store, hub } = this.deps;
    if (!change.online && change.lastSeenAt !== null)
      await store.setLastSeen(change.userId, change.lastSeenAt);
    const audience = await store.presenceAudience(change.userId);
    hub.deliver(audience, {
      type: 'presence',
      userId: change.userId,
      online: change.online,
      lastSeenAt: change.lastSeenAt === null ? null : iso(change.lastSeenAt),
    });
  }
}
