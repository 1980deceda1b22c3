/**
 * The outbox: messages get their clientMsgId when composed, show at once as pending, and are
 * sent — one at a time per conversation, in composition order — until acknowledged. A retry
 * reuses the clientMsgId, so the server's idempotency turns "sent twice" into "sent once".
 * Permanent errors (bad_request, not_found, blocked, …) park the entry as failed with its code;
 * the user retries or discards it. Every change is persisted before the next one (a promise
 * chain), so what storage holds after a crash is a prefix of what happened.
 */
import type { Message } from '@letter/protocol';
import { Backoff } from '../backoff.js';
import type { Clock, Random, TimerHandle } from '../clock.js';
import { DisconnectedError, LetterError, isPermanentSendError } from '../errors.js';
import type { OutboxEntry, OutboxStorage } from './storage.js';

export interface OutboxSender {
  /** True when `send` can go out now. */
  ready(): boolean;
  /** Resolves with the acknowledged message; rejects with LetterError, TimeoutError, DisconnectedError. */
  send(entry: OutboxEntry): Promise<Message>;
}

export interface OutboxListener {
  /** An entry to show: new, loaded from storage, or changed (failed / retried). */
  changed(entry: OutboxEntry): void;
  acknowledged(entry: OutboxEntry, message: Message): void;
  removed(entry: OutboxEntry): void;
  /** A storage failure: the message still goes out, it just would not survive a reload. */
  storageError(error: unknown): void;
}

export interface OutboxOptions {
  storage: OutboxStorage;
  sender: OutboxSender;
  listener: OutboxListener;
  clock: Clock;
  random: Random;
  newId: () => string;
}

export interface ComposeInput {
  conversationId: string;
  body: string;
  replyToSeq?: number | null;
  attachments?: string[];
}

export class Outbox {
  private entries: OutboxEntry[] = [];
  private userId: string | null = null;
  private position = 0;
  private readonly inFlight = new Set<string>();
  private retryTimer: TimerHandle | null = null;
  private generation = 0;
  /** While stored entries load, nothing is sent: they go before anything composed meanwhile. */
  private loading = false;
  private io: Promise<void> = Promise.resolve();
  private readonly backoff: Backoff;

  constructor(private readonly options: OutboxOptions) {
    this.backoff = new Backoff({ baseMs: 1000, capMs: 30_000 }, options.random);
  }

  /** Loads the user's unsent messages (shown as pending at once) and starts sending them. */
  async open(userId: string): Promise<void> {
    if (this.userId === userId) return;
    this.close();
    this.userId = userId;
    const generation = this.generation;
    this.loading = true;
    let loaded: OutboxEntry[] = [];
    try {
      loaded = await this.options.storage.load(userId);
    } catch (error) {
      this.options.listener.storageError(error);
    }
    if (generation !== this.generation) return;
    this.loading = false;
    // Entries composed while loading keep their place after the stored ones.
    const fresh = this.entries;
    this.entries = [...loaded.sort((a, b) => a.position - b.position)];
    this.position = Math.max(0, ...this.entries.map((e) => e.position));
    for (const entry of fresh) {
      const moved = { ...entry, position: ++this.position };
      this.entries.push(moved);
      this.persist(() => this.options.storage.put(moved));
    }
    for (const entry of this.entries) this.options.listener.changed(entry);
    this.kick();
  }

  close(): void {
    this.generation++;
    this.entries = [];
    this.userId = null;
    this.loading = false;
    this.position = 0;
    this.inFlight.clear();
    if (this.retryTimer !== null) this.options.clock.clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  /** The pending entry, in the outbox and on screen before this returns. */
  compose(input: ComposeInput): OutboxEntry {
    if (!this.userId) throw new LetterError('unauthorized', 'not signed in');
    const entry: OutboxEntry = {
      userId: this.userId,
      clientMsgId: this.options.newId(),
      conversationId: input.conversationId,
      body: input.body,
      replyToSeq: input.replyToSeq ?? null,
      ...(input.attachments?.length && { attachments: input.attachments }),
      createdAt: new Date(this.options.clock.now()).toISOString(),
      position: ++this.position,
      status: 'pending',
      error: null,
    };
    this.entries.push(entry);
    this.options.listener.changed(entry);
    this.persist(() => this.options.storage.put(entry));
    this.kick();
    return entry;
  }

  list(): readonly OutboxEntry[] {
    return this.entries;
  }

  /** A message of ours arrived by another path (sync replay, another tab): the entry is done. */
  acknowledge(message: Message): void {
    if (message.senderId === null || message.senderId !== this.userId || !message.clientMsgId)
      return;
    const entry = this.find(message.clientMsgId);
    if (entry) this.remove(entry);
  }

  /** Puts a failed entry back in line (after fixing what made it fail, e.g. an unblock). */
  retry(clientMsgId: string): void {
    const entry = this.find(clientMsgId);
    if (!entry || entry.status !== 'failed') return;
    this.update({ ...entry, status: 'pending', error: null });
    this.kick();
  }

  discard(clientMsgId: string): void {
    const entry = this.find(clientMsgId);
    if (!entry) return;
    this.remove(entry);
    this.options.listener.removed(entry);
  }

  /** Forgets every entry of the user, in storage too (explicit sign-out on a shared device). */
  async clear(): Promise<void> {
    const entries = this.entries;
    const userId = this.userId;
    this.close();
    for (const entry of entries)
      this.persist(() => this.options.storage.delete(entry.userId, entry.clientMsgId));
    if (userId) {
      // Entries of this user that were stored but never loaded (another tab wrote them).
      const stored = await this.options.storage.load(userId).catch(() => []);
      for (const entry of stored)
        this.persist(() => this.options.storage.delete(userId, entry.clientMsgId));
    }
    await this.io;
  }

  /** The conversation is gone (removed, left): its unsent messages can never be delivered. */
  dropConversation(conversationId: string): void {
    for (const entry of this.entries.filter((e) => e.conversationId === conversationId)) {
      this.remove(entry);
      this.options.listener.removed(entry);
    }
  }

  /** Drops entries of every conversation `exists` rejects (gone while we were away). */
  retainConversations(exists: (conversationId: string) => boolean): void {
    const gone = new Set(
      this.entries.filter((e) => !exists(e.conversationId)).map((e) => e.conversationId),
    );
    for (const id of gone) this.dropConversation(id);
  }

  /** Sends the head of every conversation's queue that is not already on its way. */
  kick(): void {
    if (this.loading || !this.options.sender.ready()) return;
    const heads = new Map<string, OutboxEntry>();
    for (const entry of this.entries) {
      if (entry.status !== 'pending' || heads.has(entry.conversationId)) continue;
      heads.set(entry.conversationId, entry);
    }
    for (const [conversationId, entry] of heads) {
      if (!this.inFlight.has(conversationId)) void this.sendOne(entry);
    }
  }

  /** Waits until every storage write issued so far has settled. */
  flushed(): Promise<void> {
    return this.io;
  }

  private async sendOne(entry: OutboxEntry): Promise<void> {
    const generation = this.generation;
    this.inFlight.add(entry.conversationId);
    try {
      const message = await this.options.sender.send(entry);
      if (generation !== this.generation) return;
      this.inFlight.delete(entry.conversationId);
      this.backoff.reset();
      const current = this.find(entry.clientMsgId);
      if (current) this.remove(current);
      this.options.listener.acknowledged(entry, message);
      this.kick();
    } catch (error) {
      if (generation !== this.generation) return;
      this.inFlight.delete(entry.conversationId);
      const current = this.find(entry.clientMsgId);
      if (!current) return this.kick(); // acknowledged by another path meanwhile
      if (isPermanentSendError(error)) {
        this.update({ ...current, status: 'failed', error: error.code });
        return this.kick();
      }
      // Not connected: the client kicks the outbox again once it is back and synced.
      if (error instanceof DisconnectedError) return;
      const retryAfter = error instanceof LetterError ? error.retryAfter : undefined;
      this.scheduleRetry(retryAfter !== undefined ? retryAfter * 1000 : this.backoff.next());
    }
  }

  private scheduleRetry(delay: number): void {
    if (this.retryTimer !== null) return;
    this.retryTimer = this.options.clock.setTimeout(() => {
      this.retryTimer = null;
      this.kick();
    }, delay);
  }

  private find(clientMsgId: string): OutboxEntry | undefined {
    return this.entries.find((e) => e.clientMsgId === clientMsgId);
  }

  private update(entry: OutboxEntry): void {
    this.entries = this.entries.map((e) => (e.clientMsgId === entry.clientMsgId ? entry : e));
    this.options.listener.changed(entry);
    this.persist(() => this.options.storage.put(entry));
  }

  private remove(entry: OutboxEntry): void {
    this.entries = this.entries.filter((e) => e.clientMsgId !== entry.clientMsgId);
    this.persist(() => this.options.storage.delete(entry.userId, entry.clientMsgId));
  }

  private persist(write: () => Promise<void>): void {
    this.io = this.io
      .then(write)
      .catch((error: unknown) => this.options.listener.storageError(error));
  }
}
