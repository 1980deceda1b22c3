/**
 * The last synced chat list, kept on the device so an app opened without a network (the web
 * app from its service worker's cache) still shows who wrote what. Written by the client while
 * it is online and synced; read only when resuming the session fails for want of a network;
 * cleared on logout. A read-only view: nothing in it is sent anywhere, and the first
 * successful resume replaces it with the server's state.
 */
import type { Conversation, User } from '@letter/protocol';
import type { Clock, TimerHandle } from './clock.js';
import { openDatabase, writeStore } from './idb.js';
import { selectConversations } from './state/selectors.js';
import type { ClientState, StateEvent } from './state/types.js';

export interface SavedState {
  user: User;
  /** Latest activity first, as the list showed them. */
  conversations: Conversation[];
  savedAt: string;
}

export interface SavedStateStorage {
  load(): Promise<SavedState | null>;
  save(state: SavedState): Promise<void>;
  clear(): Promise<void>;
}

export class MemorySavedStateStorage implements SavedStateStorage {
  private state: SavedState | null = null;
  async load() {
    return this.state;
  }
  async save(state: SavedState) {
    this.state = structuredClone(state);
  }
  async clear() {
    this.state = null;
  }
}

const storeName = 'state';
const key = 'last';

/** One record in its own database (`letter-saved-state`), beside the outbox's. */
export class IndexedDbSavedStateStorage implements SavedStateStorage {
  private db: Promise<IDBDatabase> | null = null;
  private readonly factory: IDBFactory;

  constructor(options: { indexedDB?: IDBFactory; name?: string } = {}) {
    const factory = options.indexedDB ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB;
    if (!factory) throw new Error('IndexedDB is not available here; use MemorySavedStateStorage');
    this.factory = factory;
    this.name = options.name ?? 'letter-saved-state';
  }

  private readonly name: string;

  async load(): Promise<SavedState | null> {
    const db = await this.open();
    return new Promise((resolve, reject) => {
      const request = db.transaction(storeName, 'readonly').objectStore(storeName).get(key);
      request.onsuccess = () => resolve((request.result as SavedState | undefined) ?? null);
      request.onerror = () => reject(request.error ?? new Error('saved state load failed'));
    });
  }

  save(state: SavedState): Promise<void> {
    return this.write((store) => store.put(state, key));
  }

  clear(): Promise<void> {
    return this.write((store) => store.delete(key));
  }

  private write(change: (store: IDBObjectStore) => void): Promise<void> {
    return writeStore(this.open(), storeName, change, 'saved state');
  }

  private open(): Promise<IDBDatabase> {
    this.db ??= openDatabase(
      this.factory,
      this.name,
      (db) => db.createObjectStore(storeName),
      'saved state',
    );
    return this.db;
  }
}

export interface SavedStateDeps {
  storage: SavedStateStorage;
  clock: Clock;
  getState: () => ClientState;
  subscribe: (listener: () => void) => () => void;
  dispatch: (event: StateEvent) => void;
  report: (context: string, error: unknown) => void;
  /** Writes at most this often (default 2 s): a sync replaying a day writes once. */
  delayMs?: number;
}

/** Keeps the saved state in step with the client's, and shows it when the network is away. */
export class SavedStateKeeper {
  /** True while the state on screen is the saved one, not the server's. */
  showing = false;
  private timer: TimerHandle | null = null;
  private lastSaved: readonly Conversation[] | null = null;
  private readonly unsubscribe: () => void;

  constructor(private readonly deps: SavedStateDeps) {
    this.unsubscribe = deps.subscribe(() => this.schedule());
  }

  /** After a resume failed for want of a network: the saved user and list, or null. */
  async show(): Promise<User | null> {
    const saved = await this.deps.storage.load().catch((error: unknown) => {
      this.deps.report('saved state', error);
      return null;
    });
    if (!saved) return null;
    this.showing = true;
    this.deps.dispatch({ type: 'session', status: 'signedIn', user: saved.user });
    this.deps.dispatch({ type: 'conversations.loaded', conversations: saved.conversations });
    return saved.user;
  }

  /** Logout: nothing of this account stays on the device. */
  async clear(): Promise<void> {
    this.cancel();
    this.showing = false;
    this.lastSaved = null;
    await this.deps.storage
      .clear()
      .catch((error: unknown) => this.deps.report('saved state', error));
  }

  close(): void {
    this.cancel();
    this.unsubscribe();
  }

  private cancel(): void {
    if (this.timer !== null) this.deps.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    if (this.timer !== null || !this.worthSaving()) return;
    this.timer = this.deps.clock.setTimeout(() => {
      this.timer = null;
      if (!this.worthSaving()) return;
      const state = this.deps.getState();
      const conversations = selectConversations(state);
      this.lastSaved = conversations;
      this.deps.storage
        .save({
          user: state.me!,
          conversations: [...conversations],
          savedAt: new Date(this.deps.clock.now()).toISOString(),
        })
        .catch((error: unknown) => this.deps.report('saved state', error));
    }, this.deps.delayMs ?? 2_000);
  }

  /** Only the server's own state, synced, and only when it changed since the last write. */
  private worthSaving(): boolean {
    const state = this.deps.getState();
    if (this.showing || state.session !== 'signedIn' || !state.me) return false;
    if (!state.conversationsLoaded || state.syncing || state.connection !== 'online') return false;
    return selectConversations(state) !== this.lastSaved;
  }
}
