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

export function computeUnread(
  base: UnreadBase,
  readSeq: number,
  messages: readonly Message[],
  meId: string | null,
): number {
  const read = Math.max(readSeq, base.readSeq);
  let fromBase = base.unreadCount;
  if (read >= base.lastSeq) {
    fromBase = 0;
  } else if (read > base.readSeq) {
    // The server counted (base.readSeq, base.lastSeq]; (base.readSeq, read] is read now.
    const start = lowerBound(messages, base.readSeq + 1);
    let held = 0;
    let others = 0;
    for (let i = start; i < messages.length && messages[i]!.seq <= read; i++) {
      held++;
      if (countsAsUnread(messages[i]!, meId)) others++;
    }
    // Seqs we do not hold are assumed to have counted: better to clear too much than too little.
    fromBase = Math.max(0, fromBase - others - (read - base.readSeq - held));
  }
  const above = Math.max(base.lastSeq, read);
  let fresh = 0;
  for (let i = messages.length - 1; i >= 0 && messages[i]!.seq > above; i--) {
    if (countsAsUnread(messages[i]!, meId)) fresh++;
  }
  return fromBase + fresh;
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
  const read = Math.max(readSeq, base.readSeq);
  let fromBase = base.unreadMentions ?? 0;
  if (read >= base.lastSeq) fromBase = 0;
  else if (fromBase > 0 && read > base.readSeq) {
    const start = lowerBound(messages, base.readSeq + 1);
    for (let i = start; i < messages.length && messages[i]!.seq <= read; i++) {
      if (mentionsMe(messages[i]!, meId)) fromBase--;
    }
    fromBase = Math.max(0, fromBase);
  }
  const above = Math.max(base.lastSeq, read);
  let fresh = 0;
  for (let i = messages.length - 1; i >= 0 && messages[i]!.seq > above; i--) {
    if (mentionsMe(messages[i]!, meId)) fresh++;
  }
  return fromBase + fresh;
}
