/**
 * Group management and per-member settings: the store decides (atomically) what changed, this
 * service tells whom. A change is announced in one synchronous run after its commit resolved:
 * nothing else of this node can slip between "members changed" and the events that say so.
 */
import {
  LetterError,
  type Conversation,
  type ConversationSettingsBody,
  type Role,
} from '@letter/protocol';
import type { GroupChangeBase, MemberChange, SystemMessageIds } from '../store/store.js';
import type { ChatDeps, ChatService } from './chat.js';
import { takeGroupToken } from './send-limit.js';

export class GroupService {
  constructor(
    private readonly chat: ChatService,
    private readonly deps: ChatDeps,
  ) {}

  /** Renames a group (admins); answers the caller's view. */
  async rename(userId: string, conversationId: string, title: string): Promise<Conversation> {
    const change = await this.deps.store.renameGroup({
      ...this.base(userId, conversationId),
      title,
    });
    return this.announce(change, userId)!;
  }

  /** Adds members (admins); answers the caller's view. */
  async addMembers(
    userId: string,
    conversationId: string,
    userIds: string[],
  ): Promise<Conversation> {
    const change = await this.deps.store.addMembers({
      ...this.base(userId, conversationId),
      userIds,
    });
    return this.announce(change, userId)!;
  }

  /** Removes a member (admins), or leaves when `memberId` is the caller (anyone). */
  async removeMember(userId: string, conversationId: string, memberId: string): Promise<void> {
    const change = await this.deps.store.removeMember({
      ...this.base(userId, conversationId),
      userId: memberId,
    });
    this.announce(change, userId);
  }

  /** Promotes or demotes (admins); answers the caller's view. */
  async setRole(
    userId: string,
    conversationId: string,
    memberId: string,
    role: Role,
  ): Promise<Conversation> {
    const change = await this.deps.store.setMemberRole({
      ...this.base(userId, conversationId),
      userId: memberId,
      role,
    });
    return this.announce(change, userId)!;
  }

  /** The caller's own muted/archived flags; their other devices hear of it. */
  async updateSettings(
    userId: string,
    conversationId: string,
    settings: ConversationSettingsBody,
  ): Promise<Conversation> {
    const conversation = await this.deps.store.updateSettings(conversationId, userId, settings);
    if (!conversation) throw new LetterError('not_found');
    this.deps.hub.deliver([userId], { type: 'conversation', conversation });
    return conversation;
  }

  /**
   * Tells everyone concerned about a committed change, synchronously, in this order: the member
   * cache is dropped (here at once, elsewhere through the hub), those who lost access get
   * `conversation.removed`, every member gets their own view, then the system messages go out
   * as `message` events. Nothing is sent when nothing changed. Returns `viewerId`'s view, or
   * undefined when they are no longer a member.
   */
  announce(change: MemberChange, viewerId: string): Conversation | undefined {
    const { conversationId, members } = change;
    if (change.messages.length > 0) {
      if (change.addedUserIds.length > 0 || change.removedUserIds.length > 0) {
        this.chat.membersChanged(conversationId);
      }
      const { hub } = this.deps;
      hub.deliver(change.removedUserIds, { type: 'conversation.removed', conversationId });
      this.chat.deliverViews(change.views);
      for (const message of change.messages) {
        hub.deliver(members.userIds, { type: 'message', message }, '', {
          conversationId,
          seq: message.seq,
        });
      }
    }
    return change.views.find((view) => view.userId === viewerId)?.conversation;
  }

  private base(actorId: string, conversationId: string): GroupChangeBase {
    const { clock, ids } = this.deps;
    takeGroupToken(this.deps.groupLimiter, actorId);
    const messageIds: SystemMessageIds = [ids.next('m'), ids.next('m')];
    return { conversationId, actorId, now: clock.now(), messageIds };
  }
}
