/**
 * What one batch of appends writes (postgres/append-batch.ts), decided in the node from what the
 * batch's transaction read under its conversation locks: the same rules, in the same order, as
 * one append at a time (shared/rules.ts), with seqs handed out in batch order, gap-free per
 * conversation. Pure: no database here.
 */
import { LetterError } from '@letter/protocol';
import type { AppendResult, MemberSet, NewMessage } from '../store.js';
import { badReply, mayReplyTo, refuseDirectSend, refuseRepeatElsewhere } from '../shared/rules.js';
import {
  mentionsOf,
  toFileRecord,
  toMessages,
  userMessageRow,
  type MessageRow,
} from '../shared/rows.js';
import type { FilesTable } from '../shared/tables.js';

/** A conversation row the batch locked (FOR UPDATE), as it stood when the lock was granted. */
export interface LockedConversation {
  id: string;
  kind: 'direct' | 'group';
  last_seq: number;
  members_version: number;
}

/** What the batch's check statement read for one message, after the locks were granted. */
export interface AppendCheckRow {
  /** The sender's member row; null when they are not a member. */
  read_seq: number | null;
  join_seq: number | null;
  /** The message this (sender, clientMsgId) already made, if any. */
  existing_conversation: string | null;
  existing_seq: number | null;
  /** In a direct conversation: whether the peer exists, their deletion, a block either way. */
  peer_exists: boolean;
  peer_deleted_at: number | null;
  blocked: boolean;
  /** replyToSeq names a stored message of the conversation. */
  reply_found: boolean;
}

export type AppendOutcome =
  | { kind: 'created'; result: AppendResult }
  /** A repeat of a committed send: its original is read after the batch. */
  | { kind: 'repeat'; conversationId: string; seq: number }
  | { kind: 'failed'; error: unknown };

/** Rows for the batch's one write statement, each list aligned column by column. */
export interface BatchWrites {
  messages: MessageRow[];
  /** Per conversation with new messages: how many, and the latest createdAt. */
  conversations: { id: string; count: number; at: number }[];
  /** Per (conversation, sender): the sender's new position, and whether another sender's
   * message in this batch un-archives the conversation for them. */
  positions: { conversationId: string; userId: string; seq: number; unarchive: boolean }[];
  mentions: { conversationId: string; userId: string; seq: number }[];
  /** Files attached to a message of the batch (each claimed once). */
  files: { id: string; conversationId: string; seq: number }[];
}

export interface BatchPlan {
  outcomes: AppendOutcome[];
  writes: BatchWrites;
}

/** Largest value of an `integer` column: a replyToSeq beyond it names no message. */
const MAX_INT4 = 2_147_483_647;

/**
 * Input a PostgreSQL statement would refuse for the whole batch (text cannot hold U+0000; a
 * seq beyond `integer`): answered for that message alone, as the one-append path answers it.
 */
export function refusedInput(message: NewMessage): LetterError | undefined {
  const texts = [message.conversationId, message.senderId, message.clientMsgId, message.body];
  const lists = [message.mentions, message.attachments];
  if (texts.some(hasNul) || lists.some((list) => list?.some(hasNul))) {
    return new LetterError('bad_request', 'Text must not contain the character U+0000.');
  }
  const reply = message.replyToSeq;
  if (reply !== null && (!Number.isSafeInteger(reply) || reply < 0 || reply > MAX_INT4)) {
    return badReply();
  }
  return undefined;
}

const hasNul = (text: string): boolean => text.includes('\u0000');

interface ConversationState {
  locked: LockedConversation;
  lastSeq: number;
  /** Each sender's last message in the batch: their new read and delivered position. */
  senders: Map<string, number>;
  at: number;
}

/**
 * Decides every message of a batch in order. `checks[i]` belongs to `messages[i]`; `memberSets`
 * holds the member list of each conversation whose version a message did not know, or whose
 * messages mention someone.
 */
export function planBatch(
  messages: readonly NewMessage[],
  locked: ReadonlyMap<string, LockedConversation>,
  checks: readonly AppendCheckRow[],
  memberSets: ReadonlyMap<string, MemberSet>,
  /** The rows of the files the batch's messages attach, locked (FOR UPDATE) with the batch. */
  files: ReadonlyMap<string, FilesTable> = new Map(),
): BatchPlan {
  const states = new Map<string, ConversationState>();
  const made = new Map<string, MessageRow>();
  /** Files claimed by an earlier message of this batch. */
  const claimed = new Set<string>();
  const writes: BatchWrites = {
    messages: [],
    conversations: [],
    positions: [],
    mentions: [],
    files: [],
  };
  const outcomes = messages.map((message, i): AppendOutcome => {
    try {
      return decide(message, checks[i]!);
    } catch (error) {
      return { kind: 'failed', error };
    }
  });

  function decide(message: NewMessage, check: AppendCheckRow): AppendOutcome {
    const { conversationId, senderId } = message;
    const conversation = locked.get(conversationId);
    if (!conversation || check.read_seq === null || check.join_seq === null) {
      throw new LetterError('not_found');
    }
    // A retry of a send that already committed gets its original answer, even if a block
    // happened in between; a repeat within this batch gets the message made moments ago.
    if (check.existing_conversation !== null && check.existing_seq !== null) {
      refuseRepeatElsewhere(check.existing_conversation, conversationId);
      return { kind: 'repeat', conversationId, seq: check.existing_seq };
    }
    const earlier = made.get(`${senderId}\u0000${message.clientMsgId}`);
    if (earlier) {
      refuseRepeatElsewhere(earlier.conversation_id, conversationId);
      return {
        kind: 'created',
        result: { message: toMessages([earlier], [])[0]!, created: false },
      };
    }
    if (conversation.kind === 'direct' && check.peer_exists) {
      refuseDirectSend(check.peer_deleted_at, check.blocked);
    }
    let state = states.get(conversationId);
    if (!state) {
      state = { locked: conversation, lastSeq: conversation.last_seq, senders: new Map(), at: 0 };
      states.set(conversationId, state);
    }
    const reply = message.replyToSeq;
    if (reply !== null) {
      // A seq past the locked row's is a message of this batch (gap-free: all of them exist).
      const made = reply > conversation.last_seq && reply <= state.lastSeq;
      if (!mayReplyTo(reply, { join_seq: check.join_seq }) || !(check.reply_found || made)) {
        throw badReply();
      }
    }
    // The last check: a refused file fails this message before it takes a seq.
    const toAttach = claimable(message, files, claimed);
    const members = memberSets.get(conversationId);
    const mentions = message.mentions?.length
      ? mentionsOf(message, conversation.kind === 'group', members?.userIds ?? [])
      : [];
    const seq = ++state.lastSeq;
    const attached = toAttach.map((file) => {
      claimed.add(file.id);
      writes.files.push({ id: file.id, conversationId, seq });
      return toFileRecord({ ...file, conversation_id: conversationId, seq });
    });
    const row = userMessageRow(message, seq, mentions, attached);
    writes.messages.push(row);
    made.set(`${senderId}\u0000${message.clientMsgId}`, row);
    for (const userId of mentions) writes.mentions.push({ conversationId, userId, seq });
    // Sending moves the sender's positions to their message, with no position_log entry: the
    // message dates the read (receipts read it through messages_by_sender_live; a deletion logs
    // it, message-actions.ts), as in the SQLite store.
    state.senders.set(senderId, seq);
    state.at = Math.max(state.at, message.createdAt);
    const result: AppendResult = { message: toMessages([row], [])[0]!, created: true };
    if (message.knownMembersVersion !== conversation.members_version) {
      // Read under the lock for exactly this case: never an audience guessed.
      if (!members) throw new Error(`no member set read for ${conversationId}`);
      result.members = members;
    }
    return { kind: 'created', result };
  }

  for (const [id, state] of states) {
    const count = state.lastSeq - state.locked.last_seq;
    if (count === 0) continue;
    writes.conversations.push({ id, count, at: state.at });
    const senders = [...state.senders.keys()];
    for (const [userId, seq] of state.senders) {
      const unarchive = senders.some((other) => other !== userId);
      writes.positions.push({ conversationId: id, userId, seq, unarchive });
    }
  }
  return { outcomes, writes };
}

/**
 * The files a message attaches, in the order sent, if every one of them exists, was uploaded by
 * the sender and is attached nowhere yet, neither before the batch nor by an earlier message of
 * it (nor twice by this one); otherwise `not_found`, as attachFiles answers.
 */
function claimable(
  message: NewMessage,
  files: ReadonlyMap<string, FilesTable>,
  claimed: ReadonlySet<string>,
): FilesTable[] {
  const ids = message.attachments ?? [];
  const rows = ids.map((id) => files.get(id));
  const free = rows.every(
    (row, i) =>
      row !== undefined &&
      row.uploader_id === message.senderId &&
      row.conversation_id === null &&
      !claimed.has(row.id) &&
      ids.indexOf(row.id) === i,
  );
  if (!free) throw new LetterError('not_found', 'Unknown file, or not yours to attach.');
  return rows as FilesTable[];
}
