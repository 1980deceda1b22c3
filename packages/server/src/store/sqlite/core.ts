/**
 * What the parts of the SQLite store (groups.ts, message-actions.ts, accounts.ts) use of it:
 * its prepared queries and a few checks. They take this, never the SqliteStore they are part of,
 * so no part imports the store that imports it.
 */
import type { Message, SystemEvent } from '@letter/protocol';
import type { MemberSet, MemberView } from '../store.js';
import type { Membership } from '../shared/tables.js';
import type { Queries } from './queries.js';
import type { ActionQueries } from './queries-actions.js';

export type { Membership } from '../shared/tables.js';

export interface SqliteCore {
  readonly q: Queries;
  readonly a: ActionQueries;
  /** A user who exists and was not deleted, or `not_found`. */
  requireUser(userId: string): unknown;
  isMember(conversationId: string, userId: string): boolean;
  /** The actor's membership, or `not_found`: the one answer a non-member gets. */
  requireMembership(conversationId: string, userId: string): Membership;
  /** `blocked` when the actor blocked, or was blocked by, any of `userIds`. */
  refuseBlockedMembers(actorId: string, userIds: string[]): void;
  /** Sending (or editing, reacting) in a direct conversation: refused when blocked or deleted. */
  checkDirectSend(conversationId: string, userId: string): void;
  appendSystemMessage(conversationId: string, id: string, event: SystemEvent, now: number): Message;
  getMessage(conversationId: string, seq: number): Message | null;
  memberSet(conversationId: string): MemberSet;
  conversationViews(conversationId: string, userIds: string[]): MemberView[];
}
