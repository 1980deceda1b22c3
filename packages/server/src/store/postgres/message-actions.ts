/**
 * Edits, deletes for everyone and reactions for the PostgreSQL store. The message row is locked
 * (FOR UPDATE) before anything is decided, so two actions on one message run one after the
 * other and each sees the other's result: an edit never revives a message deleted meanwhile, a
 * reaction never lands on a fresh tombstone.
 */
import { sql } from 'kysely';
import type { MessageChange, MessageTarget } from '../store.js';
import { writeTx, type Db } from './db.js';
import type { PostgresCore } from './core.js';
import { searchVector } from './search.js';
import { messagesBetween, type Membership } from './views.js';
import { membersWhoMaySee, upsertReaction } from '../shared/queries.js';
import * as rules from '../shared/rules.js';

interface Target {
  membership: Membership;
  row: {
    sender_id: string | null;
    body: string;
    created_at: number;
    deleted_at: number | null;
    system_json: string | null;
  };
}

export class PostgresMessageActions {
  constructor(private readonly store: PostgresCore) {}

  edit(input: MessageTarget & { body: string }): Promise<MessageChange> {
    return writeTx(this.store.db, async (tx) => {
      const { membership, row } = await this.target(tx, input);
      rules.refuseEdit(row, input.userId);
      if (membership.kind === 'direct') {
        await this.store.checkDirectSend(tx, input.conversationId, input.userId);
      }
      if (row.body === input.body) return this.result(tx, input, false);
      await tx
        .updateTable('messages')
        .set({
          body: input.body,
          edited_at: input.now,
          search_vector: sqlVector(searchVector(input.body)),
        })
        .where('conversation_id', '=', input.conversationId)
        .where('seq', '=', input.seq)
        .execute();
      return this.result(tx, input, true);
    });
  }

  delete(input: MessageTarget): Promise<MessageChange> {
    return writeTx(this.store.db, async (tx) => {
      const { membership, row } = await this.target(tx, input);
      rules.refuseDelete(row, membership, input.userId);
      if (row.deleted_at !== null) return this.result(tx, input, false);
      // The body leaves storage and the search index; the seq stays as a tombstone.
      await tx
        .updateTable('messages')
        .set({
          body: '',
          deleted_at: input.now,
          attachments_json: null,
          search_vector: sqlVector(''),
        })
        .where('conversation_id', '=', input.conversationId)
        .where('seq', '=', input.seq)
        .execute();
      // A send moved its sender's read position with no position_log entry: receipts date it by
      // the message, through messages_by_sender_live, which a tombstone leaves. Its entry is
      // written now (positions.ts, `receipts`).
      if (row.sender_id !== null) {
        await tx
          .insertInto('position_log')
          .values({
            conversation_id: input.conversationId,
            user_id: row.sender_id,
            kind: 'read',
            seq: input.seq,
            at: row.created_at,
          })
          .onConflict((oc) => oc.doNothing())
          .execute();
      }
      await tx
        .deleteFrom('reactions')
        .where('conversation_id', '=', input.conversationId)
        .where('seq', '=', input.seq)
        .execute();
      return this.result(tx, input, true);
    });
  }

  setReaction(input: MessageTarget & { emoji: string }): Promise<MessageChange> {
    return writeTx(this.store.db, async (tx) => {
      const { membership, row } = await this.target(tx, input);
      rules.refuseDeleted(row);
      if (membership.kind === 'direct') {
        await this.store.checkDirectSend(tx, input.conversationId, input.userId);
      }
      const current = await tx
        .selectFrom('reactions')
        .select('emoji')
        .where('conversation_id', '=', input.conversationId)
        .where('seq', '=', input.seq)
        .where('user_id', '=', input.userId)
        .executeTakeFirst();
      if (current?.emoji === input.emoji) return this.result(tx, input, false);
      // One reaction per person per message: a new one replaces theirs (and moves to the end).
      await upsertReaction(tx, input).execute();
      return this.result(tx, input, true);
    });
  }

  removeReaction(input: MessageTarget): Promise<MessageChange> {
    return writeTx(this.store.db, async (tx) => {
      await this.target(tx, input);
      const deleted = await tx
        .deleteFrom('reactions')
        .where('conversation_id', '=', input.conversationId)
        .where('seq', '=', input.seq)
        .where('user_id', '=', input.userId)
        .executeTakeFirst();
      return this.result(tx, input, deleted.numDeletedRows > 0n);
    });
  }

  /**
   * The message, locked, when the actor is a member who may see it: `not_found` for a
   * non-member, a seq before they joined, or one that does not exist. System messages belong to
   * nobody.
   */
  private async target(db: Db, input: MessageTarget): Promise<Target> {
    const membership = await this.store.requireMembership(db, input.conversationId, input.userId);
    rules.refuseUnseen(membership, input.seq);
    const row = await db
      .selectFrom('messages')
      .select(['sender_id', 'body', 'created_at', 'deleted_at', 'system_json'])
      .where('conversation_id', '=', input.conversationId)
      .where('seq', '=', input.seq)
      .forUpdate()
      .executeTakeFirst();
    return { membership, row: rules.requireChangeable(row) };
  }

  private async result(db: Db, input: MessageTarget, changed: boolean): Promise<MessageChange> {
    const [message] = await messagesBetween(db, input.conversationId, input.seq);
    return {
      message: message!,
      changed,
      memberIds: (await membersWhoMaySee(db, input.conversationId, input.seq).execute()).map(
        (row) => row.user_id,
      ),
    };
  }
}

const sqlVector = (literal: string) => sql<string>`${literal}::tsvector`;
