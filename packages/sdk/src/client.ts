/**
 * `LetterClient`: the one client of the contract. It composes the pieces — REST (`api`), the
 * session (`auth`), the WebSocket (`connection`), the outbox, catching up (`sync.ts`) and the
 * state store — and is what the web app talks to. See README.md for the guided tour.
 */
import { limits } from '@letter/protocol';
import type {
  Contact,
  Conversation,
  ConversationSettingsBody,
  ExportDocument,
  Message,
  Receipt,
  RegisterBody,
  Role,
  SearchResult,
  SyncResult,
  User,
} from '@letter/protocol';
import { ClientActions } from './actions.js';
import type { SearchOptions } from './actions.js';
import { LetterApi } from './api.js';
import { AuthSession } from './auth.js';
import type { AuthMode, RefreshLock, RefreshTokenStore } from './auth.js';
import type { BackoffOptions } from './backoff.js';
import { makeIdFactory, systemClock, systemRandom } from './clock.js';
import type { Clock, Random } from './clock.js';
import { Connection } from './connection.js';
import type { ConnectionStatus, ConnectionTimings } from './connection.js';
import { Emitter } from './emitter.js';
import { LetterError, NetworkError } from './errors.js';
import { HttpTransport } from './http.js';
import type { FetchLike } from './http.js';
import { LiveEvents } from './live.js';
import { MemoryOutboxStorage } from './outbox/memory.js';
import { Outbox } from './outbox/outbox.js';
import type { OutboxEntry, OutboxStorage } from './outbox/storage.js';
import { globalNetworkTarget, watchNetwork } from './network.js';
import type { NetworkTarget } from './network.js';
import { PositionReporter } from './positions.js';
import { globalWebSocket, webSocketUrl } from './socket.js';
import type { WebSocketConstructor } from './socket.js';
import { toPending } from './state/timeline.js';
import type { ClientState, PendingMessage } from './state/types.js';
import { SavedStateKeeper } from './saved-state.js';
import type { SavedStateStorage } from './saved-state.js';
import { StateStore } from './state-store.js';
import { Catchup } from './sync.js';
import { TypingExpiry } from './typing.js';
import { Uploader, fileNameOf } from './uploads.js';
import type { UploadOptions, UploadedFile, XhrConstructor } from './uploads.js';

export interface LetterClientOptions {
  /** The server's origin (and prefix), e.g. `https://chat.example.com`; '' = this page's origin. */
  baseUrl?: string;
  /** Defaults to `baseUrl` with ws(s): and `/ws`. */
  wsUrl?: string;
  fetch?: FetchLike;
  /** Uploads with progress; defaults to the global one (browsers). `null` or none: `fetch`. */
  XMLHttpRequest?: XhrConstructor | null;
  /** Defaults to the global WebSocket (browsers); in Node pass `ws`'s `WebSocket`. */
  WebSocket?: WebSocketConstructor;
  /** `cookie` in browsers (the refresh token stays in an HttpOnly cookie), `token` elsewhere. */
  authMode?: AuthMode;
  /** Token mode: where the refresh token lives between runs (default: memory). */
  refreshTokenStore?: RefreshTokenStore;
  refreshLock?: RefreshLock;
  /** `include` when the API is on another origin in cookie mode. */
  credentials?: RequestCredentials;
  /** Default: memory. Browsers: `new IndexedDbOutboxStorage()`. */
  outboxStorage?: OutboxStorage;
  /**
   * Where the last synced chat list is kept (browsers: `new IndexedDbSavedStateStorage()`), so
   * `resume()` without a network shows it, read-only, until the connection is back. Default: none.
   */
  savedStateStorage?: SavedStateStorage;
  clock?: Clock;
  random?: Random;
  /** Makes clientMsgIds. */
  newId?: () => string;
  backoff?: BackoffOptions;
  timings?: Partial<ConnectionTimings> & { syncTimeoutMs?: number; gapCheckDelayMs?: number };
  /**
   * Follow the browser's `offline`/`online` events (default true): drop the socket at once when
   * the network goes, reconnect and sync at once when it is back.
   */
  watchNetwork?: boolean;
  /** Where those events come from (default: `window`); tests pass an EventTarget. */
  networkTarget?: NetworkTarget;
}

export interface ClientEvents {
  /** A new message from someone else (notifications, sounds); not replays of old ones. */
  message: { message: Message; conversation: Conversation };
  connection: ConnectionStatus;
  /** The session ended without the user signing out: show the sign-in screen. */
  sessionExpired: LetterError;
  /** Something failed in the background (sync, storage, a malformed frame); the client goes on. */
  error: { context: string; error: unknown };
}

export interface SendOptions {
  replyToSeq?: number | null;
  /** Uploaded file ids (`POST /api/files`), at most limits.maxAttachments; the body may then be empty. */
  attachments?: string[];
  /**
   * Files to upload first, in order with the outbox, then attach after `attachments` (at most
   * limits.maxAttachments in all); a File keeps its name, a Blob is `file`.
   */
  files?: readonly Blob[];
}

export class LetterClient {
  readonly api: LetterApi;
  readonly auth: AuthSession;
  readonly connection: Connection;
  readonly events = new Emitter<ClientEvents>();
  /** For `useSyncExternalStore(client.subscribe, client.getSnapshot)`. */
  readonly subscribe: (listener: () => void) => () => void;
  readonly getSnapshot: () => ClientState;

  private readonly store = new StateStore();
  private readonly clock: Clock;
  private readonly outbox: Outbox;
  private readonly positions: PositionReporter;
  private readonly catchup: Catchup;
  /** The socket's side: resume after `ready`, pushed frames, gap fills (live.ts). */
  private readonly live: LiveEvents;
  private readonly typingSent = new Map<string, number>();
  private unwatchNetwork: (() => void) | null = null;
  private readonly saved: SavedStateKeeper | null;
  /** The socket was dropped because the network went away: reconnect when it is back. */
  private droppedForNetwork = false;
  private readonly actions: ClientActions;
  private readonly typingExpiry: TypingExpiry;
  private readonly uploader: Uploader;

  constructor(options: LetterClientOptions = {}) {
    const clock = (this.clock = options.clock ?? systemClock);
    const random = options.random ?? systemRandom;
    const baseUrl = options.baseUrl ?? '';
    const fetchImpl = options.fetch ?? ((url, init) => globalThis.fetch(url, init));
    const http = new HttpTransport({
      baseUrl,
      fetch: fetchImpl,
      credentials: options.credentials ?? 'same-origin',
      now: () => clock.now(),
    });
    const isBrowser = typeof (globalThis as { document?: unknown }).document !== 'undefined';
    this.auth = new AuthSession({
      http,
      clock,
      random,
      mode: options.authMode ?? (isBrowser ? 'cookie' : 'token'),
      ...(options.refreshTokenStore ? { refreshTokenStore: options.refreshTokenStore } : {}),
      ...(options.refreshLock ? { lock: options.refreshLock } : {}),
    });
    this.api = new LetterApi(http, this.auth);
    this.uploader = new Uploader({
      http,
      tokens: this.auth,
      fetch: fetchImpl,
      XMLHttpRequest:
        options.XMLHttpRequest === null
          ? undefined
          : (options.XMLHttpRequest ??
            (globalThis as { XMLHttpRequest?: XhrConstructor }).XMLHttpRequest),
      credentials: options.credentials ?? 'same-origin',
      now: () => clock.now(),
    });
    const WebSocketImpl = options.WebSocket ?? globalWebSocket();
    if (!WebSocketImpl)
      throw new Error('no WebSocket here: pass options.WebSocket (e.g. from "ws")');
    this.connection = new Connection({
      url: options.wsUrl ?? webSocketUrl(baseUrl),
      WebSocket: WebSocketImpl,
      clock,
      random,
      auth: this.auth,
      ...(options.backoff ? { backoff: options.backoff } : {}),
      ...(options.timings ? { timings: options.timings } : {}),
    });
    const syncTimeoutMs = options.timings?.syncTimeoutMs ?? 60_000;
    this.subscribe = this.store.subscribe;
    this.getSnapshot = this.store.getSnapshot;

    this.outbox = new Outbox({
      storage: options.outboxStorage ?? new MemoryOutboxStorage(),
      clock,
      random,
      newId: options.newId ?? makeIdFactory(random, () => clock.now()),
      sender: {
        ready: () => this.connection.status === 'online' && !this.live.syncing,
        send: async (entry) => {
          const ok = await this.connection.request<{ message: Message }>({
            type: 'send',
            conversationId: entry.conversationId,
            clientMsgId: entry.clientMsgId,
            body: entry.body,
            ...(entry.replyToSeq !== null ? { replyToSeq: entry.replyToSeq } : {}),
            ...(entry.attachments?.length || entry.files?.length
              ? {
                  attachments: [
                    ...(entry.attachments ?? []),
                    ...(entry.files ?? []).map((f) => f.uploaded!.id),
                  ],
                }
              : {}),
          });
          return ok.message;
        },
        upload: (file, onProgress, signal) =>
          this.uploader.upload(file.blob, { name: file.name, signal, onProgress }),
      },
      listener: {
        changed: (entry) =>
          this.store.dispatch({
            type: 'pending.upsert',
            pending: toPending(entry, this.outbox.uploadedBytes(entry)),
          }),
        acknowledged: (_entry, message) => this.live.receive(message, false),
        removed: (entry) =>
          this.store.dispatch({
            type: 'pending.remove',
            conversationId: entry.conversationId,
            clientMsgId: entry.clientMsgId,
          }),
        storageError: (error) => this.report('outbox storage', error),
      },
    });
    this.positions = new PositionReporter(this.connection, {
      onError: (error) => this.report('positions', error),
      clock,
      random,
      crowded: (id) =>
        (this.store.getSnapshot().conversations[id]?.memberCount ?? 0) > limits.receiptEveryoneMax,
      moved: (kind, conversationId, seq) => {
        const me = this.store.getSnapshot().me;
        if (me) this.store.dispatch({ type: 'receipt', conversationId, userId: me.id, kind, seq });
      },
    });
    this.catchup = new Catchup({
      api: this.api,
      sync: async (cursors) =>
        (await this.connection.request<SyncResult>(
          { type: 'sync', cursors },
          syncTimeoutMs,
        )) as SyncResult,
      getState: this.store.getSnapshot,
      dispatch: (event) => this.store.dispatch(event),
      removeConversation: (id) => this.live.dropConversation(id),
      received: (id, messages) => {
        for (const message of messages) this.outbox.acknowledge(message);
        this.live.reportDelivered(id, messages);
      },
      pageSize: limits.historyMaxLimit,
    });
    this.typingExpiry = new TypingExpiry(clock, this.store.getSnapshot, (event) =>
      this.store.dispatch(event),
    );
    this.actions = new ClientActions({
      api: this.api,
      clock,
      getState: this.store.getSnapshot,
      dispatch: (event) => this.store.dispatch(event),
      signOut: () => this.logout(),
    });
    this.live = new LiveEvents({
      connection: this.connection,
      auth: this.auth,
      store: this.store,
      clock,
      outbox: this.outbox,
      positions: this.positions,
      catchup: this.catchup,
      typingExpiry: this.typingExpiry,
      gapCheckDelayMs: options.timings?.gapCheckDelayMs ?? 1_000,
      notify: (event) => this.events.emit('message', event),
      report: (context, error) => this.report(context, error),
    });
    this.saved = options.savedStateStorage
      ? new SavedStateKeeper({
          storage: options.savedStateStorage,
          clock,
          getState: this.store.getSnapshot,
          subscribe: this.store.subscribe,
          dispatch: (event) => this.store.dispatch(event),
          report: (context, error) => this.report(context, error),
        })
      : null;
    this.wire();
    const network = options.networkTarget ?? globalNetworkTarget();
    if ((options.watchNetwork ?? true) && network) {
      this.unwatchNetwork = watchNetwork(network, {
        offline: () => this.networkOffline(),
        online: () => this.networkOnline(),
      });
    }
  }

  // Session

  async register(body: RegisterBody): Promise<User> {
    return this.auth.register(body);
  }

  async login(username: string, password: string): Promise<User> {
    return this.auth.login(username, password);
  }

  /**
   * Picks up an existing session (cookie or stored refresh token) and connects; null if none.
   * Without a network, the saved chat list (if kept) is shown instead, and the resume is tried
   * again when the browser says the network is back.
   */
  async resume(): Promise<User | null> {
    try {
      const user = await this.auth.resume();
      if (this.saved) this.saved.showing = false;
      return user;
    } catch (error) {
      if (!(error instanceof NetworkError) || !this.saved) throw error;
      const user = await this.saved.show();
      if (!user) throw error;
      // Unsent messages stay writable: the outbox sends them once the session is back.
      void this.outbox.open(user.id);
      return user;
    }
  }

  /** Signs out everywhere this device holds: server session, socket, state, unsent messages. */
  async logout(): Promise<void> {
    this.connection.stop();
    await this.outbox.clear();
    await this.saved?.clear();
    await this.auth.logout();
  }

  /** Connects (after a `stopped` close code, or `disconnect()`). Sign-in connects by itself. */
  connect(): void {
    if (this.auth.state.status === 'signedIn') this.connection.start();
  }

  disconnect(): void {
    this.connection.stop();
  }

  /** Stops everything; the client cannot be used afterwards. */
  close(): void {
    this.connection.stop();
    this.outbox.close();
    this.auth.dispose();
    this.unwatchNetwork?.();
    this.saved?.close();
    this.typingExpiry.stop();
    this.live.close();
    this.positions.reset(); // its interval's timer, if any
    this.events.clear();
  }

  // Messages

  /**
   * Queues a message: it is in the state as pending before this returns, survives reloads
   * (with a persistent OutboxStorage) and is sent, in order, as soon as the socket allows.
   */
  send(conversationId: string, body: string, options: SendOptions = {}): PendingMessage {
    const text = body.trim();
    const attachments = options.attachments ?? [];
    const files = options.files ?? [];
    const count = attachments.length + files.length;
    if ((text.length === 0 && count === 0) || [...text].length > limits.maxBodyChars) {
      throw new LetterError('bad_request', `body must be 1–${limits.maxBodyChars} characters`);
    }
    if (count > limits.maxAttachments) {
      throw new LetterError('bad_request', `at most ${limits.maxAttachments} attachments`);
    }
    if (!this.getSnapshot().conversations[conversationId]) {
      throw new LetterError('not_found', 'unknown conversation');
    }
    const entry = this.outbox.compose({
      conversationId,
      body: text,
      replyToSeq: options.replyToSeq ?? null,
      ...(attachments.length > 0 && { attachments }),
      files: files.map((blob) => ({ blob, name: fileNameOf(blob) })),
    });
    return toPending(entry);
  }

  /**
   * Uploads one file now (`POST /api/files`) and answers the server's record of it. `send` with
   * `files` does this itself, in order with the outbox; this is for callers that attach by id.
   */
  uploadFile(file: Blob, options?: UploadOptions): Promise<UploadedFile> {
    return this.uploader.upload(file, options);
  }

  /** Puts a failed message back in line. */
  retrySend(clientMsgId: string): void {
    this.outbox.retry(clientMsgId);
  }

  discardSend(clientMsgId: string): void {
    this.outbox.discard(clientMsgId);
  }

  /** Loads the page before the oldest held message (the latest page on first open). */
  async loadOlder(
    conversationId: string,
    limit: number = limits.historyDefaultLimit,
  ): Promise<{ hasMore: boolean }> {
    return { hasMore: await this.catchup.loadOlder(conversationId, limit) };
  }

  /** Marks everything held in the conversation read (locally at once, then on the server). */
  markRead(conversationId: string): void {
    const state = this.getSnapshot();
    const conversation = state.conversations[conversationId];
    const me = state.me;
    if (!conversation || !me) return;
    const seq = state.timelines[conversationId]?.messages.at(-1)?.seq ?? conversation.lastSeq;
    if (seq <= conversation.readSeq && conversation.unreadCount === 0) return;
    this.store.dispatch({ type: 'receipt', conversationId, userId: me.id, kind: 'read', seq });
    this.positions.read(conversationId, seq);
  }

  /** Tells the others you are typing; throttled as the contract asks. */
  sendTyping(conversationId: string): void {
    const now = this.clock.now();
    if (now - (this.typingSent.get(conversationId) ?? -Infinity) < limits.typingThrottleMs) return;
    if (this.connection.notify({ type: 'typing', conversationId })) {
      this.typingSent.set(conversationId, now);
    }
  }

  // Message actions, search, settings, account (actions.ts)
  editMessage(conversationId: string, seq: number, body: string): Promise<Message> {
    return this.actions.editMessage(conversationId, seq, body);
  }
  /** Deletes for everyone; the held copy becomes a tombstone at once. */
  deleteMessage(conversationId: string, seq: number): Promise<void> {
    return this.actions.deleteMessage(conversationId, seq);
  }
  /** My one reaction (replacing any other); `null` removes it. */
  react(conversationId: string, seq: number, emoji: string | null): Promise<Message> {
    return this.actions.react(conversationId, seq, emoji);
  }
  unreact(conversationId: string, seq: number): Promise<Message> {
    return this.actions.react(conversationId, seq, null);
  }
  receipts(conversationId: string, seq: number): Promise<Receipt[]> {
    return this.actions.receipts(conversationId, seq);
  }
  search(q: string, options?: SearchOptions): Promise<SearchResult[]> {
    return this.actions.search(q, options);
  }
  updateSettings(id: string, settings: ConversationSettingsBody): Promise<Conversation> {
    return this.actions.updateSettings(id, settings);
  }
  exportMyData(): Promise<ExportDocument> {
    return this.actions.exportMyData();
  }
  /** Deletes the account (needs the password), then signs this device out. */
  deleteAccount(password: string): Promise<void> {
    return this.actions.deleteAccount(password);
  }
  /** Names any user by id (cached), also senders who left or deleted their account. */
  getUser(id: string): Promise<User> {
    return this.actions.getUser(id);
  }
  /** A user already known here (members, contacts, earlier `getUser`), without a request. */
  cachedUser(id: string): User | undefined {
    return this.actions.cachedUser(id);
  }

  // Conversations, contacts

  /** The direct conversation with a user, created when missing. */
  openDirect(userId: string): Promise<Conversation> {
    return this.adopt(this.api.createConversation({ kind: 'direct', userId }));
  }

  createGroup(title: string, memberIds: string[]): Promise<Conversation> {
    return this.adopt(this.api.createConversation({ kind: 'group', title, memberIds }));
  }

  renameConversation(conversationId: string, title: string): Promise<Conversation> {
    return this.adopt(this.api.renameConversation(conversationId, title));
  }

  addMembers(conversationId: string, userIds: string[]): Promise<Conversation> {
    return this.adopt(this.api.addMembers(conversationId, userIds));
  }

  setMemberRole(conversationId: string, userId: string, role: Role): Promise<Conversation> {
    return this.adopt(this.api.setMemberRole(conversationId, userId, role));
  }

  /**
   * Every member of a conversation, into the state: list entries carry only a preview (see
   * `isComplete`). Resolves to the conversation as the state then holds it.
   */
  loadMembers(conversationId: string): Promise<Conversation | undefined> {
    return this.catchup.loadMembers(conversationId);
  }

  async removeMember(conversationId: string, userId: string): Promise<void> {
    await this.api.removeMember(conversationId, userId);
    if (userId === this.getSnapshot().me?.id) this.live.dropConversation(conversationId);
  }

  leaveConversation(conversationId: string): Promise<void> {
    const me = this.getSnapshot().me;
    if (!me) return Promise.reject(new LetterError('unauthorized', 'not signed in'));
    return this.removeMember(conversationId, me.id);
  }

  /** Contacts, with presence seeded from them (live `presence` frames keep it current). */
  loadContacts(): Promise<readonly Contact[]> {
    return this.actions.loadContacts();
  }
  addContact(username: string): Promise<Contact> {
    return this.actions.addContact(username);
  }
  removeContact(userId: string): Promise<void> {
    return this.actions.removeContact(userId);
  }
  async updateMe(displayName: string): Promise<User> {
    const user = await this.api.updateMe({ displayName });
    this.auth.setUser(user);
    return user;
  }

  /** Unsent and failed messages of the signed-in user, in replay order. */
  outboxEntries(): readonly OutboxEntry[] {
    return this.outbox.list();
  }

  /** Resolves once every outbox write issued so far reached storage (tests, before unload). */
  outboxFlushed(): Promise<void> {
    return this.outbox.flushed();
  }

  // Wiring

  private wire(): void {
    this.auth.events.on('change', (state) => {
      const previous = this.getSnapshot().me;
      if (state.status === 'signedIn' && state.user && previous && previous.id !== state.user.id) {
        this.store.dispatch({ type: 'reset' });
        this.positions.reset();
        this.actions.reset();
      }
      this.store.dispatch({ type: 'session', status: state.status, user: state.user });
      if (state.status === 'signedIn' && state.user) {
        void this.outbox.open(state.user.id);
        if (!this.droppedForNetwork) this.connection.start();
      } else if (state.status === 'signedOut') {
        this.actions.reset();
        this.connection.stop();
        this.outbox.close();
        this.positions.reset();
      }
    });
    this.auth.events.on('expired', (error) => this.events.emit('sessionExpired', error));
    this.connection.events.on('status', (status) => {
      this.store.dispatch({ type: 'connection', status });
      this.events.emit('connection', status);
    });
    // `ready` and `frame` go to the live-event pipeline (live.ts), which listens itself.
    this.connection.events.on('protocolError', (problem) => this.report('protocol', problem));
  }

  private async adopt(request: Promise<Conversation>): Promise<Conversation> {
    const conversation = await request;
    this.store.dispatch({ type: 'conversation', conversation });
    return this.getSnapshot().conversations[conversation.id] ?? conversation;
  }

  private report(context: string, error: unknown): void {
    this.events.emit('error', { context, error });
  }

  private networkOffline(): void {
    if (this.connection.status === 'offline' && !this.droppedForNetwork) return;
    this.droppedForNetwork = true;
    // The outbox keeps what was not acknowledged and sends it after the next sync.
    this.connection.stop();
  }

  private networkOnline(): void {
    if (this.saved?.showing) {
      this.resume().catch((error: unknown) => this.report('resume', error));
      return;
    }
    if (this.droppedForNetwork) {
      this.droppedForNetwork = false;
      this.connect();
    } else {
      this.connection.reconnectNow();
    }
  }
}
