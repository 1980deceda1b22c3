/**
 * The SQLite append path, deciding on conversation state held in memory.
 *
 * The worker is SQLite's only writer, so what an append checks (the conversation's last seq and
 * members' version, each member's role, join point and positions, and for a direct conversation
 * whether the peer was deleted or either blocked the other) changes only by the worker's own
 * calls. The state of a conversation is read from the database once, then kept exact by appends,
 * which update it, and by every other write, after which the worker drops it
 * (`keepsAppendState`): an append is then one INSERT, with the idempotency check done by the
 * unique index (insert first; only a refused insert reads the original).
 *
 * With `defer` on (the worker), an append's seq and its sender's positions reach the
 * `conversations` and `members` rows once per conversation per batch (`flushWrites`, before any
 * other call and before COMMIT) instead of once per message. `discard` forgets everything after
 * a rollback. With `keep` off (a SqliteStore used directly, as tests do), nothing is remembered
 * between calls and every write happens at once.
 */
import { LetterError, type ReceiptKind } from '@letter/protocol';
import type { AppendResult, FileRecord, NewMessage, PositionResult } from '../store.js';
import type { StoreMethod } from '../shared/store-methods.js';
import { isReadOnly } from '../shared/store-methods.js';
import { mentionsOf, toMessage, userMessageRow, type MessageRow } from '../shared/rows.js';
import {
  badReply,
  mayReplyTo,
  looksUpSenders,
  positionMove,
  receiptAudience,
  refuseDirectSend,
  refuseRepeatElsewhere,
} from '../shared/rules.js';
import type { Membership } from '../shared/tables.js';
import type { Db } from './db.js';
import type { Queries } from './queries.js';
import { createAppendQueries, type AppendQueries } from './queries-append.js';

interface MemberState {
  role: Membership['role'];
  read_seq: number;
  delivered_seq: number;
  join_seq: number;
}

interface ConversationState {
  id: string;
  kind: Membership['kind'];
  lastSeq: number;
  membersVersion: number;
  /** Every member, in MemberSet order. */
  members: Map<string, MemberState>;
  /**
   * Direct conversations with both members: for each, whether the other's account was deleted
   * and whether either blocked the other. Null for groups and a direct one a member left.
   */
  peers: Map<string, { deletedAt: number | null; blocked: boolean }> | null;
  anyArchived: boolean;
  /** The latest message time not yet written to `conversations` (0: nothing to write). */
  unwrittenAt: number;
  /** Members whose positions are not written yet. */
  unwrittenMembers: Set<string>;
}

/** What the append needs of the store around it. */
export interface AppendHost {
  readonly db: Db;
  readonly q: Queries;
  /** Inserts a message row with `statement`; false when it inserted nothing. */
  insertMessageRow(
    row: MessageRow,
    statement: AppendQueries['insertSend'],
    append: boolean,
  ): boolean;
  insertMention(p: { conversationId: string; userId: string; seq: number }): void;
  /** Claims the sender's files for the message (all or none: a throw undoes the call). */
  attachFiles(input: {
    fileIds: string[];
    uploaderId: string;
    conversationId: string;
    seq: number;
  }): FileRecord[];
  requireMessage(conversationId: string, seq: number): AppendResult['message'];
  logPosition(
    conversationId: string,
    userId: string,
    kind: ReceiptKind,
    seq: number,
    at: number,
  ): void;
}

/** Bounds the memory: past this many conversations, the idle ones are forgotten. */
const MAX_CONVERSATIONS = 20_000;

/**
 * Writes that leave every cached state exact (none touches conversations' seqs or versions,
 * members, blocks or accounts' deletion): the worker keeps the cache across them. Any write not
 * listed drops the whole cache after it runs, so a new write method is safe by default.
 */
const LEAVES_STATE: ReadonlySet<StoreMethod> = new Set<StoreMethod>([
  'appendMessage',
  // Moves a cached position (`advance`), so the cache is the one place it changes.
  'advancePosition',
  'createUser',
  'updateDisplayName',
  'updatePasswordHash',
  'setLastSeen',
  'createSession',
  'rotateRefreshToken',
  'revokeSession',
  'revokeUserSessions',
  'addContact',
  'removeContact',
  // Creates a conversation (none cached: only existing ones are) or finds the existing one.
  'openDirect',
  // Files and blob deletions touch only `files` and `blob_deletions` (never messages).
  'createFile',
  'removeFiles',
  'startBlobDeletions',
  'endBlobDeletions',
  'setReaction',
  'removeReaction',
  'addPushSubscription',
  'removePushSubscription',
  'deletePushEndpoint',
  'setPushPreview',
]);

/** Whether the cached state stays exact across `method`. */
export const keepsAppendState = (method: StoreMethod): boolean =>
  isReadOnly(method) || LEAVES_STATE.has(method);

/**
 * The calls decided on the cached state: the worker writes nothing deferred before them (the
 * cache is ahead of the database, and they read the cache) and runs them without a savepoint (an
 * append makes its own when it writes more than one row; a position writes at most one).
 */
export const ON_APPEND_STATE: ReadonlySet<StoreMethod> = new Set<StoreMethod>([
  'appendMessage',
  'advancePosition',
]);

export class AppendPath {
  /** Keep conversation state between calls (only for the worker: it alone writes). */
  keep = false;
  /** Write seqs and positions in `flushWrites`, not at once. */
  defer = false;
  private readonly states = new Map<string, ConversationState>();
  private readonly unwritten = new Set<ConversationState>();
  private readonly s: AppendQueries;
  /** Runs `write` in a savepoint (a transaction when none is open): all of it, or none. */
  private readonly inSavepoint: (write: () => MessageRow | null) => MessageRow | null;

  constructor(private readonly host: AppendHost) {
    this.s = createAppendQueries(host.db);
    this.inSavepoint = host.db.transaction((write: () => MessageRow | null) => write());
  }

  /** Keeps the cache exact after `method` ran (or failed). */
  afterCall(method: StoreMethod): void {
    if (keepsAppendState(method)) return;
    this.flushWrites();
    this.states.clear();
  }

  /** Writes every seq and position the cache holds ahead of the database. */
  flushWrites(): void {
    for (const state of this.unwritten) {
      const conversationId = state.id;
      if (state.unwrittenAt !== 0) {
        this.s.setLastSeq.run({ conversationId, seq: state.lastSeq, now: state.unwrittenAt });
        state.unwrittenAt = 0;
      }
      for (const userId of state.unwrittenMembers) {
        const member = state.members.get(userId)!;
        this.host.q.setPositions.run({
          conversationId,
          userId,
          readSeq: member.read_seq,
          deliveredSeq: member.delivered_seq,
        });
      }
      state.unwrittenMembers.clear();
    }
    this.unwritten.clear();
  }

  /** The transaction rolled back: what the cache learnt in it may be gone. */
  discard(): void {
    this.unwritten.clear();
    this.states.clear();
  }

  append(message: NewMessage): AppendResult {
    try {
      return this.run(message);
    } finally {
      this.forgetUnlessKept();
    }
  }

  /** With `keep` off, nothing outlives the call. */
  private forgetUnlessKept(): void {
    if (this.keep) return;
    this.flushWrites();
    this.states.clear();
  }

  /**
   * Moves a member's read or delivered position (never back, never past the last message). The
   * move is dated in `position_log` at once (receipts read the times there); the position itself
   * reaches the `members` row with the batch's other deferred writes, once per member per batch.
   */
  advance(
    conversationId: string,
    userId: string,
    kind: ReceiptKind,
    seq: number,
    now: number,
  ): PositionResult | null {
    try {
      const state = this.state(conversationId);
      const member = state?.members.get(userId);
      if (!state || !member) return null;
      const move = positionMove({ ...member, last_seq: state.lastSeq }, kind, seq);
      // Read before writing: without a savepoint, a call that fails must have written nothing.
      const audience = move.moved ? this.audience(state, userId, move.from, move.seq) : [];
      if (move.log) this.host.logPosition(conversationId, userId, move.log.kind, move.log.seq, now);
      if (move.write) {
        // Only now does the cache move (a failed log insert left it as it was).
        member.read_seq = move.readSeq;
        member.delivered_seq = move.deliveredSeq;
        state.unwrittenMembers.add(userId);
        this.unwritten.add(state);
        if (!this.defer) this.flushWrites();
      }
      return { seq: move.seq, changed: move.moved, audience };
    } finally {
      this.forgetUnlessKept();
    }
  }

  /** Who hears of `userId`'s position moving from `from` to `to` (rules.ts `receiptAudience`). */
  private audience(state: ConversationState, userId: string, from: number, to: number): string[] {
    const { members } = state;
    if (!looksUpSenders(members.size, from, to)) return receiptAudience(members, userId, to, null);
    const rows = this.s.sendersBetween.all({ conversationId: state.id, from, to });
    return receiptAudience(members, userId, to, new Set(rows.map((row) => row.sender_id)));
  }

  private run(message: NewMessage): AppendResult {
    const { conversationId, senderId } = message;
    const state = this.state(conversationId);
    const sender = state?.members.get(senderId);
    if (!state || !sender) throw new LetterError('not_found');
    const refusal = this.refusal(state, sender, message);
    // A retry of a send that already committed gets its original answer, even if a block
    // happened in between: the message was sent before the block.
    if (refusal) return this.original(message) ?? throwError(refusal);
    const seq = state.lastSeq + 1;
    const isGroup = state.peers === null;
    const mentions = message.mentions?.length
      ? mentionsOf(message, isGroup, [...state.members.keys()])
      : [];
    // A message with files (rare next to text) looks for its original first: attaching them
    // to a new seq for a repeat would fail (they are attached already) or mislead.
    const repeat = message.attachments?.length ? this.original(message) : null;
    if (repeat) return repeat;
    /** Every write of the append; the row, or null when the insert was refused (a repeat). */
    const write = (): MessageRow | null => {
      const files = message.attachments?.length
        ? this.host.attachFiles({
            fileIds: message.attachments,
            uploaderId: senderId,
            conversationId,
            seq,
          })
        : [];
      const inserted = userMessageRow(message, seq, mentions, files);
      if (!this.host.insertMessageRow(inserted, this.s.insertSend, true)) return null;
      for (const userId of mentions) this.host.insertMention({ conversationId, userId, seq });
      // Sending dates the sender's read position without a position_log row: the message itself
      // is the entry (receipts read the sender's first message after a seq through the export
      // index), so a 1:1 exchange, where nearly every send covers the peer's last message, writes
      // one B-tree leaf less per append (docs/performance.md, "The floor of an append").
      if (state.anyArchived) {
        this.host.q.unarchiveOthers.run({ conversationId, userId: senderId });
        state.anyArchived = this.host.q.anyArchived.get({ conversationId }) !== undefined;
      }
      return inserted;
    };
    // The worker runs an append without the savepoint it gives every other write (writer.ts).
    // One INSERT is atomic by itself: a failing statement undoes its own changes. An append
    // that writes more (files, mentions, un-archiving) makes its own savepoint, so a failure
    // part-way undoes every write of the call and nothing else.
    const single = !message.attachments?.length && mentions.length === 0 && !state.anyArchived;
    const row = single ? write() : this.inSavepoint(write);
    if (row === null) return this.original(message)!;
    // Every statement succeeded: only now does the cache move (a failure left it as it was).
    state.lastSeq = seq;
    state.unwrittenAt = Math.max(state.unwrittenAt, message.createdAt);
    sender.read_seq = seq;
    sender.delivered_seq = seq;
    state.unwrittenMembers.add(senderId);
    this.unwritten.add(state);
    if (!this.defer) this.flushWrites();
    const result: AppendResult = { message: toMessage(row), created: true };
    if (message.knownMembersVersion !== state.membersVersion) {
      result.members = { userIds: [...state.members.keys()], version: state.membersVersion };
    }
    return result;
  }

  /** Why this send may not be appended, if it may not. */
  private refusal(
    state: ConversationState,
    sender: MemberState,
    message: NewMessage,
  ): LetterError | null {
    const peer = state.peers?.get(message.senderId);
    try {
      if (peer) refuseDirectSend(peer.deletedAt, peer.blocked);
    } catch (error) {
      return error as LetterError;
    }
    const replyTo = message.replyToSeq;
    if (
      replyTo !== null &&
      (!mayReplyTo(replyTo, sender) ||
        !this.host.q.messageBySeq.get({ conversationId: message.conversationId, seq: replyTo }))
    ) {
      return badReply();
    }
    return null;
  }

  /** The message this send already committed as, or null. */
  private original(message: NewMessage): AppendResult | null {
    const existing = this.s.existing.get({
      senderId: message.senderId,
      clientMsgId: message.clientMsgId,
    });
    if (!existing) return null;
    refuseRepeatElsewhere(existing.conversation_id, message.conversationId);
    return {
      message: this.host.requireMessage(message.conversationId, existing.seq),
      created: false,
    };
  }

  private state(conversationId: string): ConversationState | undefined {
    const known = this.states.get(conversationId);
    if (known) return known;
    const row = this.s.conversation.get({ conversationId });
    if (!row) return undefined;
    const members = new Map<string, MemberState>();
    for (const m of this.s.members.all({ conversationId })) {
      const { role, read_seq, delivered_seq, join_seq } = m;
      members.set(m.user_id, { role, read_seq, delivered_seq, join_seq });
    }
    const state: ConversationState = {
      id: conversationId,
      kind: row.kind,
      lastSeq: row.last_seq,
      membersVersion: row.members_version,
      members,
      peers: row.kind === 'direct' ? this.directPeers(members) : null,
      anyArchived: this.host.q.anyArchived.get({ conversationId }) !== undefined,
      unwrittenAt: 0,
      unwrittenMembers: new Set(),
    };
    if (this.states.size >= MAX_CONVERSATIONS) this.forgetIdle();
    this.states.set(conversationId, state);
    return state;
  }

  /** A direct conversation's pair, while both are members; null once one left (as a group). */
  private directPeers(members: Map<string, MemberState>): ConversationState['peers'] {
    if (members.size !== 2) return null;
    const [a, b] = [...members.keys()] as [string, string];
    const peerOf = (userId: string, peerId: string) => {
      const row = this.s.peer.get({ userId, peerId });
      return { deletedAt: row?.deleted_at ?? null, blocked: row?.blocked === 1 };
    };
    return new Map([
      [a, peerOf(a, b)],
      [b, peerOf(b, a)],
    ]);
  }

  private forgetIdle(): void {
    for (const [id, state] of this.states) if (!this.unwritten.has(state)) this.states.delete(id);
  }
}

function throwError(error: Error): never {
  throw error;
}
