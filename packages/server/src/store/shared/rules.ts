/**
 * The store's decisions, written once for both engines: pure functions over rows an engine has
 * read (under whatever lock its design takes, see ARCHITECTURE.md), that either return what to
 * do or throw the one LetterError that rule answers with. When each engine reads and in which
 * transaction stays engine-specific; what the answer is does not.
 */
import { LetterError, limits, type Receipt, type ReceiptKind, type Role } from '@letter/protocol';
import { iso } from '../../util/clock.js';
import type { Membership } from './tables.js';

// Answers both engines give in more than one place

export const unknownUser = (): LetterError => new LetterError('not_found', 'Unknown user.');
export const notAMember = (): LetterError =>
  new LetterError('not_found', 'That user is not a member.');
/** The one answer a non-member (or a seq they may not see) gets: nothing is revealed. */
export const notFound = (): LetterError => new LetterError('not_found');

/** `number` rows page sizes: whole and never negative. */
export const pageLimit = (limit: number): number => Math.max(0, Math.trunc(limit));

// People and accounts

/**
 * The username a deleted account keeps: unique (it holds the id) and never registrable ("~" is
 * outside the username alphabet), so the real name is free again at once.
 */
export const tombstoneUsername = (userId: string): string => `deleted~${userId}`;

/** `ids` in the order asked, each once, skipping those not found. */
export function inRequestedOrder<T>(ids: readonly string[], byId: ReadonlyMap<string, T>): T[] {
  const seen = new Set<string>();
  const found: T[] = [];
  for (const id of ids) {
    const item = byId.get(id);
    if (item !== undefined && !seen.has(id)) found.push(item);
    seen.add(id);
  }
  return found;
}

// Conversations

/** One direct conversation is between two different people. */
export function refuseSelfConversation(userId: string, peerId: string): void {
  if (userId === peerId) {
    throw new LetterError('bad_request', 'You cannot start a conversation with yourself.');
  }
}

/** One key per unordered pair; JSON keeps it unambiguous whatever characters ids contain. */
export const directKeyOf = (a: string, b: string): string =>
  JSON.stringify(a < b ? [a, b] : [b, a]);

/** The members a new group gets besides its creator: each once, never the creator twice. */
export const otherMembers = (creatorId: string, memberIds: readonly string[]): string[] =>
  [...new Set(memberIds)].filter((member) => member !== creatorId);

/** A direct conversation takes no new words when the peer's account is gone or either blocked. */
export function refuseDirectSend(peerDeletedAt: number | null, blocked: boolean): void {
  if (peerDeletedAt !== null) throw new LetterError('forbidden', 'This account was deleted.');
  if (blocked) throw new LetterError('blocked');
}

/**
 * Nobody is put into a group by someone they blocked, or who blocked them: `blocked` when any
 * of `userIds` is in `blocked` (the actor's `blockedEitherWayWith`). Group creation and adding
 * members, in both stores.
 */
export function refuseBlockedMembers(blocked: readonly string[], userIds: readonly string[]): void {
  if (blocked.length === 0) return;
  const set = new Set(blocked);
  if (userIds.some((userId) => set.has(userId))) {
    throw new LetterError('blocked', 'You cannot add someone who blocked you or whom you blocked.');
  }
}

// Groups

/** Order of checks: a non-member learns nothing (404, before this) before anything else. */
export function requireGroup(membership: Membership): Membership {
  if (membership.kind !== 'group') {
    throw new LetterError('forbidden', 'A direct conversation cannot be managed.');
  }
  return membership;
}

export function requireAdmin(membership: Pick<Membership, 'role'>): void {
  if (membership.role !== 'admin') {
    throw new LetterError('forbidden', 'Only group admins can do this.');
  }
}

/** A group holds at most limits.groupMaxMembers. */
export function refuseOverfullGroup(members: number, adding: number): void {
  if (members + adding > limits.groupMaxMembers) {
    throw new LetterError('bad_request', `A group has at most ${limits.groupMaxMembers} members.`);
  }
}

/**
 * What removing `userId` is: leaving when the actor names themselves (any member may), removing
 * someone else (admins only; the engine then checks that they are a member: `notAMember`).
 */
export function removalOf(actor: Membership, actorId: string, userId: string): 'left' | 'removed' {
  if (userId === actorId) return 'left';
  requireAdmin(actor);
  return 'removed';
}

/** A demotion (checked only then: `members` costs a count) may not leave a group without admin. */
export function refuseSoleMemberDemotion(members: number): void {
  if (members === 1) {
    throw new LetterError('bad_request', 'A group needs an admin; you are its only member.');
  }
}

export const roleEventOf = (role: Role): 'promoted' | 'demoted' =>
  role === 'admin' ? 'promoted' : 'demoted';

// Messages

/**
 * The first seq before a member's history window: a member sees messages from the one that
 * added them (join_seq) on, never earlier ones.
 */
export const historyAfter = (after: number | undefined, joinSeq: number): number =>
  Math.max(after ?? 0, joinSeq - 1);

/** A repeated (sender, clientMsgId) answers with the original, but only in its conversation. */
export function refuseRepeatElsewhere(
  originalConversationId: string,
  conversationId: string,
): void {
  if (originalConversationId !== conversationId) {
    throw new LetterError('bad_request', 'clientMsgId was already used in another conversation.');
  }
}

/** A reply may only point at a seq the sender may see (whether it exists is read after this). */
export const mayReplyTo = (replyToSeq: number, membership: Pick<Membership, 'join_seq'>): boolean =>
  replyToSeq >= membership.join_seq;

export const badReply = (): LetterError =>
  new LetterError('bad_request', 'replyToSeq does not refer to a message here.');

// Message actions (edit, delete, reactions)

interface ActionRow {
  sender_id: string | null;
  deleted_at: number | null;
  system_json: string | null;
}

/**
 * The message an action targets: `not_found` for a seq before the actor joined (check this
 * before reading the row) or one that does not exist; system messages belong to nobody.
 */
export function refuseUnseen(membership: Pick<Membership, 'join_seq'>, seq: number): void {
  if (seq < membership.join_seq) throw notFound();
}

export function requireChangeable<R extends ActionRow>(row: R | undefined): R {
  if (!row) throw notFound();
  if (row.system_json !== null) {
    throw new LetterError('forbidden', 'System messages cannot be changed.');
  }
  return row;
}

export function refuseDeleted(row: ActionRow): void {
  if (row.deleted_at !== null) throw new LetterError('forbidden', 'This message was deleted.');
}

/** Only the sender edits, and not a deleted message. */
export function refuseEdit(row: ActionRow, userId: string): void {
  if (row.sender_id !== userId) {
    throw new LetterError('forbidden', 'You can only edit your own messages.');
  }
  refuseDeleted(row);
}

/** The sender deletes their own message; a group admin anyone's. */
export function refuseDelete(row: ActionRow, membership: Membership, userId: string): void {
  const own = row.sender_id === userId;
  const groupAdmin = membership.kind === 'group' && membership.role === 'admin';
  if (!own && !groupAdmin) {
    throw new LetterError('forbidden', 'You can only delete your own messages.');
  }
}

// Positions and receipts

export interface PositionMove {
  readSeq: number;
  deliveredSeq: number;
  /** The position_log entry to write, if any. */
  log: { kind: ReceiptKind; seq: number } | null;
  /** Whether the member row changes at all. */
  write: boolean;
  /** The position of `kind` before and after the move, and whether it moved. */
  from: number;
  seq: number;
  moved: boolean;
}

/**
 * Moving a member's `kind` position to `seq`: clamped to the conversation's last seq, never back;
 * reading implies having received. A read entry also dates delivery (receipts take the earlier
 * of both), so a read that drags delivered along logs one entry, not two.
 */
export function positionMove(
  member: { read_seq: number; delivered_seq: number; last_seq: number },
  kind: ReceiptKind,
  seq: number,
): PositionMove {
  const target = Math.min(Math.trunc(seq), member.last_seq);
  const readSeq = kind === 'read' ? Math.max(member.read_seq, target) : member.read_seq;
  const deliveredSeq = Math.max(member.delivered_seq, kind === 'read' ? readSeq : target);
  const readMoved = readSeq > member.read_seq;
  const deliveredMoved = deliveredSeq > member.delivered_seq;
  const log = readMoved
    ? { kind: 'read' as const, seq: readSeq }
    : deliveredMoved
      ? { kind: 'delivered' as const, seq: deliveredSeq }
      : null;
  return {
    readSeq,
    deliveredSeq,
    log,
    write: readMoved || deliveredMoved,
    from: kind === 'read' ? member.read_seq : member.delivered_seq,
    seq: kind === 'read' ? readSeq : deliveredSeq,
    moved: kind === 'read' ? readMoved : deliveredMoved,
  };
}

/**
 * The widest move, in messages, whose senders a store looks up for its audience
 * (`receiptAudience`); a wider one (a member catching up on a long absence) is told to everyone.
 */
export const RECEIPT_SENDERS_SPAN = 64;

/**
 * Who hears of a member's position moving from `from` to `to`: the member (their other sessions)
 * and the senders of the messages it covers, `(from, to]`, whose ticks it changes; only members
 * who joined at or before `to`. Not every member: in a group each member's position moves with
 * every message, so telling everyone would make members² frames per message. `senders` is null
 * when the store did not look them up: a conversation of up to RECEIPT_EVERYONE_MAX members, or a
 * move wider than RECEIPT_SENDERS_SPAN; then every member who joined by `to` hears.
 */
export function receiptAudience(
  /** The conversation's members by user id, with their join points. */
  members: ReadonlyMap<string, { join_seq: number }>,
  userId: string,
  to: number,
  senders: ReadonlySet<string | null> | null,
): string[] {
  const audience: string[] = [];
  if (senders === null) {
    for (const [id, { join_seq }] of members) if (join_seq <= to) audience.push(id);
    return audience;
  }
  // The member and the senders looked up: a few entries, not every member of a large group
  // (a move there must not cost as much as the group is large).
  const consider = (id: string | null) => {
    if (id === null || audience.includes(id)) return;
    const member = members.get(id);
    if (member && member.join_seq <= to) audience.push(id);
  };
  consider(userId);
  for (const sender of senders) consider(sender);
  return audience;
}

/** Member rows as `receiptAudience` takes them: by user id. */
export function joinPoints(
  rows: Iterable<{ user_id: string; join_seq: number }>,
): Map<string, { join_seq: number }> {
  const members = new Map<string, { join_seq: number }>();
  for (const row of rows) members.set(row.user_id, row);
  return members;
}

/**
 * Up to this many members, every move is told to every member who joined by it: a member's
 * client then keeps every other member's positions exact (snapshot + events == a fresh snapshot,
 * sdk-verify-action.test.ts), at a cost that stays small (32 members answering one message: ~2,000
 * frames, and the sdk reports a busy conversation at most once every 1–1.5 s).
 */
export const RECEIPT_EVERYONE_MAX = limits.receiptEveryoneMax;

/** Whether a store looks up the senders of a move for its audience (see `receiptAudience`). */
export const looksUpSenders = (memberCount: number, from: number, to: number): boolean =>
  memberCount > RECEIPT_EVERYONE_MAX && to - from <= RECEIPT_SENDERS_SPAN;

/**
 * The sender has seen everything up to their own message. One read entry dates both positions;
 * it is only worth writing when it covers someone else's message: with the position already at
 * seq - 1 it would only date the sender's own message, which receipts never report.
 */
export const ownMoveIsLogged = (before: { read_seq: number }, seq: number): boolean =>
  before.read_seq < seq - 1;

/**
 * A receipt from the first log entries at or past the seq, and the member's first own message
 * after it, if any (sending reads everything before, and a send writes no log entry): reading
 * implies delivery.
 */
export function toReceipt(row: {
  user_id: string;
  delivered_at: number | null;
  read_at: number | null;
  sent_after_at: number | null;
}): Receipt {
  const read = earliest(row.read_at, row.sent_after_at);
  const delivered = earliest(row.delivered_at, read);
  return {
    userId: row.user_id,
    deliveredAt: delivered === null ? null : iso(delivered),
    readAt: read === null ? null : iso(read),
  };
}

const earliest = (a: number | null, b: number | null): number | null =>
  a === null ? b : b === null ? a : Math.min(a, b);

/** An upload of bytes whose blob is being deleted: it may be retried in a moment. */
export function blobBeingDeleted(): LetterError {
  return new LetterError('unavailable', 'The same file is being deleted; try again.');
}
