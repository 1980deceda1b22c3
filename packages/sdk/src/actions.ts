/**
 * What the client does besides messaging in order: message actions (edit, delete, reactions,
 * receipts), search, per-conversation settings, the account's data, and naming users by id.
 * `LetterClient` delegates here so client.ts stays about the connection and the timeline.
 */
import type {
  Contact,
  Conversation,
  ConversationSettingsBody,
  ExportDocument,
  Message,
  Receipt,
  SearchResult,
  User,
} from '@letter/protocol';
import type { LetterApi } from './api.js';
import type { Clock } from './clock.js';
import { findBySeq } from './state/timeline.js';
import type { ClientState, StateEvent } from './state/types.js';

export interface ActionDeps {
  api: LetterApi;
  clock: Clock;
  getState: () => ClientState;
  dispatch: (event: StateEvent) => void;
  /** Forget the session on this device (after the account was deleted). */
  signOut: () => Promise<void>;
}

export interface SearchOptions {
  conversationId?: string;
  limit?: number;
}

export class ClientActions {
  /** Users fetched by id; a promise so concurrent lookups share one request. */
  private readonly users = new Map<string, Promise<User>>();
  private readonly known = new Map<string, User>();

  constructor(private readonly deps: ActionDeps) {}

  async editMessage(conversationId: string, seq: number, body: string): Promise<Message> {
    const message = await this.deps.api.editMessage(conversationId, seq, body.trim());
    this.deps.dispatch({ type: 'message.updated', message });
    return message;
  }

  /**
   * Deletes for everyone. The held copy becomes a tombstone at once; the server's
   * `message.updated` brings the same tombstone to every device.
   */
  async deleteMessage(conversationId: string, seq: number): Promise<void> {
    await this.deps.api.deleteMessage(conversationId, seq);
    const held = findBySeq(this.deps.getState().timelines[conversationId]?.messages ?? [], seq);
    if (held && held.deletedAt === null) {
      const deletedAt = new Date(this.deps.clock.now()).toISOString();
      const tombstone: Message = { ...held, body: '', reactions: {}, deletedAt };
      this.deps.dispatch({ type: 'message.updated', message: tombstone });
    }
  }

  /** Sets my one reaction (replacing any other), or removes it with `null`. */
  async react(conversationId: string, seq: number, emoji: string | null): Promise<Message> {
    const message = emoji
      ? await this.deps.api.react(conversationId, seq, emoji)
      : await this.deps.api.unreact(conversationId, seq);
    this.deps.dispatch({ type: 'message.updated', message });
    return message;
  }

  receipts(conversationId: string, seq: number): Promise<Receipt[]> {
    return this.deps.api.receipts(conversationId, seq);
  }

  search(q: string, options: SearchOptions = {}): Promise<SearchResult[]> {
    return this.deps.api.search({ q, ...options });
  }

  /** Mute or archive for me only; the answer is applied at once (other tabs get an event). */
  async updateSettings(
    conversationId: string,
    settings: ConversationSettingsBody,
  ): Promise<Conversation> {
    const conversation = await this.deps.api.updateSettings(conversationId, settings);
    this.deps.dispatch({ type: 'conversation', conversation });
    return this.deps.getState().conversations[conversationId] ?? conversation;
  }

  /** Everything the server keeps about me, as one JSON document (`letter-export/1`). */
  exportMyData(): Promise<ExportDocument> {
    return this.deps.api.exportMe();
  }

  /** Deletes the account for good, then signs this device out. */
  async deleteAccount(password: string): Promise<void> {
    await this.deps.api.deleteMe(password);
    await this.deps.signOut();
  }

  /**
   * A user by id: from the state (members, contacts) when known, else `GET /api/users/:id`,
   * cached, so senders who left a group or deleted their account can still be named.
   */
  getUser(id: string): Promise<User> {
    const local = this.cachedUser(id);
    if (local) return Promise.resolve(local);
    let request = this.users.get(id);
    if (!request) {
      request = this.deps.api.user(id).then(
        (user) => {
          this.known.set(id, user);
          return user;
        },
        (error: unknown) => {
          this.users.delete(id);
          throw error;
        },
      );
      this.users.set(id, request);
    }
    return request;
  }

  /** A user this client already knows, without a request. */
  cachedUser(id: string): User | undefined {
    const state = this.deps.getState();
    if (state.me?.id === id) return state.me;
    for (const conversation of Object.values(state.conversations)) {
      const member = conversation.members.find((m) => m.user.id === id);
      if (member) return member.user;
    }
    return state.contacts?.find((c) => c.user.id === id)?.user ?? this.known.get(id);
  }

  async loadContacts(): Promise<readonly Contact[]> {
    const contacts = await this.deps.api.contacts();
    this.deps.dispatch({ type: 'contacts', contacts });
    return contacts;
  }

  async addContact(username: string): Promise<Contact> {
    const contact = await this.deps.api.addContact(username);
    const current = this.deps.getState().contacts ?? [];
    const contacts = [...current.filter((c) => c.user.id !== contact.user.id), contact];
    this.deps.dispatch({ type: 'contacts', contacts });
    return contact;
  }

  async removeContact(userId: string): Promise<void> {
    await this.deps.api.removeContact(userId);
    const current = this.deps.getState().contacts ?? [];
    const contacts = current.filter((c) => c.user.id !== userId);
    this.deps.dispatch({ type: 'contacts', contacts });
  }

  /** Signed out or another user: forget fetched names. */
  reset(): void {
    this.users.clear();
    this.known.clear();
  }
}
