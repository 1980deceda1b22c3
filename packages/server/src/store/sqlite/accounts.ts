/**
 * Account deletion and the data a user may take with them, for the SQLite store. Deletion is one
 * transaction: nobody can see a half-deleted account (say, still logged in but gone from groups).
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
import type { SqliteCore } from './core.js';
import type { SqliteGroups } from './groups.js';
import { toMessages } from '../shared/rows.js';
import * as rules from '../shared/rules.js';

export class SqliteAccounts {
  constructor(
    private readonly store: SqliteCore,
    private readonly groups: SqliteGroups,
  ) {}

  deleteUser(input: { userId: string; now: number; messageIdPrefix: string }): AccountDeletion {
    const { userId, now } = input;
    const { a, q } = this.store;
    const row = q.userById.get({ id: userId });
    if (!row || row.deleted_at !== null) throw rules.unknownUser();

    const revokedSessionIds = q.revokeUserSessions
      .all({ userId, now, exceptId: '' })
      .map((session) => session.id);
    a.deleteContactsBy.run({ userId });
    a.deleteContactsOf.run({ userId });
    a.deleteBlocksBy.run({ userId });
    a.deleteBlocksOf.run({ userId });

    let n = 0;
    const nextId = () => `${input.messageIdPrefix}.${++n}`;
    const groupChanges: MemberChange[] = [];
    const directConversationIds: string[] = [];
    for (const conversation of a.membershipsOf.all({ userId })) {
      if (conversation.kind === 'direct') {
        // The peer keeps the history; the conversation shows "Deleted account" and refuses sends.
        directConversationIds.push(conversation.id);
        continue;
      }
      groupChanges.push(
        this.groups.removeMember({
          conversationId: conversation.id,
          actorId: userId,
          userId,
          now,
          messageIds: [nextId(), nextId()],
        }),
      );
    }
    a.tombstoneUser.run({
      id: userId,
      username: rules.tombstoneUsername(userId),
      displayName: DELETED_DISPLAY_NAME,
      now,
    });
    return { revokedSessionIds, groupChanges, directConversationIds };
  }

  sentMessages(userId: string, page: SentMessagesPage): Message[] {
    const from = { conversationId: page.after?.conversationId ?? '', seq: page.after?.seq ?? 0 };
    const rows = this.store.a.sentMessages.all({
      userId,
      ...from,
      limit: rules.pageLimit(page.limit),
    });
    const last = rows.at(-1);
    if (!last) return [];
    const reactions = this.store.a.sentReactions.all({
      userId,
      fromConversation: from.conversationId,
      fromSeq: from.seq,
      toConversation: last.conversation_id,
      toSeq: last.seq,
    });
    return toMessages(rows, reactions);
  }

  prune(cutoffs: PruneCutoffs): PruneCounts {
    const { a } = this.store;
    // Tokens first, counted; the sessions' own delete would cascade to them uncounted.
    const refreshTokens = a.pruneSessionTokens.run(cutoffs).changes;
    const sessions = a.pruneSessions.run(cutoffs).changes;
    const positionLog = a.prunePositionLog.run(cutoffs).changes;
    return { sessions, refreshTokens, positionLog };
  }
}
