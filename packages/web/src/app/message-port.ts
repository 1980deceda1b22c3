/**
 * What the message-level UI (reply, edit, delete, reactions, message info) needs from a client.
 * Kept apart from port.ts like conversation-port.ts; `LetterPort` extends it and
 * `sdk-message-port.ts` implements it.
 */
import type { Receipt, User } from '@letter/protocol';

export interface MessagePort {
  editMessage(conversationId: string, seq: number, body: string): Promise<unknown>;
  /** Delete for everyone: own messages; group admins: anyone's. */
  deleteMessage(conversationId: string, seq: number): Promise<unknown>;
  /** My one reaction on a message (replacing any other); null removes it. */
  react(conversationId: string, seq: number, emoji: string | null): Promise<unknown>;
  /** Who received and read a message of mine, and when. */
  receipts(conversationId: string, seq: number): Promise<readonly Receipt[]>;
  /** Any user by id (cached), also people who left or deleted their account. */
  lookupUser(userId: string): Promise<User>;
}
