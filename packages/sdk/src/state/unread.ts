/**
 * Unread counts, derived rather than incremented. The server's `unreadCount` is exact at the
 * positions it was computed at (the base); on top of it we count what we hold. Deriving makes
 * duplicates and out-of-order arrival harmless: a message counts once because it is held once,
 * and a gap still being filled only undercounts until the missing messages arrive.
 *
 * A message counts when it is above the read position and not the caller's own (the server
 * advances the sender's read position on send, so own messages are never unread).
 */
import type { Message } from '@letter/protocol';
import { lowerBound } from './timeline.js';
import type { UnreadBase } from './types.js';

export function countsAsUnread(message: Message, meId: string | null): boolean {
  return message.senderId !== meId;
}

/** Held messages with `after` < seq ≤ `upTo`: how many are held, and how many `counts`. */
function countHeld(
  messages: readonly Message[],
  after: number,
  upTo: number,
  counts: (message: Message) => boolean,
): { held: number; matched: number } {
  let held = 0;
  let matched = 0;
  for (let i = lowerBound(messages, after + 1); i < messages.length; i++) {
    const message = messages[i]!;
    if (message.seq > upTo) break;
    held++;
    if (counts(message)) matched++;
  }
  return { held, matched };
}

export function computeUnread(
  base: UnreadBase,
  readSeq: number,
  messages: readonly Message[],
  meId: string | null,
): number {
  const counts = (message: Message) => countsAsUnread(message, meId);
  const read = Math.max(readSeq, base.readSeq);
  let fromBase = base.unreadCount;
  if (read >= base.lastSeq) {
    fromBase = 0;
  } else if (read > base.readSeq) {
    // The server counted (base.readSeq, base.lastSeq]; (base.readSeq, read] is read now.
    const { held, matched } = countHeld(messages, base.readSeq, read, counts);
    // Seqs we do not hold are assumed to have counted: better to clear too much than too little.
    fromBase = Math.max(0, fromBase - matched - (read - base.readSeq - held));
  }
  const above = Math.max(base.lastSeq, read);
  return fromBase + countHeld(messages, above, Infinity, counts).matched;
}

export function mentionsMe(message: Message, meId: string | null): boolean {
  return meId !== null && message.senderId !== meId && (message.mentions?.includes(meId) ?? false);
}

/**
 * Unread mentions, derived the same way: the server's count at the base, minus the held mentions
 * read since, plus held mentions above the base. Seqs not held are assumed not to mention me
 * (most messages do not), and reading up to the base's last seq clears the base.
 */
export function computeUnreadMentions(
  base: UnreadBase,
  readSeq: number,
  messages: readonly Message[],
  meId: string | null,
): number {
  const counts = (message: Message) => mentionsMe(message, meId);
  const read = Math.max(readSeq, base.readSeq);
  let fromBase = base.unreadMentions ?? 0;
  if (read >= base.lastSeq) fromBase = 0;
  else if (fromBase > 0 && read > base.readSeq)
    fromBase = Math.max(0, fromBase - countHeld(messages, base.readSeq, read, counts).matched);
  const above = Math.max(base.lastSeq, read);
  return fromBase + countHeld(messages, above, Infinity, counts).matched;
}
