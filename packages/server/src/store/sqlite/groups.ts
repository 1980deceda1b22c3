/**
 * Group management for the SQLite store: rename, add, remove or leave, promote and demote. Every
 * rule that must hold at commit is checked here, inside the caller's transaction: who may act,
 * and that a group with members always has an admin.
 */
import type { Message, Role, SystemEvent } from '@letter/protocol';
import type { GroupChangeBase, MemberChange } from '../store.js';
import * as rules from '../shared/rules.js';
import { toMemberChange, viewersOfChange, type ChangeWho } from '../shared/rows.js';
import type { SqliteCore } from './core.js';

export class SqliteGroups {
  constructor(private readonly store: SqliteCore) {}

  rename(input: GroupChangeBase & { title: string }): MemberChange {
    const { conversationId, actorId, now } = input;
    rules.requireAdmin(this.requireGroupMember(conversationId, actorId));
    const current = this.store.a.conversationRow.get({ conversationId })!;
    if (current.title === input.title) return this.change(input, []);
    this.store.a.setTitle.run({ conversationId, title: input.title });
    const event: SystemEvent = { kind: 'renamed', actorId, userIds: [], title: input.title };
    return this.change(input, [this.append(input, 0, event, now)]);
  }

  addMembers(input: GroupChangeBase & { userIds: string[] }): MemberChange {
    const { conversationId, actorId, now } = input;
    rules.requireAdmin(this.requireGroupMember(conversationId, actorId));
    const wanted = [...new Set(input.userIds)];
    for (const userId of wanted) this.store.requireUser(userId);
    const added = wanted.filter((userId) => !this.store.isMember(conversationId, userId));
    if (added.length === 0) return this.change(input, []);
    this.store.refuseBlockedMembers(actorId, added);
    const { members } = this.store.a.counts.get({ conversationId })!;
    rules.refuseOverfullGroup(members, added.length);
    const message = this.append(input, 0, { kind: 'added', actorId, userIds: added }, now);
    for (const userId of added) {
      // They see history from the message that added them on, and have it unread.
      this.store.q.insertMember.run({
        conversationId,
        userId,
        role: 'member',
        now,
        readSeq: message.seq - 1,
        joinSeq: message.seq,
      });
    }
    this.store.a.bumpMembersVersion.run({ conversationId });
    return this.change(input, [message], { added });
  }

  /** Removes a member (admins), or leaves when the actor names themselves (any member). */
  removeMember(input: GroupChangeBase & { userId: string }): MemberChange {
    const { conversationId, actorId, userId, now } = input;
    const actor = this.requireGroupMember(conversationId, actorId);
    const kind = rules.removalOf(actor, actorId, userId);
    if (kind === 'removed' && !this.store.isMember(conversationId, userId))
      throw rules.notAMember();
    const message = this.append(input, 0, { kind, actorId, userIds: [userId] }, now);
    // Their positions (and position log) go with the row: a re-add starts afresh.
    this.store.a.deleteMember.run({ conversationId, userId });
    this.store.a.bumpMembersVersion.run({ conversationId });
    const handOver = this.ensureAdmin(input, userId);
    return this.change(input, handOver ? [message, handOver] : [message], {
      removed: [userId],
    });
  }

  setRole(input: GroupChangeBase & { userId: string; role: Role }): MemberChange {
    const { conversationId, actorId, userId, role, now } = input;
    rules.requireAdmin(this.requireGroupMember(conversationId, actorId));
    const target = this.store.q.membership.get({ conversationId, userId });
    if (!target) throw rules.notAMember();
    if (target.role === role) return this.change(input, []);
    if (role === 'member')
      rules.refuseSoleMemberDemotion(this.store.a.counts.get({ conversationId })!.members);
    this.store.a.setRole.run({ conversationId, userId, role });
    this.store.a.bumpMembersVersion.run({ conversationId });
    const kind = rules.roleEventOf(role);
    const message = this.append(input, 0, { kind, actorId, userIds: [userId] }, now);
    // An admin who demotes themselves as the last admin hands over to someone else.
    const handOver = role === 'member' ? this.ensureAdmin(input, userId) : null;
    return this.change(input, handOver ? [message, handOver] : [message]);
  }

  /**
   * A group with members keeps an admin: with none left, the longest-standing member other than
   * `exceptId` is promoted, recorded as `promoted` by nobody (actorId null).
   */
  private ensureAdmin(input: GroupChangeBase, exceptId: string): Message | null {
    const { conversationId, now } = input;
    const { admins } = this.store.a.counts.get({ conversationId })!;
    if ((admins ?? 0) > 0) return null;
    const next = this.store.a.longestStanding.get({ conversationId, exceptId });
    if (!next) return null;
    this.store.a.setRole.run({ conversationId, userId: next.user_id, role: 'admin' });
    const event: SystemEvent = { kind: 'promoted', actorId: null, userIds: [next.user_id] };
    return this.append(input, 1, event, now);
  }

  /** Order of checks: a non-member learns nothing (404) before anything else is said. */
  private requireGroupMember(conversationId: string, userId: string) {
    return rules.requireGroup(this.store.requireMembership(conversationId, userId));
  }

  private append(input: GroupChangeBase, which: 0 | 1, event: SystemEvent, now: number): Message {
    return this.store.appendSystemMessage(
      input.conversationId,
      input.messageIds[which],
      event,
      now,
    );
  }

  private change(input: GroupChangeBase, messages: Message[], who: ChangeWho = {}): MemberChange {
    const { conversationId } = input;
    const members = this.store.memberSet(conversationId);
    const views = this.store.conversationViews(conversationId, viewersOfChange(input.actorId, who));
    return toMemberChange(conversationId, messages, members, who, views);
  }
}
