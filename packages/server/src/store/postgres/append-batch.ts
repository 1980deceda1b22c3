/**
 * Group commit of appends for the PostgreSQL store. Appends that arrive in one turn of the event
 * loop, or while a batch is in flight, share ONE write on a pipelined connection (pg's pipeline
 * mode: a statement is sent without waiting for the answer to the one before), in two round
 * trips whatever the batch's size:
 *
 *   1. Read the batch's conversations (kind, last seq, members version); per message, the
 *      sender's membership, an earlier send with the same clientMsgId, the reply target; per
 *      direct conversation, its members' deletion and blocks; the member lists a message needs
 *      (version unknown to the caller, or mentions). These reads take NO lock, and run outside
 *      any transaction (pipeline.ts `pipelinedStatement`). A batch with no reply and no mention
 *      reads without the reply probe and the member lists (PLAIN_READS_SQL), and again with them
 *      only when a message's members version turns out not to be the current one.
 *   2. The node decides every message with the shared rules (append-plan.ts) and hands out seqs
 *      from the last seqs it read; then it sends its write as one transaction in one go
 *      (pipeline.ts `pipelinedWrites`): BEGIN; the lock of the conversations (FOR UPDATE, in id
 *      order, the lock every append and group change takes); ONE statement that reads under
 *      those locks each one's last seq and members version and writes (multi-row INSERT from
 *      `unnest` arrays, one `last_seq = last_seq + n` per conversation, the senders' positions,
 *      un-archiving, mentions; a send's read position needs no position_log entry: its message
 *      dates it, see positions.ts `receipts`); COMMIT. Two round trips a batch: the read
 *      (READS_SQL), then those four statements in one write to the socket (round nine cut a
 *      batch's eight statements to a read and one write: docs/performance.md, "Round nine").
 *      The lock is a statement of its own again, not the write's first CTE (rounds nine to
 *      twenty-five): the write's snapshot is then taken after the locks were granted, where a
 *      statement that locked its own rows saw every row the other node had changed while it
 *      waited as an update to re-check (EvalPlanQual, a re-initialised plan per row, with the
 *      locks held): "Round twenty-six".
 *
 * So a batch holds its conversations' locks only while PostgreSQL runs its write and commits,
 * never while the node's event loop gets round to an answer: two nodes appending to the same
 * conversations no longer queue behind each other's event loops (docs/performance.md, "Two
 * nodes"). What may have changed in between, the write settles under the locks:
 *
 * - messages stored meanwhile by another node: the batch's seqs move up past them ("shifted"),
 *   in the write and in the answers; replies to the batch's own messages move along. Nothing
 *   else the batch decided depends on the last seq.
 * - a members version that moved (a membership change): the conversation is "stale" and none of
 *   its messages is written; they are decided again at once, refused ones too, in a transaction
 *   that takes the locks BEFORE its reads (the locked path), before any later batch runs.
 *
 * A batch with files takes the locked path from the start: BEGIN, the conversations locked
 * with the reads, their files' rows locked (FOR UPDATE) after them, as appendOne locks them; the
 * write; COMMIT. So does every batch of a store opened with `appendReads: 'locked'` (a node
 * without peers: AppendReads).
 *
 * Architecture Invariant: a message is written only in a transaction that holds its
 * conversation's lock and has seen, under it, the members version it was decided from; its seq
 * is the last seq read under that lock plus its place in the batch, so seqs stay gap-free, and a
 * removed member's send never lands after the removal.
 *
 * A message the rules refuse fails alone; the others commit. So does one attaching a file that
 * is unknown, someone else's, attached already or claimed by an earlier message of the batch: it
 * stores nothing and takes no seq. A lost connection fails every append of the batch
 * (`unavailable`), none is acked. A deadlock, or the same clientMsgId committed meanwhile by
 * another transaction, runs the batch again; any other error falls back to one transaction per
 * message (`appendOne`), so it fails alone too.
 */
import type pg from 'pg';
import type { AppendResult, MemberSet, NewMessage } from '../store.js';
import { LetterError, type Message } from '@letter/protocol';
import { violatedConstraint, type Db } from './db.js';
import * as pipeline from './pipeline.js';
import { searchVector } from './search.js';
import { messagesBetween } from './views.js';
import type { FilesTable } from '../shared/tables.js';
import {
  planBatch,
  refusedInput,
  type AppendCheckRow,
  type AppendOutcome,
  type BatchWrites,
  type LockedConversation,
} from './append-plan.js';
import { TickBatcher, type Pending as BatchCall } from './tick-batcher.js';

export interface AppendBatcherDeps {
  /** Pipelined connections (createPool with `pipeline: true`), for the batches alone. */
  pool: pg.Pool;
  /** The store's database, to read the original of a repeated send. */
  db: Db;
  /** One append in a transaction of its own: what a batch falls back to. */
  appendOne(message: NewMessage): Promise<AppendResult>;
  /** Told how many messages a batch stored, once it committed (pending-list.ts). */
  onStored?: ((count: number) => void) | undefined;
  /** How batches without files read: see AppendReads. */
  reads: AppendReads;
  /** The longest a batch waits for company (tick-batcher.ts; 0 or absent: never). */
  commitDelayMs?: number | undefined;
}

/**
 * How a batch reads its conversations: `unlocked` (reads first, locks with the write: for nodes
 * that share the database, whose batches meet on the same conversations) or `locked` (the locks
 * first, held until COMMIT: one node, where measured as fast or faster; docs/performance.md,
 * "Two nodes, round six").
 */
export type AppendReads = 'unlocked' | 'locked';

/** A batcher's counters, and `rereads`: batches read plainly that read again for member lists. */
export type AppendBatchStats = pipeline.BatchStats & { rereads: number };

/** Most appends in one transaction: bounds the statements' size and a batch's latency. */
const MAX_BATCH = 1000;

type Pending = BatchCall<NewMessage, AppendResult>;

const READ_SQL = `SELECT id, kind, last_seq, members_version FROM conversations
  WHERE id = ANY($1::text[])`;

// The locked path's lock alone: what the rows hold, READS_SQL reads after it, under it.
const LOCK_SQL = `SELECT id FROM conversations WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE`;

// Every lookup a LATERAL probe of its index, whatever the planner thinks of the tables' sizes (a
// hash join would read all of messages once per batch). LIMIT 1 keeps PostgreSQL from pulling a
// subquery up into a plain join, where it may pick that hash join again. Without `replies`
// (no message of the batch replies): no reply probe, and its parameter ($4) is not taken.
const checkSql = (replies: boolean) => `SELECT i.ord, m.read_seq, m.join_seq,
    e.conversation_id AS existing_conversation, e.seq AS existing_seq,
    ${replies ? 'r.seq IS NOT NULL' : 'false'} AS reply_found
  FROM unnest($1::text[], $2::text[], $3::text[]${replies ? ', $4::int[]' : ''})
    WITH ORDINALITY AS i(conv, sender, client${replies ? ', reply' : ''}, ord)
  LEFT JOIN LATERAL (
    SELECT read_seq, join_seq FROM members
    WHERE conversation_id = i.conv AND user_id = i.sender LIMIT 1) m ON true
  LEFT JOIN LATERAL (
    SELECT conversation_id, seq FROM messages
    WHERE sender_id = i.sender AND client_msg_id = i.client LIMIT 1) e ON true${
      replies
        ? `
  LEFT JOIN LATERAL (
    SELECT seq FROM messages WHERE conversation_id = i.conv AND seq = i.reply LIMIT 1) r ON true`
        : ''
    }
  ORDER BY i.ord`;

export const CHECK_SQL = checkSql(true);

// The members of the batch's direct conversations, their deletion and whether each blocks the
// other member: read once per conversation, not per message (a 1:1 batch holds both peers'
// messages); the node picks the sender's and the peer's rows (withPeer). A direct conversation
// has at most two members, so "blocks another member" is "blocks the peer".
const DIRECT_SQL = `SELECT pm.conversation_id, pm.user_id, u.deleted_at,
    EXISTS (SELECT 1 FROM members o
      JOIN blocks b ON b.blocker_id = pm.user_id AND b.blocked_id = o.user_id
      WHERE o.conversation_id = pm.conversation_id AND o.user_id <> pm.user_id) AS blocks_peer
  FROM conversations c
  JOIN members pm ON pm.conversation_id = c.id
  JOIN users u ON u.id = pm.user_id
  WHERE c.id = ANY($1::text[]) AND c.kind = 'direct'`;

/** What CHECK_SQL reads per message; withPeer adds the direct peer's facts. */
type CheckRow = Omit<AppendCheckRow, 'peer_exists' | 'peer_deleted_at' | 'blocked'>;

interface DirectMemberRow {
  conversation_id: string;
  user_id: string;
  deleted_at: number | null;
  blocks_peer: boolean;
}

/**
 * A message's check row completed with its direct peer's facts, as a probe per message read them
 * before: the peer is the member other than the sender (when the sender is a member), and a block
 * counts either way.
 */
function withPeer(
  row: CheckRow,
  message: NewMessage,
  direct: ReadonlyMap<string, DirectMemberRow[]>,
): AppendCheckRow {
  const checked = row as AppendCheckRow;
  const members = row.read_seq === null ? undefined : direct.get(message.conversationId);
  const peer = members?.find((m) => m.user_id !== message.senderId);
  checked.peer_exists = peer !== undefined;
  checked.peer_deleted_at = peer?.deleted_at ?? null;
  checked.blocked =
    peer !== undefined &&
    (peer.blocks_peer || members!.some((m) => m.user_id === message.senderId && m.blocks_peer));
  return checked;
}

const MEMBERS_SQL = `SELECT c.id, c.members_version,
    array_agg(m.user_id ORDER BY m.join_seq, m.joined_at, m.user_id) AS user_ids
  FROM conversations c
  CROSS JOIN LATERAL (SELECT user_id, join_seq, joined_at FROM members
    WHERE conversation_id = c.id OFFSET 0) m
  WHERE c.id = ANY (ARRAY(
    SELECT k.conv FROM unnest($1::text[], $2::int[], $3::bool[]) AS k(conv, known, mentions)
    JOIN LATERAL (SELECT members_version FROM conversations WHERE id = k.conv LIMIT 1) kc ON true
    WHERE k.known IS DISTINCT FROM kc.members_version OR k.mentions))
  GROUP BY c.id, c.members_version`;

/** `text` with every parameter `$n` renumbered `$to(n)`, to be one part of a larger statement. */
const renumbered = (text: string, to: (n: number) => number): string =>
  text.replace(/\$(\d+)/g, (_, n: string) => `$${to(Number(n))}`);

/**
 * The batch's reads as ONE statement (one snapshot, one answer): READ_SQL's conversations, the
 * CHECK_SQL row of each message, DIRECT_SQL's members and MEMBERS_SQL's lists, each as a JSON
 * array (PostgreSQL builds it; the node parses one value per part, not a row per item). Four
 * statements before: each costs the node and PostgreSQL a Bind, an Execute, a result to describe
 * and parse, and a wake-up, whatever its size. The check rows in the messages' order (`ord`).
 */
export const READS_SQL = `SELECT (SELECT json_agg(c) FROM (${READ_SQL}) c) AS seen,
    (SELECT json_agg(k ORDER BY k.ord) FROM (${renumbered(CHECK_SQL, (n) => n + 1)}) k) AS checks,
    (SELECT json_agg(d) FROM (${DIRECT_SQL}) d) AS direct,
    (SELECT json_agg(s) FROM (${renumbered(MEMBERS_SQL, (n) => (n === 1 ? 2 : n + 4))}) s) AS sets`;

/**
 * READS_SQL for the common batch (no reply, no mention): without the reply probe and the member
 * lists, whose plan nodes every batch paid to start and run empty (docs/performance.md, round
 * eleven). A member list is needed only where a message's members version is not the current
 * one (a node's first send to a conversation, or after a membership change): the batch then
 * reads again with READS_SQL, in one snapshot, and decides from that (`decide`).
 */
export const PLAIN_READS_SQL = `SELECT (SELECT json_agg(c) FROM (${READ_SQL}) c) AS seen,
    (SELECT json_agg(k ORDER BY k.ord) FROM (${renumbered(checkSql(false), (n) => n + 1)}) k)
      AS checks,
    (SELECT json_agg(d) FROM (${DIRECT_SQL}) d) AS direct,
    NULL::json AS sets`;

/** READS_SQL's one row; a part that found nothing is null. */
interface ReadsRow {
  seen: LockedConversation[] | null;
  checks: CheckRow[] | null;
  direct: DirectMemberRow[] | null;
  sets: { id: string; members_version: number; user_ids: string[] }[] | null;
}

// The files the batch's messages attach, locked after the conversations (as appendOne does) so
// that no other transaction attaches or removes one between this read and the write.
// A probe per id (as CHECK_SQL's), so that even a plan made for an empty table reads no other row.
const FILES_SQL = `SELECT f.* FROM unnest($1::text[]) AS k(id)
  JOIN LATERAL (SELECT * FROM files WHERE id = k.id LIMIT 1) f ON true
  ORDER BY f.id FOR UPDATE OF f`;

// Data-modifying CTEs all run, to completion, whether or not the final SELECT reads them. The
// sender rows (positions) and the others' rows (un-archived) are disjoint: one statement never
// updates a row twice. `shift`: per conversation whose members version is still the one the batch
// decided from, how many messages other transactions stored since the batch read its last seq
// (`delta`): the batch's seqs move up by it, and so do replies to the batch's own messages (past
// the seq it read, `seen`). `conversations_now` reads them under their locks, taken in an earlier
// statement of the transaction (READ COMMITTED gives this one a snapshot taken after the locks
// were granted): nothing changes before COMMIT. Every CTE writes for those conversations alone.
// (`= ANY`: an index probe per conversation; the join alone was planned as a scan of all
// conversations.)
const writeSql = (conversations: string) => `WITH ${conversations}, shift AS (
    SELECT c.id, c.last_seq - s.last_seq AS delta, s.last_seq AS seen FROM conversations_now c
    JOIN unnest($25::text[], $26::int[], $27::int[]) AS s(id, last_seq, version) ON c.id = s.id
    WHERE c.members_version = s.version
  ), inserted AS (
    INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id, body, created_at,
      reply_to_seq, mentions_json, search_vector, attachments_json)
    SELECT v.id, v.conv, v.seq + d.delta, v.sender, v.client, v.body, v.at,
      CASE WHEN v.reply > d.seen THEN v.reply + d.delta ELSE v.reply END,
      v.mentions, v.vector::tsvector, v.files
    FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[],
      $7::bigint[], $8::int[], $9::text[], $10::text[], $21::text[])
      AS v(id, conv, seq, sender, client, body, at, reply, mentions, vector, files)
    JOIN shift d ON d.id = v.conv
    RETURNING 1
  ), seqs AS (
    UPDATE conversations c
    SET last_seq = c.last_seq + v.n, last_activity_at = greatest(c.last_activity_at, v.at)
    FROM unnest($11::text[], $12::int[], $13::bigint[]) AS v(id, n, at)
    WHERE c.id = v.id AND v.id IN (SELECT id FROM shift)
  ), positions AS (
    UPDATE members m
    SET read_seq = v.seq + d.delta, delivered_seq = v.seq + d.delta,
      archived = CASE WHEN v.unarchive THEN 0 ELSE m.archived END
    FROM unnest($14::text[], $15::text[], $16::int[], $17::bool[]) AS v(conv, usr, seq, unarchive),
      shift d
    WHERE m.conversation_id = v.conv AND m.user_id = v.usr AND d.id = v.conv
  ), unarchived AS (
    UPDATE members m SET archived = 0
    WHERE m.archived = 1 AND m.conversation_id IN (SELECT id FROM shift)
      AND NOT EXISTS (SELECT 1 FROM unnest($14::text[], $15::text[]) AS s(conv, usr)
        WHERE s.conv = m.conversation_id AND s.usr = m.user_id)
  ), mentioned AS (
    INSERT INTO mentions (conversation_id, user_id, seq)
    SELECT v.conv, v.usr, v.seq + d.delta
    FROM unnest($18::text[], $19::text[], $20::bigint[]) AS v(conv, usr, seq)
    JOIN shift d ON d.id = v.conv
    ON CONFLICT DO NOTHING
  ), attached AS (
    UPDATE files f SET conversation_id = v.conv, seq = v.seq + d.delta
    FROM unnest($22::text[], $23::text[], $24::int[]) AS v(id, conv, seq), shift d
    WHERE f.id = v.id AND d.id = v.conv
  )
  SELECT (SELECT count(*)::int FROM inserted) AS inserted,
    (SELECT json_object_agg(id, delta) FROM shift) AS shifts`;

/** The write of a batch whose transaction locked its conversations in an earlier statement. */
const WRITE_SQL = writeSql(`conversations_now AS (
    SELECT id, last_seq, members_version FROM conversations WHERE id = ANY($25::text[]))`);

/**
 * Columns of BatchWrites as the arrays WRITE_SQL takes, in its parameter order; then the last
 * seq and members version each written conversation was decided from.
 */
function writeParameters(
  writes: BatchWrites,
  seen: ReadonlyMap<string, LockedConversation>,
): unknown[] {
  const m = writes.messages;
  const c = writes.conversations;
  const p = writes.positions;
  const n = writes.mentions;
  const f = writes.files;
  return [
    m.map((r) => r.id),
    m.map((r) => r.conversation_id),
    m.map((r) => r.seq),
    m.map((r) => r.sender_id),
    m.map((r) => r.client_msg_id),
    m.map((r) => r.body),
    m.map((r) => r.created_at),
    m.map((r) => r.reply_to_seq),
    m.map((r) => r.mentions_json),
    m.map((r) => searchVector(r.body)),
    c.map((r) => r.id),
    c.map((r) => r.count),
    c.map((r) => r.at),
    p.map((r) => r.conversationId),
    p.map((r) => r.userId),
    p.map((r) => r.seq),
    p.map((r) => r.unarchive),
    n.map((r) => r.conversationId),
    n.map((r) => r.userId),
    n.map((r) => r.seq),
    m.map((r) => r.attachments_json),
    f.map((r) => r.id),
    f.map((r) => r.conversationId),
    f.map((r) => r.seq),
    c.map((r) => r.id),
    c.map((r) => seen.get(r.id)!.last_seq),
    c.map((r) => seen.get(r.id)!.members_version),
  ];
}

/** Worth running the whole batch again: a deadlock, or a clientMsgId that committed meanwhile. */
const retryable = (error: unknown): boolean =>
  pipeline.isRetryableConflict(error) || violatedConstraint(error) === 'messages_client_msg_key';

/**
 * A message the batch stored, moved up by `delta` seqs (other transactions stored that many in
 * its conversation after the batch read `seen` as its last seq); a reply to a message of the
 * batch (past `seen`) moves with it.
 */
function shiftMessage(message: Message, delta: number, seen: number): void {
  message.seq += delta;
  if (message.replyToSeq !== null && message.replyToSeq > seen) message.replyToSeq += delta;
}

/**
 * Whether a batch read with PLAIN_READS_SQL lacks a member list it needs: a message whose members
 * version is not its conversation's current one gets the current list in its answer.
 */
function needsMemberSets(
  messages: readonly NewMessage[],
  seen: readonly LockedConversation[] | null,
): boolean {
  const versions = new Map((seen ?? []).map((c) => [c.id, c.members_version]));
  return messages.some((m) => {
    const version = versions.get(m.conversationId);
    return version !== undefined && m.knownMembersVersion !== version;
  });
}

/** A message of a conversation whose members changed between the batch's reads and its write. */
const STALE = { kind: 'stale' } as const;
type BatchOutcome = AppendOutcome | typeof STALE;

export class AppendBatcher {
  private readonly batcher: TickBatcher<NewMessage, AppendResult>;
  readonly stats: AppendBatchStats = { ...pipeline.newBatchStats(), rereads: 0 };

  constructor(private readonly deps: AppendBatcherDeps) {
    this.batcher = new TickBatcher((batch) => this.run(batch), MAX_BATCH, deps.commitDelayMs);
  }

  append(message: NewMessage): Promise<AppendResult> {
    const refused = refusedInput(message);
    if (refused) return Promise.reject(refused);
    return this.batcher.add(message);
  }

  private async run(batch: Pending[]): Promise<void> {
    const files = batch.some((pending) => (pending.item.attachments?.length ?? 0) > 0);
    const outcomes = await this.commit(batch, files ? 'locked' : this.deps.reads);
    if (!outcomes) return;
    const stale = batch.filter((_, i) => outcomes[i]!.kind === 'stale');
    this.stats.stale += new Set(stale.map((pending) => pending.item.conversationId)).size;
    const answers = this.settle(batch, outcomes, 'later');
    // Before any later batch: a sender's next message must not take an earlier seq.
    const again = stale.length > 0 ? await this.commit(stale, 'locked') : undefined;
    await Promise.all([answers, again && this.settle(stale, again, 'fail')]);
  }

  /** Commits a batch; undefined when its calls were settled already (commitOrEachAlone). */
  private commit(batch: Pending[], reads: AppendReads): Promise<BatchOutcome[] | undefined> {
    const messages = batch.map((pending) => pending.item);
    return pipeline.commitOrEachAlone(
      batch,
      this.stats,
      () => this.commitWithRetries(messages, reads),
      this.deps.appendOne,
    );
  }

  /**
   * Answers every call of a committed batch but the stale ones, decided again by `run`. (A batch
   * that read under its locks cannot meet a stale conversation; should it, the call fails.)
   */
  private async settle(
    batch: Pending[],
    outcomes: BatchOutcome[],
    stale: 'later' | 'fail',
  ): Promise<void> {
    const stored = outcomes.reduce((n, outcome) => n + (outcome.kind === 'created' ? 1 : 0), 0);
    if (stored > 0) this.deps.onStored?.(stored);
    await Promise.all(
      batch.map(async (pending, i) => {
        const outcome = outcomes[i]!;
        if (outcome.kind === 'stale' && stale === 'later') return;
        try {
          pending.resolve(await this.answer(outcome));
        } catch (error) {
          pending.reject(error);
        }
      }),
    );
  }

  private async answer(outcome: BatchOutcome): Promise<AppendResult> {
    if (outcome.kind === 'failed') throw outcome.error;
    if (outcome.kind === 'stale') throw new Error('A conversation changed under its lock.');
    if (outcome.kind === 'created') return outcome.result;
    // A committed message: reading it after the batch sees it (or its later edits).
    const [message] = await messagesBetween(this.deps.db, outcome.conversationId, outcome.seq);
    if (!message) throw new LetterError('not_found');
    return { message, created: false };
  }

  private commitWithRetries(messages: NewMessage[], reads: AppendReads): Promise<BatchOutcome[]> {
    return pipeline.withRetries(
      () =>
        (reads === 'locked' ? pipeline.pipelinedTransaction : pipeline.pipelinedWrites)(
          this.deps.pool,
          (client) => this.decide(client, messages, reads),
        ),
      retryable,
      () => this.stats.retries++,
    );
  }

  /** The batch's reads (after BEGIN, in the same pipeline), its decisions and its writes. */
  private async decide(
    client: pg.PoolClient,
    messages: NewMessage[],
    reads: AppendReads,
  ): Promise<pipeline.Decided<BatchOutcome[]>> {
    const fileIds = [...new Set(messages.flatMap((m) => m.attachments ?? []))].sort();
    const conversationIds = [...new Set(messages.map((m) => m.conversationId))].sort();
    const byMessage = <T>(pick: (m: NewMessage) => T): T[] => messages.map(pick);
    // Locked: the conversations' locks first; the reads, a later statement of the transaction,
    // then see what was committed before the locks were granted.
    const lock =
      reads === 'locked'
        ? client.query({ name: 'letter_append_lock', text: LOCK_SQL, values: [conversationIds] })
        : Promise.resolve(null);
    // PLAIN_READS_SQL's parameters; READS_SQL takes three more.
    const plainValues = [
      conversationIds,
      byMessage((m) => m.conversationId),
      byMessage((m) => m.senderId),
      byMessage((m) => m.clientMsgId),
    ];
    const fullReads = (): pg.QueryConfig => ({
      name: 'letter_append_reads',
      text: READS_SQL,
      values: [
        ...plainValues,
        byMessage((m) => m.replyToSeq),
        byMessage((m) => m.knownMembersVersion ?? null),
        byMessage((m) => (m.mentions?.length ?? 0) > 0),
      ],
    });
    const plain = messages.every((m) => m.replyToSeq === null && !m.mentions?.length);
    const [, read, files] = await pipeline.settled<
      [pg.QueryResult | null, pg.QueryResult<ReadsRow>, pg.QueryResult<FilesTable> | null]
    >([
      lock,
      client.query<ReadsRow>(
        plain
          ? { name: 'letter_append_plain_reads', text: PLAIN_READS_SQL, values: plainValues }
          : fullReads(),
      ),
      fileIds.length > 0 && reads === 'locked'
        ? client.query<FilesTable>({
            name: 'letter_append_files',
            text: FILES_SQL,
            values: [fileIds],
          })
        : Promise.resolve(null),
    ]);
    let row = read.rows[0]!;
    if (plain && needsMemberSets(messages, row.seen)) {
      // Rare: read everything again, member lists included, in one snapshot (under the locks
      // when the batch holds them), and decide from that alone.
      this.stats.rereads++;
      row = (await client.query<ReadsRow>(fullReads())).rows[0]!;
    }
    const memberSets = new Map<string, MemberSet>(
      (row.sets ?? []).map((set) => [
        set.id,
        { userIds: set.user_ids, version: set.members_version },
      ]),
    );
    const members = new Map<string, DirectMemberRow[]>();
    for (const member of row.direct ?? []) {
      const list = members.get(member.conversation_id);
      if (list) list.push(member);
      else members.set(member.conversation_id, [member]);
    }
    const conversations = new Map((row.seen ?? []).map((c) => [c.id, c]));
    const checks = row.checks ?? [];
    const plan = planBatch(
      messages,
      conversations,
      checks.map((check, i) => withPeer(check, messages[i]!, members)),
      memberSets,
      new Map(files?.rows.map((row) => [row.id, row])),
    );
    if (plan.writes.messages.length === 0) return pipeline.decided(plan.outcomes, null);
    const write = {
      name: 'letter_append_write',
      text: WRITE_SQL,
      values: writeParameters(plan.writes, conversations),
    };
    // Unlocked reads: the write's transaction takes the locks first, and the write checks what
    // they protect.
    const locks = {
      name: 'letter_append_lock',
      text: LOCK_SQL,
      values: [plan.writes.conversations.map((c) => c.id)],
    };
    return {
      writes: reads === 'locked' ? [write] : [locks, write],
      finish: (results) => {
        const row = results.at(-1)!.rows[0] as { shifts: Record<string, number> | null };
        const shifts = new Map(Object.entries(row.shifts ?? {}));
        for (const delta of shifts.values()) if (delta > 0) this.stats.shifted++;
        const written = new Set(plan.writes.conversations.map((c) => c.id));
        return plan.outcomes.map((outcome, i) => {
          const id = messages[i]!.conversationId;
          if (!written.has(id)) return outcome;
          const delta = shifts.get(id);
          if (delta === undefined) return STALE;
          if (outcome.kind === 'created' && delta > 0) {
            shiftMessage(outcome.result.message, delta, conversations.get(id)!.last_seq);
          }
          return outcome;
        });
      },
    };
  }
}

/** The statements a batch runs on the append pool, by name (their plans: pending-list.test.ts). */
export const APPEND_BATCH_SQL = {
  lock: LOCK_SQL,
  reads: READS_SQL,
  plainReads: PLAIN_READS_SQL,
  files: FILES_SQL,
  write: WRITE_SQL,
};
