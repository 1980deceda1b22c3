/**
 * Everything the app needs from a Letter client, in the app's own terms. The screens depend on
 * this port only; `sdk-port.ts` implements it over the sdk, and tests can hand in a fake.
 */
import type { Contact, Conversation, User } from '@letter/protocol';
import type { ChatMessage, ConnectionStatus, Presence } from './model';
import type { ConversationPort } from './conversation-port';
import type { MessagePort } from './message-port';
import type { PushPort } from './push-port';

export type AuthStatus = 'unknown' | 'signedIn' | 'signedOut';

export interface Thread {
  /** Ascending by seq, then the outbox. */
  messages: readonly ChatMessage[];
  hasMore: boolean;
  loadingOlder: boolean;
}

export interface AppSnapshot {
  auth: { status: AuthStatus; user: User | null };
  connection: ConnectionStatus;
  /** Latest activity first. */
  conversations: readonly Conversation[];
  contacts: readonly Contact[];
  presence: Readonly<Record<string, Presence>>;
  /** User ids typing now, by conversation id. */
  typing: Readonly<Record<string, readonly string[]>>;
  threads: Readonly<Record<string, Thread>>;
}

export interface LetterPort extends ConversationPort, MessagePort, PushPort {
  subscribe(listener: () => void): () => void;
  /** The same object until something changes, as useSyncExternalStore requires. */
  getSnapshot(): AppSnapshot;

  resume(): Promise<unknown>;
  login(username: string, password: string): Promise<unknown>;
  register(username: string, password: string, displayName: string): Promise<unknown>;
  logout(): Promise<void>;

  searchUsers(prefix: string): Promise<readonly User[]>;
  addContact(username: string): Promise<unknown>;
  /** The direct conversation with a user, created when missing. */
  openDirect(userId: string): Promise<Conversation>;
  createGroup(title: string, memberIds: string[]): Promise<Conversation>;

  /** Makes sure the latest page of a conversation is loaded (idempotent). */
  openThread(conversationId: string): void;
  loadOlder(conversationId: string): void;
  /** `replyToSeq`: the message this one answers; `files` upload first, then go with it. */
  send(
    conversationId: string,
    body: string,
    replyToSeq?: number | null,
    files?: readonly File[],
  ): void;
  retry(conversationId: string, key: string): void;
  /** Drops an unsent message (cancels its upload). */
  discard(conversationId: string, key: string): void;
  typing(conversationId: string): void;
  markRead(conversationId: string, seq: number): void;
}
