/**
 * What the parts of the PostgreSQL store (groups.ts, message-actions.ts, accounts.ts) use of it:
 * the database and the checks every write shares. They take this, never the PostgresStore they
 * are part of, so no part imports the store that imports it.
 */
import type { Message, SystemEvent } from '@letter/protocol';
import type { Membership } from '../shared/tables.js';
import type { MessageRow } from '../shared/rows.js';
import type { Db } from './db.js';

export type { Membership } from '../shared/tables.js';

export interface PostgresCore {
  readonly db: Db;
  /** Locks the users FOR SHARE, in id order; those that exist and were not deleted. */
  lockUsers(db: Db, ids: string[]): Promise<Set<string>>;
  /** The actor's membership, or `not_found`: the one answer a non-member gets. */
  requireMembership(db: Db, conversationId: string, userId: string): Promise<Membership>;
  /** `blocked` when the actor blocked, or was blocked by, any of `userIds`. */
  refuseBlockedMembers(db: Db, actorId: string, userIds: string[]): Promise<void>;
  /** Sending (or editing, reacting) in a direct conversation: refused when blocked or deleted. */
  checkDirectSend(db: Db, conversationId: string, userId: string): Promise<void>;
  /**
   * Takes the next seq and locks the conversation row until commit; undefined when there is no
   * such conversation.
   */
  takeSeq(
    db: Db,
    conversationId: string,
    now: number,
  ): Promise<{ last_seq: number; members_version: number } | undefined>;
  /** Inserts a message row with its search vector; false when (sender, clientMsgId) clashed. */
  insertMessage(db: Db, row: MessageRow): Promise<boolean>;
  /** Appends a system message with the next seq (the caller holds the conversation lock). */
  appendSystemMessage(
    db: Db,
    conversationId: string,
    id: string,
    event: SystemEvent,
    now: number,
  ): Promise<Message>;
  /** Revokes the user's live sessions but `exceptId`, oldest first; their ids. */
  revokeUserSessionsIn(db: Db, userId: string, now: number, exceptId: string): Promise<string[]>;
}
