/**
 * What the screens draw. Components take these plain shapes as props, so they render and test
 * without a client; `app/adapt.ts` builds them from the sdk's state.
 */
import type { Member, SystemEvent, User } from '@letter/protocol';

/** A message as the list draws it: a stored message, or one of ours still in the outbox. */
export interface ChatMessage {
  /** Stable across the pending → stored swap (the clientMsgId when we sent it), so React keeps the node. */
  key: string;
  /** null while the message waits in the outbox. */
  seq: number | null;
  senderId: string | null;
  body: string;
  createdAt: string;
  editedAt: string | null;
  deletedAt: string | null;
  system?: SystemEvent | undefined;
  /** The seq this message answers (a quoted preview above the text). */
  replyToSeq?: number | null | undefined;
  /** emoji → user ids, in reaction order (one reaction per person). */
  reactions?: Readonly<Record<string, readonly string[]>> | undefined;
  /** The members the message mentions (user ids; groups, resolved by the server at send). */
  mentions?: readonly string[] | undefined;
  /** Set while the message is not yet acknowledged by the server. */
  outbox?: 'sending' | 'failed' | undefined;
  /** Why a failed message failed (an error code), e.g. `payload_too_large` for a big file. */
  error?: string | null | undefined;
  /** Photos, files, voice notes (app/attachments.ts). */
  attachments?: readonly ChatAttachment[] | undefined;
}

export type { ChatAttachment } from './attachments';
import type { ChatAttachment } from './attachments';

/** The sdk's own shapes, re-exported: components name them from here and import no sdk. */
export type { ConnectionStatus, Presence } from '@letter/sdk';

export type Tick = 'pending' | 'failed' | 'sent' | 'delivered' | 'read';

/**
 * The tick on one of my messages. A message is delivered (or read) once every other member has
 * received (or read) it, the way WhatsApp treats groups.
 */
export function tickOf(message: ChatMessage, members: readonly Member[], meId: string): Tick {
  if (message.outbox === 'failed') return 'failed';
  if (message.outbox === 'sending' || message.seq === null) return 'pending';
  const others = members.filter((m) => m.user.id !== meId);
  if (others.length === 0) return 'sent';
  const seq = message.seq;
  if (others.every((m) => m.readSeq >= seq)) return 'read';
  if (others.every((m) => Math.max(m.deliveredSeq, m.readSeq) >= seq)) return 'delivered';
  return 'sent';
}

/** The other person in a direct conversation. */
export function peerOf(members: readonly Member[], meId: string): User | undefined {
  return members.find((m) => m.user.id !== meId)?.user;
}

/** A one-line description of a system message (group created, member added, …). */
export function describeSystem(
  event: SystemEvent,
  nameOf: (userId: string) => string,
  meId: string,
): string {
  const who = (id: string | null) => (id === null ? 'Someone' : id === meId ? 'You' : nameOf(id));
  const whom = event.userIds.map((id) => (id === meId ? 'you' : nameOf(id))).join(', ');
  const actor = who(event.actorId);
  switch (event.kind) {
    case 'created':
      return `${actor} created the group${event.title ? ` "${event.title}"` : ''}`;
    case 'added':
      return `${actor} added ${whom}`;
    case 'removed':
      return `${actor} removed ${whom}`;
    case 'left':
      return `${whom ? capitalize(whom) : actor} left`;
    case 'renamed':
      return `${actor} renamed the group${event.title ? ` to "${event.title}"` : ''}`;
    case 'promoted':
      // actorId null: the automatic hand-over when the last admin left.
      if (event.actorId === null)
        return `${capitalize(whom)} ${whom === 'you' ? 'are' : 'is'} now an admin`;
      return `${actor} made ${whom} an admin`;
    case 'demoted':
      return `${actor} removed ${whom} as admin`;
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The first line of a message, for reply quotes. */
export function firstLine(body: string, max = 80): string {
  const line = body.split('\n', 1)[0]!.trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
