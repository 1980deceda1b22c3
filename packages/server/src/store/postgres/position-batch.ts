/**
 * Group commit of delivered/read positions for the PostgreSQL store: every recipient's client
 * acknowledges what it received, so without it each message would cost a second transaction of
 * its own. Moves made in one turn (or while a batch runs) share one transaction on the pipelined
 * pool (pipeline.ts):
 *
 *   1. BEGIN; the batch's conversations locked FOR SHARE in id order (appends and group changes
 *      take them FOR UPDATE first too, so no batch of either kind ever holds a member row another
 *      one waits for while it waits for one of theirs); the members' rows FOR UPDATE; the
 *      members' join points, for who may hear of a move.
 *   2. The moves decided in order with the shared rule (positionMove), several of one member
 *      applied one after the other; one statement writes the positions and the log; COMMIT.
 *
 * A lost connection fails the batch (`unavailable`); a deadlock runs it again; anything else
 * falls back to one transaction per move (`moveOne`), so a bad call fails alone.
 */
import type pg from 'pg';
import type { ReceiptKind } from '@letter/protocol';
import type { PositionResult } from '../store.js';
import {
  RECEIPT_EVERYONE_MAX,
  RECEIPT_SENDERS_SPAN,
  looksUpSenders,
  positionMove,
  receiptAudience,
} from '../shared/rules.js';
import {
  commitOrEachAlone,
  decided,
  isRetryableConflict,
  newBatchStats,
  pipelinedTransaction,
  settled,
  withRetries,
  type Decided,
} from './pipeline.js';
import { TickBatcher, type Pending } from './tick-batcher.js';

export interface PositionMoveInput {
  conversationId: string;
  userId: string;
  kind: ReceiptKind;
  seq: number;
  now: number;
}

type Outcome = PositionResult | null;

const MAX_BATCH = 1000;

const LOCK_CONVERSATIONS_SQL = `SELECT id FROM conversations
  WHERE id = ANY($1::text[]) ORDER BY id FOR SHARE`;

// The member rows are locked as the lateral probes run, in the order of the arrays.
const LOCK_MEMBERS_SQL = `SELECT m.conversation_id, m.user_id, m.read_seq, m.delivered_seq,
    c.last_seq
  FROM unnest($1::text[], $2::text[]) AS k(conv, usr)
  JOIN LATERAL (
    SELECT conversation_id, user_id, read_seq, delivered_seq FROM members
    WHERE conversation_id = k.conv AND user_id = k.usr LIMIT 1) m ON true
  JOIN conversations c ON c.id = m.conversation_id
  FOR UPDATE OF m`;

const AUDIENCE_SQL = `SELECT conversation_id, user_id, join_seq FROM members
  WHERE conversation_id = ANY($1::text[])`;

// The senders of a group's latest messages at or below the highest seq the batch moves to: who
// hears of a move over them (rules.ts receiptAudience). Only a group of over
// RECEIPT_EVERYONE_MAX members uses them (`looksUpSenders`): a smaller group, or a direct
// conversation, reads none, found by reading at most that many + 1 of its members' keys (an
// index probe; the group's size is not stored). `= ANY` as in WRITE_SQL: planned for empty
// tables, the join alone scanned all conversations.
const RECENT_SENDERS_SQL = `SELECT k.conv AS conversation_id, m.seq, m.sender_id
  FROM unnest($1::text[], $2::int[]) AS k(conv, top)
  JOIN conversations c ON c.id = ANY($1::text[]) AND c.id = k.conv AND c.kind = 'group'
    AND EXISTS (SELECT 1 FROM members g WHERE g.conversation_id = c.id
      OFFSET ${RECEIPT_EVERYONE_MAX} LIMIT 1)
  JOIN LATERAL (
    SELECT seq, sender_id FROM messages WHERE conversation_id = k.conv AND seq <= k.top
    ORDER BY seq DESC LIMIT ${RECEIPT_SENDERS_SPAN}) m ON true`;

// `= ANY`: the member rows found through the primary key. Planned once for a fresh install's
// empty tables (the append pool's generic plans), the join alone was a scan of all members.
const WRITE_SQL = `WITH logged AS (
    INSERT INTO position_log (conversation_id, user_id, kind, seq, at)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::bigint[])
  )
  UPDATE members m SET read_seq = v.read_seq, delivered_seq = v.delivered_seq
  FROM unnest($6::text[], $7::text[], $8::int[], $9::int[])
    AS v(conv, usr, read_seq, delivered_seq)
  WHERE m.conversation_id = ANY($6::text[]) AND m.conversation_id = v.conv
    AND m.user_id = v.usr`;

interface MemberPosition {
  conversation_id: string;
  user_id: string;
  read_seq: number;
  delivered_seq: number;
  last_seq: number;
}

const key = (conversationId: string, userId: string) => `${conversationId}\u0000${userId}`;

export class PositionBatcher {
  private readonly batcher: TickBatcher<PositionMoveInput, Outcome>;

  readonly stats = newBatchStats();

  constructor(
    private readonly pool: pg.Pool,
    /** One move in a transaction of its own: what a batch falls back to. */
    private readonly moveOne: (input: PositionMoveInput) => Promise<Outcome>,
    /** The longest a batch waits for company (tick-batcher.ts). */
    commitDelayMs = 0,
  ) {
    this.batcher = new TickBatcher((batch) => this.run(batch), MAX_BATCH, commitDelayMs);
  }

  move(input: PositionMoveInput): Promise<Outcome> {
    return this.batcher.add(input);
  }

  private async run(batch: Pending<PositionMoveInput, Outcome>[]): Promise<void> {
    const inputs = batch.map((pending) => pending.item);
    const outcomes = await commitOrEachAlone(
      batch,
      this.stats,
      () =>
        withRetries(
          () => pipelinedTransaction(this.pool, (client) => this.decide(client, inputs)),
          isRetryableConflict,
          () => this.stats.retries++,
        ),
      this.moveOne,
    );
    if (!outcomes) return;
    batch.forEach((pending, i) => pending.resolve(outcomes[i]!));
  }

  private async decide(
    client: pg.PoolClient,
    inputs: PositionMoveInput[],
  ): Promise<Decided<Outcome[]>> {
    const conversations = [...new Set(inputs.map((input) => input.conversationId))].sort();
    // Each member once (their moves in this batch apply one after the other below), in one order
    // for every batch: the rows are locked in the order given, so two batches (of two nodes)
    // never wait for each other in a cycle.
    const pairs = [
      ...new Map(inputs.map((input) => [key(input.conversationId, input.userId), input])).values(),
    ]
      .map((input) => [input.conversationId, input.userId] as const)
      .sort(([c1, u1], [c2, u2]) => (c1 < c2 ? -1 : c1 > c2 ? 1 : u1 < u2 ? -1 : u1 > u2 ? 1 : 0));
    const tops = new Map<string, number>();
    for (const { conversationId, seq } of inputs) {
      tops.set(conversationId, Math.max(tops.get(conversationId) ?? 0, Math.trunc(seq)));
    }
    const [, locked, audience, recent] = await settled<
      [
        pg.QueryResult,
        pg.QueryResult<MemberPosition>,
        pg.QueryResult<{ conversation_id: string; user_id: string; join_seq: number }>,
        pg.QueryResult<RecentSender>,
      ]
    >([
      client.query({
        name: 'letter_position_lock_conversations',
        text: LOCK_CONVERSATIONS_SQL,
        values: [conversations],
      }),
      client.query<MemberPosition>({
        name: 'letter_position_lock_members',
        text: LOCK_MEMBERS_SQL,
        values: [
          pairs.map(([conversationId]) => conversationId),
          pairs.map(([, userId]) => userId),
        ],
      }),
      client.query({
        name: 'letter_position_audience',
        text: AUDIENCE_SQL,
        values: [conversations],
      }),
      client.query<RecentSender>({
        name: 'letter_position_recent_senders',
        text: RECENT_SENDERS_SQL,
        values: [conversations, conversations.map((id) => tops.get(id)!)],
      }),
    ]);
    const windows = sendersWindows(recent.rows);
    const members = new Map(locked.rows.map((row) => [key(row.conversation_id, row.user_id), row]));
    const joins = new Map<string, Map<string, { join_seq: number }>>();
    for (const row of audience.rows) {
      let members = joins.get(row.conversation_id);
      if (!members) joins.set(row.conversation_id, (members = new Map()));
      members.set(row.user_id, row);
    }
    const log: (string | number)[][] = [[], [], [], [], []];
    const changed = new Set<MemberPosition>();
    const outcomes = inputs.map((input): Outcome => {
      const member = members.get(key(input.conversationId, input.userId));
      if (!member) return null;
      const move = positionMove(member, input.kind, input.seq);
      if (move.log) {
        for (const [i, value] of [
          input.conversationId,
          input.userId,
          move.log.kind,
          move.log.seq,
          input.now,
        ].entries()) {
          log[i]!.push(value);
        }
      }
      if (move.write) {
        member.read_seq = move.readSeq;
        member.delivered_seq = move.deliveredSeq;
        changed.add(member);
      }
      if (!move.moved) return { seq: move.seq, changed: false, audience: [] };
      const joined = joins.get(input.conversationId) ?? new Map<string, { join_seq: number }>();
      const senders = looksUpSenders(joined.size, move.from, move.seq)
        ? sendersIn(windows.get(input.conversationId), move.from, move.seq)
        : null;
      return {
        seq: move.seq,
        changed: true,
        audience: receiptAudience(joined, input.userId, move.seq, senders),
      };
    });
    if (changed.size === 0) return decided(outcomes, null);
    const rows = [...changed];
    const write = {
      name: 'letter_position_write',
      text: WRITE_SQL,
      values: [
        ...log,
        rows.map((row) => row.conversation_id),
        rows.map((row) => row.user_id),
        rows.map((row) => row.read_seq),
        rows.map((row) => row.delivered_seq),
      ],
    };
    return decided(outcomes, write);
  }
}

interface RecentSender {
  conversation_id: string;
  seq: number;
  sender_id: string | null;
}

interface SendersWindow {
  /** seq → sender of the conversation's latest messages read (RECENT_SENDERS_SQL). */
  senders: Map<number, string | null>;
  /** The lowest seq read, and whether the read stopped at its limit (older ones exist). */
  lowest: number;
  full: boolean;
}

function sendersWindows(rows: readonly RecentSender[]): Map<string, SendersWindow> {
  const windows = new Map<string, SendersWindow>();
  for (const row of rows) {
    let window = windows.get(row.conversation_id);
    if (!window) {
      window = { senders: new Map(), lowest: row.seq, full: false };
      windows.set(row.conversation_id, window);
    }
    window.senders.set(row.seq, row.sender_id);
    window.lowest = Math.min(window.lowest, row.seq);
  }
  for (const window of windows.values()) window.full = window.senders.size >= RECEIPT_SENDERS_SPAN;
  return windows;
}

/** The senders of (from, to], or null when the window read does not reach down to `from`. */
function sendersIn(
  window: SendersWindow | undefined,
  from: number,
  to: number,
): Set<string | null> | null {
  if (!window) return null;
  if (window.full && from + 1 < window.lowest) return null;
  const senders = new Set<string | null>();
  for (const [seq, sender] of window.senders) if (seq > from && seq <= to) senders.add(sender);
  return senders;
}

/** The statements a batch runs on the append pool, by name (their plans: pending-list.test.ts). */
export const POSITION_BATCH_SQL = {
  positionLockConversations: LOCK_CONVERSATIONS_SQL,
  positionLockMembers: LOCK_MEMBERS_SQL,
  positionAudience: AUDIENCE_SQL,
  positionRecentSenders: RECENT_SENDERS_SQL,
  positionWrite: WRITE_SQL,
};
