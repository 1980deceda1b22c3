/**
 * The chat service: every change to conversations and messages, for REST and WebSocket alike.
 * It writes through the store, then tells the hub whom to notify; it is the one place that
 * decides who may see what (Guarantee 4: non-members learn nothing).
 *
 * Architecture Invariant: events are generated only after the store's commit resolves.
 */
import {
  LetterError,
  mentionedUsernames,
  limits,
  type Conversation,
  type Message,
  type ReceiptKind,
  type SyncResult,
} from '@letter/protocol';
import type { MemberSet, MemberView } from '../store/store.js';
import { iso } from '../util/clock.js';
import { messageFrameJson, type MessageKey } from '../hub/hub.js';
import type { PresenceChange } from '../presence/presence.js';
import { AccountService } from './accounts.js';
import type { ChatDeps } from './deps.js';
import { GroupService } from './groups.js';
import { MessageActions } from './message-actions.js';
import { takeGroupToken, takeSendToken } from './send-limit.js';
import { refuseSelfConversation } from '../store/shared/rules.js';

export interface SendInput {
  conversationId?: string | undefined;
  to?: string | undefined;
  clientMsgId: string;
  body: string;
  replyToSeq?: number | undefined;
  /** Uploaded file ids to attach (the sender's own, not attached yet). */
  attachments?: string[] | undefined;
}

const MEMBER_CACHE_MAX = 20_000;

export type { ChatDeps } from './deps.js';

export class ChatService {
  /** Group management and per-member settings. */
  readonly groups: GroupService;
  /** Edits, deletes, reactions, receipts and search. */
  readonly messages: MessageActions;
  /** Account deletion and export. */
  readonly accounts: AccountService;

  /**
   * conversationId → members, with the version of that list. Dropped on every membership change
   * anywhere in the cluster. Message fan-out never trusts it blindly: the store compares its
   * version at commit (see `send`). Typing and receipts use it as is.
   */
  private readonly members = new Map<string, MemberSet>();
  private readonly loading = new Map<string, Promise<MemberSet>>();
  /**
   * Counts drops. A member list read before a drop may be stale: it is used for the call that
   * read it but not cached (a reply can arrive after the drop that should have superseded it).
   */
  private drops = 0;
  private readonly typingAt = new Map<string, number>();

  constructor(private readonly deps: ChatDeps) {
    deps.hub.onEvent((event) => {
      if (event.kind === 'membership-changed') this.dropMembers(event.conversationId);
      if (event.kind === 'bus-restored') this.dropAllMembers(); // changes elsewhere went unheard
    });
    // A presence change is background work: with the database away it is logged and skipped.
    deps.presence.onChange((change) => {
      this.announcePresence(change).catch((error: unknown) =>
        deps.log?.warn({ err: error, userId: change.userId }, 'presence announcement failed'),
      );
    });
    this.groups = new GroupService(this, deps);
    this.messages = new MessageActions(deps);
    this.accounts = new AccountService(this, deps);
  }

  async memberIds(conversationId: string): Promise<string[]> {
    const known = this.members.get(conversationId);
    if (known) return known.userIds;
    let loading = this.loading.get(conversationId);
    if (!loading) {
      const drops = this.drops;
      const pending = this.deps.store.memberSet(conversationId);
      loading = pending;
      this.loading.set(conversationId, pending);
      const settle = () => {
        if (this.loading.get(conversationId) === pending) this.loading.delete(conversationId);
      };
      pending.then((set) => {
        settle();
        if (drops === this.drops) this.remember(conversationId, set);
      }, settle);
    }
    return (await loading).userIds;
  }

  /**
   * Members changed: forget them here at once, before anything else runs on this node, and
   * tell every other node. Callers invoke it synchronously after the store's commit resolved,
   * so no event of the conversation can go out on this node with the old list.
   */
  membersChanged(conversationId: string): void {
    this.dropMembers(conversationId);
    this.deps.hub.publish({ kind: 'membership-changed', conversationId });
  }

  private dropAllMembers(): void {
    this.drops += 1;
    this.members.clear();
    this.loading.clear();
  }

  private dropMembers(conversationId: string): void {
    this.drops += 1;
    this.members.delete(conversationId);
    this.loading.delete(conversationId);
  }

  private remember(conversationId: string, set: MemberSet): void {
    const known = this.members.get(conversationId);
    if (known && known.version > set.version) return;
    if (!known && this.members.size >= MEMBER_CACHE_MAX) this.members.clear();
    this.members.set(conversationId, set);
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
    takeSendToken(this.deps.sendLimiter, userId);
    const conversationId =
      input.conversationId ?? (await this.openDirect(userId, input.to ?? '')).conversation.id;
    const { store, ids, clock } = this.deps;
    const names =
      input.to === undefined && input.body.includes('@')
        ? mentionedUsernames(input.body)
        : undefined;
    // The store tells whether this list is the one at the commit, and sends the right one if
    // not: a message reaches exactly its members then, whatever this node's cache holds.
    const cached = this.members.get(conversationId);
    const drops = this.drops;
    const result = await store.appendMessage({
      id: ids.next('m'),
      conversationId,
      senderId: userId,
      clientMsgId: input.clientMsgId,
      body: input.body,
      replyToSeq: input.replyToSeq ?? null,
      attachments: input.attachments,
      createdAt: clock.now(),
      knownMembersVersion: cached?.version,
      // Only a body with `@name` costs the lookups, and a wait before the append; the store
      // keeps the members among them.
      mentions: names?.size ? await this.mentionCandidates(names) : undefined,
    });
    if (result.created) {
      if (result.members && drops === this.drops) this.remember(conversationId, result.members);
      const members = result.members?.userIds ?? cached?.userIds ?? [];
      this.deliverMessage(members, result.message, exceptConnectionId);
      this.deps.onMessage?.(result.message, members);
    }
    // The sender's answer carries the files signed for them.
    const signed = this.deps.files.signMessage(result.message, userId);
    return signed === result.message ? result : { ...result, message: signed };
  }

  /**
   * A new message to its members: a text message is serialized once for all of them; one with
   * attachments once per recipient, each with URLs signed for that recipient alone.
   */
  deliverMessage(userIds: readonly string[], message: Message, exceptConnectionId = ''): void {
    const key = { conversationId: message.conversationId, seq: message.seq };
    const { hub, files } = this.deps;
    if (message.attachments.length === 0) {
      hub.deliverJson(userIds, messageFrameJson(message), exceptConnectionId, key);
      return;
    }
    const frameFor = files.signedJson(message, messageFrameJson);
    for (const userId of userIds)
      hub.deliverJson([userId], frameFor(userId), exceptConnectionId, key);
  }

  /** The ids of the users named by `@username` (unknown names are no one). */
  private async mentionCandidates(names: Set<string>): Promise<string[]> {
    const users = await Promise.all(
      [...names].map((name) => this.deps.store.getUserByUsername(name)),
    );
    return users.flatMap((user) => (user ? [user.id] : []));
  }

  /** The direct conversation with `peerId`, created (and announced to both) when missing. */
  async openDirect(
    userId: string,
    peerId: string,
  ): Promise<{ conversation: Conversation; created: boolean }> {
    refuseSelfConversation(userId, peerId);
    const { store, ids, clock } = this.deps;
    const peer = await store.getUser(peerId);
    if (!peer) throw new LetterError('not_found', 'No such user.');
    const result = await store.openDirect(ids.next('c'), userId, peerId, clock.now());
    if (result.created) {
      await this.announceConversation(result.conversation.id, [userId, peerId]);
      await this.revealPresence(userId, peerId);
    }
    return result;
  }

  async createGroup(userId: string, title: string, memberIds: string[]): Promise<Conversation> {
    const { store, ids, clock } = this.deps;
    takeGroupToken(this.deps.groupLimiter, userId);
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
    this.membersChanged(conversationId);
    this.deliverViews(await this.deps.store.conversationViews(conversationId, userIds));
  }

  /**
   * Each member's own view to that member's sessions. Views of one conversation differ only in
   * the viewer's own fields; members whose views are alike (everyone a change added, every
   * founding member but the creator) share one frame, serialized once.
   */
  deliverViews(views: MemberView[]): void {
    const alike = new Map<string, { conversation: Conversation; userIds: string[] }>();
    for (const view of views) {
      const { userId } = view;
      const c = this.deps.files.signConversation(view.conversation, userId);
      const own = JSON.stringify([
        // A last message with files is signed for its viewer: a view of its own.
        c === view.conversation ? '' : userId,
        c.title,
        c.readSeq,
        c.unreadCount,
        c.firstSeq,
        c.muted,
        c.archived,
      ]);
      const entry = alike.get(own);
      if (entry) entry.userIds.push(userId);
      else alike.set(own, { conversation: c, userIds: [userId] });
    }
    for (const { conversation, userIds } of alike.values()) {
      this.deps.hub.deliver(userIds, { type: 'conversation', conversation });
    }
  }

  /**
   * Moves a member's position and tells its audience. The socket that reported it
   * (`exceptConnectionId`) gets no receipt: its answer carries the position, as a `send`'s `ok`
   * does the message. The member's other sessions hear it.
   */
  async advance(
    userId: string,
    conversationId: string,
    kind: ReceiptKind,
    seq: number,
    exceptConnectionId = '',
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
      if (kind === 'read') this.deps.onRead?.(userId, conversationId, result.seq);
      // The store's audience: members added after this position hear nothing of it.
      this.deps.hub.deliver(
        result.audience,
        { type: 'receipt', conversationId, userId, kind, seq: result.seq },
        exceptConnectionId,
      );
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
    // Nobody sees typing from someone they blocked or who blocked them, in groups too.
    const blocked = new Set(await this.deps.store.blockPeers(userId));
    this.deps.hub.deliver(
      members.filter((id) => id !== userId && !blocked.has(id)),
      { type: 'typing', conversationId, userId },
    );
  }

  /**
   * Replays what the client missed after each cursor, in seq order, through `emit`; then
   * returns every conversation's lastSeq so the client notices ones it has never seen.
   * Conversations the user is not in are ignored silently: a cursor reveals nothing.
   * Once `signal` is aborted (the socket closed) it reads nothing more from the store.
   */
  async sync(
    userId: string,
    cursors: Record<string, number>,
    emit: (frame: object, key: MessageKey) => void,
    signal?: AbortSignal,
  ): Promise<SyncResult> {
    const summaries = await this.deps.store.listConversationSummaries(userId);
    const lastSeqs = new Map(summaries.map((s) => [s.id, s.lastSeq]));
    const truncated: string[] = [];
    for (const [conversationId, cursor] of Object.entries(cursors)) {
      if (signal?.aborted) break;
      const lastSeq = lastSeqs.get(conversationId);
      if (lastSeq === undefined || lastSeq <= cursor) continue;
      const page = await this.deps.store.history(conversationId, userId, {
        after: cursor,
        limit: limits.syncMaxPerConversation,
      });
      if (!page) continue;
      for (const message of page.messages) {
        const own = this.deps.files.signMessage(message, userId);
        emit({ type: 'message', message: own }, { conversationId, seq: message.seq });
      }
      if (page.hasMore) truncated.push(conversationId);
    }
    return { conversations: summaries, truncated };
  }

  /**
   * `a` and `b` may have just become able to see each other's presence (a contact added back, a
   * direct conversation opened, a block lifted): each hears the other's state now, as the
   * presence rule allows, instead of only at the other's next change. Background work: a store
   * failure is logged, never thrown at the request that caused it.
   */
  async revealPresence(a: string, b: string): Promise<void> {
    const { store, hub, presence } = this.deps;
    try {
      for (const [viewer, subject] of [
        [a, b],
        [b, a],
      ] as const) {
        if (!(await store.canSeePresence(viewer, subject))) continue;
        const online = presence.isOnline(subject);
        const lastSeenAt = online ? null : ((await store.getUser(subject))?.lastSeenAt ?? null);
        hub.deliver([viewer], {
          type: 'presence',
          userId: subject,
          online,
          lastSeenAt: lastSeenAt === null ? null : iso(lastSeenAt),
        });
      }
    } catch (error) {
      this.deps.log?.warn({ err: error, users: [a, b] }, 'revealing presence failed');
    }
  }

  private async announcePresence(change: PresenceChange): Promise<void> {
    const { store, hub } = this.deps;
    if (!change.online && change.lastSeenAt !== null && !change.localOnly) {
      // Not saving lastSeenAt loses a detail; the announcement still goes out.
      await store
        .setLastSeen(change.userId, change.lastSeenAt)
        .catch((error: unknown) =>
          this.deps.log?.warn({ err: error, userId: change.userId }, 'saving lastSeenAt failed'),
        );
    }
    const audience = await store.presenceAudience(change.userId);
    const frame = {
      type: 'presence',
      userId: change.userId,
      online: change.online,
      lastSeenAt: change.lastSeenAt === null ? null : iso(change.lastSeenAt),
    };
    if (change.localOnly) hub.deliverHere(audience, frame);
    else hub.deliver(audience, frame);
  }
}
