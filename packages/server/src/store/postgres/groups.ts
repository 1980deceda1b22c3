/**
 * Group management for the PostgreSQL store: rename, add, remove or leave, promote and demote.
 * Every change first locks the conversation row (FOR UPDATE), the same lock appends take, so the
 * rules checked here hold at commit: who may act, and that a group with members has an admin.
 * Users to add are locked before the conversation (the store's lock order: users first).
 */
import { sql } from 'kysely';
import { LetterError, type Message, type Role, type SystemEvent } from '@letter/protocol';
import type { GroupChangeBase, MemberChange } from '../store.js';
import { writeTx, type Db } from './db.js';
import { longestStandingMembers } from '../shared/queries.js';
import { memberSetOf, memberViews, membershipOf, newMember, type Membership } from './views.js';
import * as rules from '../shared/rules.js';
import { toMemberChange, viewersOfChange, type ChangeWho } from '../shared/rows.js';
import type { PostgresCore } from './core.js';

export class PostgresGroups {
  constructor(private readonly store: PostgresCore) {}

  rename(input: GroupChangeBase & { title: string }): Promise<MemberChange> {
    return writeTx(this.store.db, async (tx) => {
      const { conversationId, actorId, now } = input;
      const current = await this.lock(tx, conversationId);
      rules.requireAdmin(await this.requireGroupMember(tx, conversationId, actorId));
      if (current.title === input.title) return this.change(tx, input, []);
      await tx
        .updateTable('conversations')
        .set({ title: input.title })
        .where('id', '=', conversationId)
        .execute();
      const event: SystemEvent = { kind: 'renamed', actorId, userIds: [], title: input.title };
      return this.change(tx, input, [await this.append(tx, input, 0, event, now)]);
    });
  }

  addMembers(input: GroupChangeBase & { userIds: string[] }): Promise<MemberChange> {
    return writeTx(this.store.db, async (tx) => {
      const { conversationId, actorId, now } = input;
      const wanted = [...new Set(input.userIds)];
      const live = await this.store.lockUsers(tx, wanted);
      await this.lock(tx, conversationId);
      rules.requireAdmin(await this.requireGroupMember(tx, conversationId, actorId));
      for (const userId of wanted) {
        if (!live.has(userId)) throw rules.unknownUser();
      }
      const present = new Set(
        (
          await tx
            .selectFrom('members')
            .select('user_id')
            .where('conversation_id', '=', conversationId)
            .execute()
        ).map((row) => row.user_id),
      );
      const added = wanted.filter((userId) => !present.has(userId));
      if (added.length === 0) return this.change(tx, input, []);
      await this.store.refuseBlockedMembers(tx, actorId, added);
      rules.refuseOverfullGroup(present.size, added.length);
      const event: SystemEvent = { kind: 'added', actorId, userIds: added };
      const message = await this.append(tx, input, 0, event, now);
      // They see history from the message that added them on, and have it unread.
      await tx
        .insertInto('members')
        .values(
          added.map((userId) =>
            newMember(conversationId, userId, 'member', now, message.seq - 1, message.seq),
          ),
        )
        .execute();
      await this.bumpMembersVersion(tx, conversationId);
      return this.change(tx, input, [message], { added });
    });
  }

  removeMember(input: GroupChangeBase & { userId: string }): Promise<MemberChange> {
    return writeTx(this.store.db, (tx) => this.removeMemberIn(tx, input));
  }

  /** Removes a member (admins), or leaves when the actor names themselves (any member). */
  async removeMemberIn(db: Db, input: GroupChangeBase & { userId: string }): Promise<MemberChange> {
    const { conversationId, actorId, userId, now } = input;
    await this.lock(db, conversationId);
    const actor = await this.requireGroupMember(db, conversationId, actorId);
    const kind = rules.removalOf(actor, actorId, userId);
    if (kind === 'removed' && !(await membershipOf(db, conversationId, userId))) {
      throw rules.notAMember();
    }
    const message = await this.append(db, input, 0, { kind, actorId, userIds: [userId] }, now);
    // Their positions (and position log, by cascade) go with the row: a re-add starts afresh.
    await db
      .deleteFrom('members')
      .where('conversation_id', '=', conversationId)
      .where('user_id', '=', userId)
      .execute();
    await this.bumpMembersVersion(db, conversationId);
    const handOver = await this.ensureAdmin(db, input, userId);
    return this.change(db, input, handOver ? [message, handOver] : [message], {
      removed: [userId],
    });
  }

  setRole(input: GroupChangeBase & { userId: string; role: Role }): Promise<MemberChange> {
    return writeTx(this.store.db, async (tx) => {
      const { conversationId, actorId, userId, role, now } = input;
      await this.lock(tx, conversationId);
      rules.requireAdmin(await this.requireGroupMember(tx, conversationId, actorId));
      const target = await membershipOf(tx, conversationId, userId);
      if (!target) throw rules.notAMember();
      if (target.role === role) return this.change(tx, input, []);
      if (role === 'member')
        rules.refuseSoleMemberDemotion((await this.counts(tx, conversationId)).members);
      await this.setMemberRole(tx, conversationId, userId, role);
      await this.bumpMembersVersion(tx, conversationId);
      const kind = rules.roleEventOf(role);
      const message = await this.append(tx, input, 0, { kind, actorId, userIds: [userId] }, now);
      // An admin who demotes themselves as the last admin hands over to someone else.
      const handOver = role === 'member' ? await this.ensureAdmin(tx, input, userId) : null;
      return this.change(tx, input, handOver ? [message, handOver] : [message]);
    });
  }

  /**
   * A group with members keeps an admin: with none left, the longest-standing member other than
   * `exceptId` is promoted, recorded as `promoted` by nobody (actorId null).
   */
  private async ensureAdmin(
    db: Db,
    input: GroupChangeBase,
    exceptId: string,
  ): Promise<Message | null> {
    const { conversationId, now } = input;
    if ((await this.counts(db, conversationId)).admins > 0) return null;
    const next = await longestStandingMembers(db, conversationId, exceptId)
      .limit(1)
      .executeTakeFirst();
    if (!next) return null;
    await this.setMemberRole(db, conversationId, next.user_id, 'admin');
    const event: SystemEvent = { kind: 'promoted', actorId: null, userIds: [next.user_id] };
    return this.append(db, input, 1, event, now);
  }

  /**
   * Locks the conversation row until commit: group changes and appends of one conversation run
   * one at a time, each seeing the last one's members. `not_found` when it does not exist.
   */
  private async lock(db: Db, conversationId: string) {
    const row = await db
      .selectFrom('conversations')
      .select(['id', 'title'])
      .where('id', '=', conversationId)
      .forUpdate()
      .executeTakeFirst();
    if (!row) throw new LetterError('not_found');
    return row;
  }

  /** Order of checks: a non-member learns nothing (404) before anything else is said. */
  private async requireGroupMember(
    db: Db,
    conversationId: string,
    userId: string,
  ): Promise<Membership> {
    return rules.requireGroup(await this.store.requireMembership(db, conversationId, userId));
  }

  private async counts(db: Db, conversationId: string) {
    const row = await db
      .selectFrom('members')
      .select((eb) => [
        eb.fn.countAll<number>().as('members'),
        sql<number>`count(*) FILTER (WHERE role = 'admin')`.as('admins'),
      ])
      .where('conversation_id', '=', conversationId)
      .executeTakeFirstOrThrow();
    return { members: Number(row.members), admins: Number(row.admins) };
  }

  private async setMemberRole(
    db: Db,
    conversationId: string,
    userId: string,
    role: Role,
  ): Promise<void> {
    await db
      .updateTable('members')
      .set({ role })
      .where('conversation_id', '=', conversationId)
      .where('user_id', '=', userId)
      .execute();
  }

  private async bumpMembersVersion(db: Db, conversationId: string): Promise<void> {
    await db
      .updateTable('conversations')
      .set((eb) => ({ members_version: eb('members_version', '+', 1) }))
      .where('id', '=', conversationId)
      .execute();
  }

  private append(
    db: Db,
    input: GroupChangeBase,
    which: 0 | 1,
    event: SystemEvent,
    now: number,
  ): Promise<Message> {
    return this.store.appendSystemMessage(
      db,
      input.conversationId,
      input.messageIds[which],
      event,
      now,
    );
  }

  private async change(
    db: Db,
    input: GroupChangeBase,
    messages: Message[],
    who: ChangeWho = {},
  ): Promise<MemberChange> {
    const { conversationId } = input;
    // Read under the conversation lock: the events of a change describe exactly what it
    // committed.
    const members = await memberSetOf(db, conversationId);
    const views = await memberViews(db, conversationId, viewersOfChange(input.actorId, who));
    return toMemberChange(conversationId, messages, members, who, views);
  }
}
