/**
 * Edits, deletes for everyone and reactions for the SQLite store. Who may act is decided here,
 * inside the transaction that writes: the checks and the write see the same rows.
 */
import type { MessageChange, MessageTarget } from '../store.js';
import type { Membership, SqliteCore } from './core.js';
import type { MessageRow } from '../shared/rows.js';
import * as rules from '../shared/rules.js';

interface Target {
  membership: Membership;
  row: MessageRow;
}

export class SqliteMessageActions {
  constructor(private readonly store: SqliteCore) {}

  edit(input: MessageTarget & { body: string }): MessageChange {
    const { membership, row } = this.target(input);
    rules.refuseEdit(row, input.userId);
    if (membership.kind === 'direct')
      this.store.checkDirectSend(input.conversationId, input.userId);
    if (row.body === input.body) return this.result(input, false);
    // The search index follows by trigger (messages_fts_update).
    this.store.a.setBody.run({ ...input, body: input.body, now: input.now });
    return this.result(input, true);
  }

  delete(input: MessageTarget): MessageChange {
    const { membership, row } = this.target(input);
    rules.refuseDelete(row, membership, input.userId);
    if (row.deleted_at !== null) return this.result(input, false);
    this.store.a.tombstone.run(input);
    this.store.a.deleteReactions.run(input);
    return this.result(input, true);
  }

  setReaction(input: MessageTarget & { emoji: string }): MessageChange {
    const { membership, row } = this.target(input);
    rules.refuseDeleted(row);
    if (membership.kind === 'direct')
      this.store.checkDirectSend(input.conversationId, input.userId);
    if (this.store.a.reactionOf.get(input)?.emoji === input.emoji) return this.result(input, false);
    this.store.a.upsertReaction.run(input);
    return this.result(input, true);
  }

  removeReaction(input: MessageTarget): MessageChange {
    this.target(input);
    const changed = this.store.a.deleteReaction.run(input).changes > 0;
    return this.result(input, changed);
  }

  /**
   * The message, when the actor is a member who may see it: `not_found` for a non-member, a seq
   * before they joined, or one that does not exist. System messages belong to nobody.
   */
  private target(input: MessageTarget): Target {
    const membership = this.store.requireMembership(input.conversationId, input.userId);
    rules.refuseUnseen(membership, input.seq);
    const row = rules.requireChangeable(this.store.q.messageBySeq.get(input));
    return { membership, row };
  }

  private result(input: MessageTarget, changed: boolean): MessageChange {
    return {
      message: this.store.getMessage(input.conversationId, input.seq)!,
      changed,
      memberIds: this.store.a.membersWhoMaySee.all(input).map((row) => row.user_id),
    };
  }
}
