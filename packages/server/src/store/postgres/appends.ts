/**
 * Appends for the PostgreSQL store: through group commit (append-batch.ts), messages with files
 * included, and one transaction per append (`appendOne`) for what a batch cannot decide.
 */
import type pg from 'pg';
import { LetterError } from '@letter/protocol';
import type { AppendResult, NewMessage } from '../store.js';
import { Abort, writeTx, type Db } from './db.js';
import type { PostgresCore } from './core.js';
import { AppendBatcher, type AppendBatchStats, type AppendReads } from './append-batch.js';
import { setPositions } from './positions.js';
import { memberSetOf, membershipOf, messagesBetween, type Membership } from './views.js';
import { badReply, mayReplyTo, refuseRepeatElsewhere } from '../shared/rules.js';
import { mentionsOf, toMessages, userMessageRow } from '../shared/rows.js';
import { attachIn } from './files.js';
import { PendingListMerger } from './pending-list.js';

export class PostgresAppends {
  private readonly batcher: AppendBatcher;
  /** Merges the search index's pending list after the batches, off their path. */
  readonly pendingList: PendingListMerger;

  constructor(
    private readonly store: PostgresCore,
    /** Pipelined connections for the batches (createPool with `pipeline: true`). */
    pool: pg.Pool,
    reads: AppendReads,
    commitDelayMs: number,
  ) {
    this.pendingList = new PendingListMerger(store.db);
    this.batcher = new AppendBatcher({
      pool,
      reads,
      commitDelayMs,
      db: store.db,
      appendOne: (message) => this.appendOne(message),
      onStored: (count) => this.pendingList.noteAppended(count),
    });
  }

  /** Batches and appends so far, retries and fallbacks (for measurements and tests). */
  get stats(): AppendBatchStats {
    return this.batcher.stats;
  }

  append(message: NewMessage): Promise<AppendResult> {
    return this.batcher.append(message);
  }

  /**
   * One append in a transaction of its own: what a batch falls back to when something no rule
   * foresaw failed it, so that it fails only its own append.
   */
  appendOne(message: NewMessage): Promise<AppendResult> {
    const { conversationId, senderId, clientMsgId, createdAt } = message;
    return writeTx(this.store.db, async (tx) => {
      // Taking the seq first locks the conversation row: appends and group changes of this
      // conversation queue here, and every check below sees what they committed. Any failure
      // rolls the seq back with the rest, so seqs stay gap-free.
      const taken = await this.store.takeSeq(tx, conversationId, createdAt);
      const membership = taken && (await membershipOf(tx, conversationId, senderId));
      if (!taken || !membership) throw new LetterError('not_found');
      // A retry of a send that already committed gets its original answer, even if a block
      // happened in between: the message was sent before the block.
      const existing = await this.messageByClientId(tx, senderId, clientMsgId);
      if (existing) throw new Abort(await this.repeatOf(tx, existing, conversationId));
      if (membership.kind === 'direct')
        await this.store.checkDirectSend(tx, conversationId, senderId);
      if (message.replyToSeq !== null)
        await this.checkReply(tx, conversationId, membership, message.replyToSeq);

      const seq = taken.last_seq;
      const mentions = message.mentions?.length
        ? mentionsOf(
            message,
            membership.kind === 'group',
            (await memberSetOf(tx, conversationId)).userIds,
          )
        : [];
      // Attached in this transaction: any failure below (or an Abort) detaches them again.
      const files = message.attachments?.length
        ? await attachIn(tx, {
            fileIds: message.attachments,
            uploaderId: senderId,
            conversationId,
            seq,
          })
        : [];
      const row = userMessageRow(message, seq, mentions, files);
      if (!(await this.store.insertMessage(tx, row))) {
        // The same (sender, clientMsgId) committed meanwhile in another conversation (a repeat
        // in this one would have queued on our lock and been found above).
        const original = await this.messageByClientId(tx, senderId, clientMsgId);
        if (!original) throw new Error('a conflicting send vanished');
        throw new Abort(await this.repeatOf(tx, original, conversationId));
      }
      if (mentions.length > 0)
        await tx
          .insertInto('mentions')
          .values(
            mentions.map((userId) => ({ conversation_id: conversationId, user_id: userId, seq })),
          )
          .onConflict((oc) => oc.doNothing())
          .execute();
      // No position_log entry: the message dates the sender's read (positions.ts, `receipts`).
      await setPositions(tx, conversationId, senderId, seq, seq);
      // Every send un-archives the conversation for the others (the partial index makes it a
      // probe).
      await tx
        .updateTable('members')
        .set({ archived: 0 })
        .where('conversation_id', '=', conversationId)
        .where('archived', '=', 1)
        .where('user_id', '!=', senderId)
        .execute();
      const result: AppendResult = { message: toMessages([row], [])[0]!, created: true };
      if (message.knownMembersVersion !== taken.members_version) {
        result.members = await memberSetOf(tx, conversationId);
      }
      return result;
    });
  }

  private messageByClientId(db: Db, senderId: string, clientMsgId: string) {
    return db
      .selectFrom('messages')
      .select(['conversation_id', 'seq'])
      .where('sender_id', '=', senderId)
      .where('client_msg_id', '=', clientMsgId)
      .executeTakeFirst();
  }

  /** The answer to a repeated send: the original, or `bad_request` from another conversation. */
  private async repeatOf(
    db: Db,
    original: { conversation_id: string; seq: number },
    conversationId: string,
  ): Promise<AppendResult> {
    refuseRepeatElsewhere(original.conversation_id, conversationId);
    const [message] = await messagesBetween(db, conversationId, original.seq);
    if (!message) throw new LetterError('not_found');
    return { message, created: false };
  }

  private async checkReply(
    db: Db,
    conversationId: string,
    membership: Membership,
    replyToSeq: number,
  ): Promise<void> {
    const target =
      mayReplyTo(replyToSeq, membership) &&
      (await db
        .selectFrom('messages')
        .select('seq')
        .where('conversation_id', '=', conversationId)
        .where('seq', '=', replyToSeq)
        .executeTakeFirst());
    if (!target) throw badReply();
  }
}
