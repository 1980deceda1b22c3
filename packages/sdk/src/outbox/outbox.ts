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
import type { UploadedFile } from '../uploads.js';
import type { OutboxEntry, OutboxFile, OutboxStorage } from './storage.js';

export interface OutboxSender {
  /** True when `send` can go out now. */
  ready(): boolean;
  /** Resolves with the acknowledged message; rejects with LetterError, TimeoutError, DisconnectedError. */
  send(entry: OutboxEntry): Promise<Message>;
  /** Uploads one file of an entry (before its send); rejects like `uploadFile`. */
  upload(
    file: OutboxFile,
    onProgress: (loaded: number) => void,
    signal: AbortSignal,
  ): Promise<UploadedFile>;
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
  /** Ids of files uploaded already. */
  attachments?: string[];
  /** Files to upload before the send (their ids go after `attachments`). */
  files?: readonly { blob: Blob; name: string }[];
}

export class Outbox {
  private entries: OutboxEntry[] = [];
  private userId: string | null = null;
  private position = 0;
  private readonly inFlight = new Set<string>();
  /** Uploads under way, by clientMsgId: a discard aborts them. */
  private readonly uploads = new Map<string, AbortController>();
  /** Bytes uploaded so far, by clientMsgId then file localId (not persisted). */
  private readonly progress = new Map<string, Map<string, number>>();
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
    for (const upload of this.uploads.values()) upload.abort();
    this.uploads.clear();
    this.progress.clear();
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
    if (input.files && input.files.length > 0) {
      entry.files = input.files.map((file, index) => ({
        localId: `${entry.clientMsgId}:${index}`,
        name: file.name,
        size: file.blob.size,
        mime: file.blob.type || 'application/octet-stream',
        blob: file.blob,
        uploaded: null,
      }));
    }
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
    const again: OutboxEntry = { ...entry, status: 'pending', error: null };
    // The send named files the server no longer takes (expired unattached uploads): upload anew.
    if (entry.files && (entry.error === 'bad_request' || entry.error === 'not_found'))
      again.files = entry.files.map((f) => ({ ...f, uploaded: null }));
    this.update(again);
    this.kick();
  }

  discard(clientMsgId: string): void {
    const entry = this.find(clientMsgId);
    if (!entry) return;
    this.remove(entry);
    this.uploads.get(clientMsgId)?.abort();
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

  /** Bytes uploaded so far of each file of an entry (by localId); uploaded files count whole. */
  uploadedBytes(entry: OutboxEntry): Record<string, number> {
    const live = this.progress.get(entry.clientMsgId);
    const result: Record<string, number> = {};
    for (const file of entry.files ?? [])
      result[file.localId] = file.uploaded ? file.size : (live?.get(file.localId) ?? 0);
    return result;
  }

  /** Waits until every storage write issued so far has settled. */
  flushed(): Promise<void> {
    return this.io;
  }

  private async sendOne(entry: OutboxEntry): Promise<void> {
    const generation = this.generation;
    this.inFlight.add(entry.conversationId);
    try {
      const ready = await this.uploadFiles(entry, generation);
      if (!ready) {
        // Discarded while its files went up: the next in line may go.
        if (generation === this.generation) this.inFlight.delete(entry.conversationId);
        return this.kick();
      }
      const message = await this.options.sender.send(ready);
      if (generation !== this.generation) return;
      this.inFlight.delete(entry.conversationId);
      this.backoff.reset();
      this.progress.delete(entry.clientMsgId);
      const current = this.find(entry.clientMsgId);
      if (current) this.remove(current);
      this.options.listener.acknowledged(entry, message);
      this.kick();
    } catch (error) {
      if (generation !== this.generation) return;
      this.inFlight.delete(entry.conversationId);
      this.progress.delete(entry.clientMsgId);
      const current = this.find(entry.clientMsgId);
      if (!current) return this.kick(); // acknowledged by another path, or discarded, meanwhile
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

  /**
   * Uploads the entry's files not uploaded yet, one at a time, keeping each id in the entry (and
   * storage) as it comes, so a reload or a retry never uploads a file twice. Resolves with the
   * entry ready to send, or null when it was discarded meanwhile.
   */
  private async uploadFiles(entry: OutboxEntry, generation: number): Promise<OutboxEntry | null> {
    let current: OutboxEntry = entry;
    for (const file of entry.files ?? []) {
      if (file.uploaded) continue;
      const controller = new AbortController();
      this.uploads.set(entry.clientMsgId, controller);
      let uploaded: UploadedFile;
      try {
        uploaded = await this.options.sender.upload(
          file,
          (loaded) => this.uploadProgress(entry.clientMsgId, file, loaded),
          controller.signal,
        );
      } finally {
        if (this.uploads.get(entry.clientMsgId) === controller)
          this.uploads.delete(entry.clientMsgId);
      }
      const latest = generation === this.generation ? this.find(entry.clientMsgId) : undefined;
      if (!latest) return null;
      current = {
        ...latest,
        files: (latest.files ?? []).map((f) =>
          f.localId === file.localId ? { ...f, uploaded } : f,
        ),
      };
      this.update(current);
    }
    return current;
  }

  private uploadProgress(clientMsgId: string, file: OutboxFile, loaded: number): void {
    const entry = this.find(clientMsgId);
    if (!entry) return;
    let files = this.progress.get(clientMsgId);
    if (!files) this.progress.set(clientMsgId, (files = new Map()));
    files.set(file.localId, Math.min(loaded, file.size));
    this.options.listener.changed(entry);
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
