/** Pure operations on one conversation's timeline: merge by seq, drop duplicates, move the cursor. */
import type { Message } from '@letter/protocol';
import type { OutboxEntry } from '../outbox/storage.js';
import type { PendingMessage, Timeline } from './types.js';

export function emptyTimeline(cursor: number): Timeline {
  return { messages: [], cursor };
}

/** Index of the first message with seq >= `seq` (binary search). */
export function lowerBound(messages: readonly Message[], seq: number): number {
  let lo = 0;
  let hi = messages.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (messages[mid]!.seq < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function findBySeq(messages: readonly Message[], seq: number): Message | undefined {
  const message = messages[lowerBound(messages, seq)];
  return message?.seq === seq ? message : undefined;
}

/** True when older history exists that is not loaded. */
export function hasOlder(timeline: Timeline): boolean {
  return (timeline.messages[0]?.seq ?? timeline.cursor + 1) > (timeline.firstSeq ?? 1);
}

/** The seq below which `loadOlder` pages. */
export function oldestSeq(timeline: Timeline): number {
  return timeline.messages[0]?.seq ?? timeline.cursor + 1;
}

/**
 * Adds new messages. Duplicates (same seq) keep the copy already held: at-least-once delivery
 * resends the same message. A message that would sit below the held window with a hole in
 * between is dropped: held messages stay contiguous, so paging older history never skips any.
 */
export function addMessages(timeline: Timeline, incoming: readonly Message[]): Timeline {
  if (incoming.length === 0) return timeline;
  const sorted = [...incoming].sort((a, b) => b.seq - a.seq);
  let floor = oldestSeq(timeline);
  const accepted: Message[] = [];
  for (const message of sorted) {
    if (message.seq < floor - 1) continue;
    floor = Math.min(floor, message.seq);
    if (!findBySeq(timeline.messages, message.seq) && accepted.at(-1)?.seq !== message.seq) {
      accepted.push(message);
    }
  }
  if (accepted.length === 0) return timeline;
  accepted.reverse();
  const messages = merge(timeline.messages, accepted);
  return { ...timeline, messages, cursor: advanceCursor(messages, timeline.cursor) };
}

/** Replaces held copies (edit, delete, reaction); messages not held are not added. */
export function updateMessage(timeline: Timeline, message: Message): Timeline {
  const index = lowerBound(timeline.messages, message.seq);
  if (timeline.messages[index]?.seq !== message.seq) return timeline;
  const messages = timeline.messages.slice();
  messages[index] = message;
  return { ...timeline, messages };
}

function merge(held: readonly Message[], added: readonly Message[]): Message[] {
  // Fast path: live messages almost always go at the end.
  if (held.length === 0 || added[0]!.seq > held.at(-1)!.seq) return [...held, ...added];
  const out: Message[] = [];
  let i = 0;
  let j = 0;
  while (i < held.length || j < added.length) {
    if (j >= added.length || (i < held.length && held[i]!.seq < added[j]!.seq))
      out.push(held[i++]!);
    else out.push(added[j++]!);
  }
  return out;
}

function advanceCursor(messages: readonly Message[], cursor: number): number {
  let index = lowerBound(messages, cursor + 1);
  let next = cursor;
  while (messages[index]?.seq === next + 1) {
    next++;
    index++;
  }
  return next;
}

/** Drops the local echoes these messages acknowledge (same sender and clientMsgId). */
export function withoutAcknowledged(
  pending: readonly PendingMessage[],
  incoming: readonly Message[],
): readonly PendingMessage[] {
  if (pending.length === 0) return pending;
  const acked = new Set<string>();
  for (const m of incoming)
    if (m.clientMsgId !== null) acked.add(`${m.senderId}\u0000${m.clientMsgId}`);
  const kept = pending.filter((p) => !acked.has(`${p.senderId}\u0000${p.clientMsgId}`));
  return kept.length === pending.length ? pending : kept;
}

export function upsertPending(
  list: readonly PendingMessage[],
  pending: PendingMessage,
): readonly PendingMessage[] {
  const index = list.findIndex((p) => p.clientMsgId === pending.clientMsgId);
  const next = list.slice();
  if (index === -1) next.push(pending);
  else next[index] = pending;
  return next;
}

/**
 * The state's view of an outbox entry: a local echo. `uploadedBytes` (by file localId, from the
 * outbox) says how far each file's upload got.
 */
export function toPending(
  entry: OutboxEntry,
  uploadedBytes: Readonly<Record<string, number>> = {},
): PendingMessage {
  const attachments = entry.files?.map((file) => ({
    localId: file.localId,
    name: file.name,
    size: file.size,
    mime: file.mime,
    blob: file.blob,
    uploadedBytes: file.uploaded ? file.size : (uploadedBytes[file.localId] ?? 0),
    uploaded: file.uploaded !== null,
  }));
  return {
    ...(attachments ? { attachments } : {}),
    clientMsgId: entry.clientMsgId,
    conversationId: entry.conversationId,
    senderId: entry.userId,
    body: entry.body,
    replyToSeq: entry.replyToSeq,
    createdAt: entry.createdAt,
    status: entry.status,
    error: entry.error,
  };
}
