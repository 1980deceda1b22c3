/**
 * Account deletion and the data a user may take with them, for the PostgreSQL store. Deletion
 * is one transaction that locks the user row first: a contact, a block, a conversation or a
 * group membership being added for them concurrently either commits before (and is undone
 * here) or waits and finds the tombstone (they lock the user FOR SHARE). Their groups are then
 * locked in id order, as every other writer locks users before conversations.
 */
import type { Message } from '@letter/protocol';
import {
  DELETED_DISPLAY_NAME,
  type AccountDeletion,
  type MemberChange,
  type SentMessagesPage,
  type PruneCounts,
  type PruneCutoffs,
} from '../store.js';
import {
  asPruneDb,
  deleteDeadSessions,
  deleteDeadSessionTokens,
  deleteOldPositionLog,
} from '../shared/prune.js';
import { readTx, writeTx } from './db.js';
import type { PostgresGroups } from './groups.js';
import type { PostgresCore } from './core.js';
import { sentFromMessages, sentMessagesAfter, sentReactionsBetween } from '../shared/queries.js';
import { toMessages } from '../shared/rows.js';
import * as rules from '../shared/rules.js';

export class PostgresAccounts {
  constructor(
    private readonly store: PostgresCore,
    private readonly groups: PostgresGroups,
  ) {}

  deleteUser(input: {
    userId: string;
    now: number;
    messageIdPrefix: string;
  }): Promise<AccountDeletion> {
    const { userId, now } = input;
    return writeTx(this.store.db, async (tx) => {
      // NO KEY UPDATE: the id stays, so rows that merely reference the user (a message being
      // appended by them right now) need not wait for us.
      const row = await tx
        .selectFrom('users')
        .select('deleted_at')
        .where('id', '=', userId)
        .forNoKeyUpdate()
        .executeTakeFirst();
      if (!row || row.deleted_at !== null) throw rules.unknownUser();

      const revokedSessionIds = await this.store.revokeUserSessionsIn(tx, userId, now, '');
      await tx
        .deleteFrom('contacts')
        .where((eb) => eb.or([eb('owner_id', '=', userId), eb('contact_id', '=', userId)]))
        .execute();
      await tx
        .deleteFrom('blocks')
        .where((eb) => eb.or([eb('blocker_id', '=', userId), eb('blocked_id', '=', userId)]))
        .execute();

      let n = 0;
      const nextId = () => `${input.messageIdPrefix}.${++n}`;
      const groupChanges: MemberChange[] = [];
      const directConversationIds: string[] = [];
      const memberships = await tx
        .selectFrom('members as m')
        .innerJoin('conversations as c', 'c.id', 'm.conversation_id')
        .select(['c.id', 'c.kind'])
        .where('m.user_id', '=', userId)
        .orderBy('c.id')
        .execute();
      for (const conversation of memberships) {
        if (conversation.kind === 'direct') {
          // The peer keeps the history; the conversation shows "Deleted account" and refuses
          // sends.
          directConversationIds.push(conversation.id);
          continue;
        }
        groupChanges.push(
          await this.groups.removeMemberIn(tx, {
            conversationId: conversation.id,
            actorId: userId,
            userId,
            now,
            messageIds: [nextId(), nextId()],
          }),
        );
      }
      await tx
        .updateTable('users')
        .set({
          username: rules.tombstoneUsername(userId),
          display_name: DELETED_DISPLAY_NAME,
          password_hash: '',
          deleted_at: now,
        })
        .where('id', '=', userId)
        .execute();
      return { revokedSessionIds, groupChanges, directConversationIds };
    });
  }

  sentMessages(userId: string, page: SentMessagesPage): Promise<Message[]> {
    const from = { conversationId: page.after?.conversationId ?? '', seq: page.after?.seq ?? 0 };
    return readTx(this.store.db, async (tx) => {
      const source = sentFromMessages(tx);
      const rows = await sentMessagesAfter(
        source,
        userId,
        from,
        rules.pageLimit(page.limit),
      ).execute();
      const last = rows.at(-1);
      if (!last) return [];
      const to = { conversationId: last.conversation_id, seq: last.seq };
      const reactions = await sentReactionsBetween(source, userId, from, to).execute();
      return toMessages(rows, reactions);
    });
  }

  prune(cutoffs: PruneCutoffs): Promise<PruneCounts> {
    return writeTx(this.store.db, async (tx) => {
      const db = asPruneDb(tx);
      const deleted = async (query: { executeTakeFirst(): Promise<{ numDeletedRows: bigint }> }) =>
        Number((await query.executeTakeFirst()).numDeletedRows);
      // Tokens first, counted; the sessions' own delete would cascade to them uncounted.
      const refreshTokens = await deleted(deleteDeadSessionTokens(db, cutoffs));
      const sessions = await deleted(deleteDeadSessions(db, cutoffs));
      const positionLog = await deleted(deleteOldPositionLog(db, cutoffs));
      return { sessions, refreshTokens, positionLog };
    });
  }
}
