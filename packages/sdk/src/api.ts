/**
 * Typed methods for every authenticated REST route of the contract. Each call takes a fresh
 * access token from the `TokenSource`; on a 401 it asks for a renewal once (coalesced by
 * auth.ts, since refresh tokens rotate) and retries once. Auth routes themselves live in auth.ts.
 */
import type {
  Contact,
  Conversation,
  ConversationSettingsBody,
  ConversationsResponse,
  CreateConversationBody,
  ExportDocument,
  HistoryQuery,
  MembersResponse,
  Message,
  Receipt,
  Role,
  SearchResult,
  User,
} from '@letter/protocol';
import { LetterError } from './errors.js';
import type { HttpRequest, HttpTransport } from './http.js';

export interface TokenSource {
  /** A usable access token (refreshed first when about to expire); null when signed out. */
  accessToken(): Promise<string | null>;
  /** After `rejected` got a 401: a renewed token (one refresh for many callers) or null. */
  renewAfterRejection(rejected: string): Promise<string | null>;
}

export type { SearchResult };

export type HistoryPageQuery = Partial<HistoryQuery>;

// A type, not an interface: it must fit HttpRequest's index-signature `query`.
export type ConversationsPageQuery = { limit?: number; cursor?: string };

/** What `PushSubscription.toJSON()` gives, as `POST /api/push/subscriptions` takes it. */
export interface PushSubscriptionBody {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

export interface PushSettings {
  preview: boolean;
}

export interface HistoryPage {
  messages: Message[];
  hasMore: boolean;
}

export class LetterApi {
  constructor(
    private readonly http: HttpTransport,
    private readonly tokens: TokenSource,
  ) {}

  /** Any authenticated request; public so the app can reach a route this class lacks. */
  async request<T>(request: Omit<HttpRequest, 'token'>): Promise<T> {
    const token = await this.tokens.accessToken();
    if (!token) throw new LetterError('unauthorized', 'not signed in');
    try {
      return await this.http.request<T>({ ...request, token });
    } catch (error) {
      if (!(error instanceof LetterError) || error.code !== 'unauthorized') throw error;
      const renewed = await this.tokens.renewAfterRejection(token);
      if (!renewed) throw error;
      return this.http.request<T>({ ...request, token: renewed });
    }
  }

  // Me
  async me(): Promise<User> {
    return (await this.request<{ user: User }>({ method: 'GET', path: '/api/me' })).user;
  }
  async updateMe(body: { displayName: string }): Promise<User> {
    return (await this.request<{ user: User }>({ method: 'PATCH', path: '/api/me', body })).user;
  }
  async changePassword(currentPassword: string, newPassword: string): Promise<void> {
    await this.request({
      method: 'POST',
      path: '/api/me/password',
      body: { currentPassword, newPassword },
    });
  }
  exportMe(): Promise<ExportDocument> {
    return this.request<ExportDocument>({ method: 'GET', path: '/api/me/export' });
  }
  async deleteMe(password: string): Promise<void> {
    await this.request({ method: 'DELETE', path: '/api/me', body: { password } });
  }
  async searchUsers(query: string): Promise<User[]> {
    const res = await this.request<{ users: User[] }>({
      method: 'GET',
      path: '/api/users',
      query: { query },
    });
    return res.users;
  }

  /** Any user by id, also one who left or deleted the account (`"Deleted account"`). */
  async user(id: string): Promise<User> {
    return (await this.request<{ user: User }>({ method: 'GET', path: `/api/users/${enc(id)}` }))
      .user;
  }

  // Contacts and blocks
  async contacts(): Promise<Contact[]> {
    return (await this.request<{ contacts: Contact[] }>({ method: 'GET', path: '/api/contacts' }))
      .contacts;
  }
  async addContact(username: string): Promise<Contact> {
    const res = await this.request<{ contact: Contact }>({
      method: 'POST',
      path: '/api/contacts',
      body: { username },
    });
    return res.contact;
  }
  async removeContact(userId: string): Promise<void> {
    await this.request({ method: 'DELETE', path: `/api/contacts/${enc(userId)}` });
  }
  async blocks(): Promise<User[]> {
    return (await this.request<{ users: User[] }>({ method: 'GET', path: '/api/blocks' })).users;
  }
  async block(userId: string): Promise<void> {
    await this.request({ method: 'POST', path: '/api/blocks', body: { userId } });
  }
  async unblock(userId: string): Promise<void> {
    await this.request({ method: 'DELETE', path: `/api/blocks/${enc(userId)}` });
  }

  // Conversations
  /** One page, latest activity first; pass `nextCursor` back as `cursor` for the next one. */
  conversationsPage(query: ConversationsPageQuery = {}): Promise<ConversationsResponse> {
    return this.request<ConversationsResponse>({
      method: 'GET',
      path: '/api/conversations',
      query,
    });
  }
  /**
   * Every conversation, latest activity first, following the server's pages. One whose activity
   * moves it ahead of the cursor while later pages are read is on none of them; it is then at
   * the front, so the first page is read once more at the end and merged. (Should more than a
   * page of conversations move meanwhile, `sync` names the rest.)
   */
  async conversations(): Promise<Conversation[]> {
    const byId = new Map<string, Conversation>();
    let page = await this.conversationsPage();
    for (const c of page.conversations) byId.set(c.id, c);
    if (!page.nextCursor) return page.conversations;
    while (page.nextCursor) {
      page = await this.conversationsPage({ cursor: page.nextCursor });
      for (const c of page.conversations) byId.set(c.id, c);
    }
    // The fresh first page is the newest state of what it holds.
    for (const c of (await this.conversationsPage()).conversations) byId.set(c.id, c);
    return [...byId.values()].sort(
      (a, b) =>
        Date.parse(b.lastActivityAt) - Date.parse(a.lastActivityAt) ||
        (a.id < b.id ? 1 : a.id > b.id ? -1 : 0),
    );
  }
  async conversation(id: string): Promise<Conversation> {
    return this.unwrapConversation({ method: 'GET', path: `/api/conversations/${enc(id)}` });
  }
  /** Direct: 201 new or 200 the pair's existing one; group: the caller becomes admin. */
  createConversation(body: CreateConversationBody): Promise<Conversation> {
    return this.unwrapConversation({ method: 'POST', path: '/api/conversations', body });
  }
  renameConversation(id: string, title: string): Promise<Conversation> {
    return this.unwrapConversation({
      method: 'PATCH',
      path: `/api/conversations/${enc(id)}`,
      body: { title },
    });
  }
  /** Every member in join order (list entries carry only a preview of them). */
  members(id: string): Promise<MembersResponse> {
    return this.request<MembersResponse>({
      method: 'GET',
      path: `/api/conversations/${enc(id)}/members`,
    });
  }
  addMembers(id: string, userIds: string[]): Promise<Conversation> {
    return this.unwrapConversation({
      method: 'POST',
      path: `/api/conversations/${enc(id)}/members`,
      body: { userIds },
    });
  }
  /** Admins remove anyone; any member may pass their own id to leave. */
  async removeMember(id: string, userId: string): Promise<void> {
    await this.request({
      method: 'DELETE',
      path: `/api/conversations/${enc(id)}/members/${enc(userId)}`,
    });
  }
  setMemberRole(id: string, userId: string, role: Role): Promise<Conversation> {
    return this.unwrapConversation({
      method: 'PATCH',
      path: `/api/conversations/${enc(id)}/members/${enc(userId)}`,
      body: { role },
    });
  }

  /** The caller's own flags; at least one field. */
  updateSettings(id: string, settings: ConversationSettingsBody): Promise<Conversation> {
    return this.unwrapConversation({
      method: 'PATCH',
      path: `/api/conversations/${enc(id)}/settings`,
      body: settings,
    });
  }

  // Messages
  history(id: string, query: HistoryPageQuery = {}): Promise<HistoryPage> {
    return this.request<HistoryPage>({
      method: 'GET',
      path: `/api/conversations/${enc(id)}/messages`,
      query: { before: query.before, after: query.after, limit: query.limit },
    });
  }
  /** The REST twin of the `send` frame; idempotent on clientMsgId. */
  async sendMessage(
    id: string,
    body: { clientMsgId: string; body: string; replyToSeq?: number; attachments?: string[] },
  ): Promise<Message> {
    return this.unwrapMessage({
      method: 'POST',
      path: `/api/conversations/${enc(id)}/messages`,
      body,
    });
  }
  async markRead(id: string, seq: number): Promise<void> {
    await this.request({
      method: 'POST',
      path: `/api/conversations/${enc(id)}/read`,
      body: { seq },
    });
  }
  editMessage(id: string, seq: number, body: string): Promise<Message> {
    return this.unwrapMessage({
      method: 'PATCH',
      path: `/api/conversations/${enc(id)}/messages/${seq}`,
      body: { body },
    });
  }
  async deleteMessage(id: string, seq: number): Promise<void> {
    await this.request({ method: 'DELETE', path: `/api/conversations/${enc(id)}/messages/${seq}` });
  }
  react(id: string, seq: number, emoji: string): Promise<Message> {
    return this.unwrapMessage({
      method: 'PUT',
      path: `/api/conversations/${enc(id)}/messages/${seq}/reactions`,
      body: { emoji },
    });
  }
  unreact(id: string, seq: number): Promise<Message> {
    return this.unwrapMessage({
      method: 'DELETE',
      path: `/api/conversations/${enc(id)}/messages/${seq}/reactions`,
    });
  }
  async receipts(id: string, seq: number): Promise<Receipt[]> {
    const res = await this.request<{ receipts: Receipt[] }>({
      method: 'GET',
      path: `/api/conversations/${enc(id)}/messages/${seq}/receipts`,
    });
    return res.receipts;
  }
  async search(query: {
    q: string;
    conversationId?: string;
    limit?: number;
  }): Promise<SearchResult[]> {
    const res = await this.request<{ results: SearchResult[] }>({
      method: 'GET',
      path: '/api/search',
      query: { q: query.q, conversationId: query.conversationId, limit: query.limit },
    });
    return res.results;
  }

  /** The server's VAPID public key (base64url): what `pushManager.subscribe` needs. */
  async pushKey(): Promise<string> {
    return (await this.request<{ publicKey: string }>({ method: 'GET', path: '/api/push/key' }))
      .publicKey;
  }
  /** Registers this browser's push subscription for the calling session. */
  async addPushSubscription(subscription: PushSubscriptionBody): Promise<void> {
    await this.request({ method: 'POST', path: '/api/push/subscriptions', body: subscription });
  }
  async removePushSubscription(endpoint: string): Promise<void> {
    await this.request({ method: 'DELETE', path: '/api/push/subscriptions', body: { endpoint } });
  }
  /** `preview`: whether pushes carry the message text (per user, default on). */
  async pushSettings(): Promise<PushSettings> {
    return (
      await this.request<{ settings: PushSettings }>({ method: 'GET', path: '/api/push/settings' })
    ).settings;
  }
  async updatePushSettings(settings: PushSettings): Promise<PushSettings> {
    return (
      await this.request<{ settings: PushSettings }>({
        method: 'PATCH',
        path: '/api/push/settings',
        body: settings,
      })
    ).settings;
  }

  private async unwrapConversation(request: Omit<HttpRequest, 'token'>): Promise<Conversation> {
    return (await this.request<{ conversation: Conversation }>(request)).conversation;
  }
  private async unwrapMessage(request: Omit<HttpRequest, 'token'>): Promise<Message> {
    return (await this.request<{ message: Message }>(request)).message;
  }
}

const enc = encodeURIComponent;
