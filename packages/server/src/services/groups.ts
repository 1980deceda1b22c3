/**
 * Group management and per-member settings: the store decides (atomically) what changed, this
 * service tells whom. A change is announced in one synchronous run after its commit resolved:
 * nothing else of this node can slip between "members changed" and the events that say so.
 */
import {
  LetterError,
  type Conversation,
  type ConversationChange,
  type ConversationSettingsBody,
  type MembersResponse,
  type Role,
} from '@letter/protocol';
import type { GroupChangeBase, MemberChange, SystemMessageIds } from '../store/store.js';
import type { ChatDeps, MemberAnnouncer } from './deps.js';
import { takeGroupToken } from './send-limit.js';

export class GroupService {
  constructor(
    private readonly chat: MemberAnnouncer,
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

  /**
   * Every member, in join order, for a member (404 otherwise): what a client fetches on demand,
   * as `GET /api/conversations` entries carry only a preview.
   */
  async members(userId: string, conversationId: string): Promise<MembersResponse> {
    const conversation = await this.deps.store.getConversation(conversationId, userId);
    if (!conversation) throw new LetterError('not_found');
    const { members, memberCount, membersVersion } = conversation;
    return { members, memberCount, membersVersion };
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
   * `conversation.removed`, those who joined get their full view, every other member one
   * `conversation.changed` delta (serialized once, its size bounded by the change, not the
   * group), then the system messages go out as `message` events. Nothing is sent when nothing
   * changed. Returns `viewerId`'s view, or undefined when they are no longer a member.
   */
  announce(change: MemberChange, viewerId: string): Conversation | undefined {
    const { conversationId, members } = change;
    if (change.messages.length > 0) {
      if (change.addedUserIds.length > 0 || change.removedUserIds.length > 0) {
        this.chat.membersChanged(conversationId);
      }
      const { hub } = this.deps;
      hub.deliver(change.removedUserIds, { type: 'conversation.removed', conversationId });
      const added = new Set(change.addedUserIds);
      this.chat.deliverViews(change.views.filter((view) => added.has(view.userId)));
      hub.deliver(
        members.userIds.filter((userId) => !added.has(userId)),
        changeFrame(change),
      );
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

/**
 * The `conversation.changed` frame of a committed change: who joined (their member entries, from
 * a view the store read with the change), who went, whose role changed and the new title, read
 * off the change's system messages, with the member count and version after it.
 */
export function changeFrame(change: MemberChange): ConversationChange {
  const added = new Set(change.addedUserIds);
  const members = change.views[0]?.conversation.members ?? [];
  const frame: ConversationChange = {
    type: 'conversation.changed',
    conversationId: change.conversationId,
    membersVersion: change.members.version,
    memberCount: change.members.userIds.length,
    added: added.size > 0 ? members.filter((member) => added.has(member.user.id)) : [],
    removed: change.removedUserIds,
    roles: [],
  };
  for (const { system } of change.messages) {
    if (system?.kind === 'renamed' && system.title !== undefined) frame.title = system.title;
    if (system?.kind === 'promoted' || system?.kind === 'demoted') {
      const role = system.kind === 'promoted' ? 'admin' : 'member';
      for (const userId of system.userIds) frame.roles.push({ userId, role });
    }
  }
  return frame;
}
