/**
 * Who gets a Web Push for a committed message, and the queue that sends them off the ack path.
 *
 * - Only the node that committed a message calls `messageCommitted`, so in a cluster each push
 *   is sent once.
 * - Recipients: members but the sender with no open socket on any node (presence); in a muted
 *   conversation only those the message mentions (`@username`, groups).
 * - `messageCommitted` only queues: the sending happens later, at most `concurrency` at a time.
 *   The queue is bounded (what does not fit is dropped and counted: a push is a hint, the
 *   message itself is stored). Pushes for one subscription coalesce: a newer one waiting
 *   replaces the older, so a burst of messages is one notification, not fifty.
 * - 404/410 deletes the subscription; 429/5xx are retried with exponential backoff (or the
 *   push service's Retry-After), capped, at most `maxAttempts` times.
 * - When a user's read position moves past a message this node pushed to them, their
 *   subscriptions get `{type:"read", conversationId, seq}` so every device closes the chat's
 *   notification. Only then: Chrome wants each push to show something, so a read push goes only
 *   where a notification is likely up. What was pushed is remembered per node (bounded); a read is
 *   announced to every node (`read-moved` on the hub) so the node that pushed hears of it.
 */
import type { Message, MessagePush, ReadPush } from '@letter/protocol';
import type { PushSubscriptionRecord, Store } from '../store/store.js';
import type { PushTarget, SendOutcome } from './sender.js';

export interface PusherDeps {
  store: Store;
  /** Whether the user has an open socket on any node. */
  connected: (userId: string) => boolean;
  send: (target: PushTarget, payload: string) => Promise<SendOutcome>;
  log?: { warn(details: object, message: string): void };
  /** Messages and subscriptions waiting, together (default 10 000). */
  maxQueued?: number;
  concurrency?: number;
  maxAttempts?: number;
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Milliseconds now (the subscription cache's clock); default Date.now. */
  now?: () => number;
}

type Job =
  | { kind: 'message'; message: Message; recipients: string[] }
  | { kind: 'read'; userId: string; conversationId: string; seq: number };

interface Entry {
  target: PushSubscriptionRecord;
  /** What coalesces: one message push per endpoint, one read push per endpoint and chat. */
  key: string;
  kind: Job['kind'];
  conversationId: string;
  seq: number;
  payload: string;
  attempts: number;
}

/** How many (user, conversation) pairs with a pushed message this node remembers. */
const PUSHED_MAX = 50_000;
/** How long "this user has (no) push subscriptions" is believed, and for how many users. */
const SUBSCRIBED_TTL_MS = 60_000;
const SUBSCRIBED_MAX = 50_000;

/** The longest text a push carries (a notification shows a line or two). */
const BODY_MAX = 200;

export class Pusher {
  private readonly jobs: Job[] = [];
  /** Waiting pushes by key (coalesced), and the order they go in. */
  private readonly waiting = new Map<string, Entry>();
  private readonly ready: string[] = [];
  /** The newest seq pushed per `user\nconversation`, until the user reads past it. */
  private readonly pushed = new Map<string, number>();
  /** Whether a user had subscriptions, and when that was read. */
  private readonly subscribed = new Map<string, { has: boolean; at: number }>();
  /** Keys being sent to now, and a newer push that came meanwhile. */
  private readonly inFlight = new Map<string, Entry | null>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private active = 0;
  private stopped = false;
  /** Counters for tests and /metrics. */
  readonly stats = { sent: 0, gone: 0, retried: 0, failed: 0, dropped: 0, coalesced: 0 };
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly deps: PusherDeps) {}

  /** Called after a message was committed on this node; returns at once, never throws. */
  messageCommitted(message: Message, memberIds: string[]): void {
    if (this.stopped || message.senderId === null) return;
    const recipients = memberIds.filter(
      (userId) => userId !== message.senderId && !this.deps.connected(userId),
    );
    if (recipients.length === 0) return;
    if (this.queued() >= (this.deps.maxQueued ?? 10_000)) {
      this.stats.dropped++;
      return;
    }
    this.jobs.push({ kind: 'message', message, recipients });
    this.pump();
  }

  /** The user's read position moved (on this node); returns at once, never throws. */
  readMoved(userId: string, conversationId: string, seq: number): void {
    if (this.stopped) return;
    const key = `${userId}\n${conversationId}`;
    const pushed = this.pushed.get(key);
    if (pushed === undefined || seq < pushed) return;
    this.pushed.delete(key);
    if (this.queued() >= (this.deps.maxQueued ?? 10_000)) {
      this.stats.dropped++;
      return;
    }
    this.jobs.push({ kind: 'read', userId, conversationId, seq });
    this.pump();
  }

  /**
   * A read position moved on this node: `announce` (to every node, this one included, which
   * then calls `readMoved`) when the user had push subscriptions when last looked at (within a
   * minute), so reads of people without push cost no bus traffic. Returns at once; `idle()`
   * waits for it.
   */
  readHere(userId: string, announce: () => void): void {
    if (this.stopped) return;
    this.active++;
    this.mayHaveSubscriptions(userId)
      .then((has) => {
        if (has && !this.stopped) announce();
      })
      .catch((error: unknown) => this.deps.log?.warn({ err: error }, 'web push read failed'))
      .finally(() => {
        this.active--;
        this.pump();
      });
  }

  private async mayHaveSubscriptions(userId: string): Promise<boolean> {
    const now = (this.deps.now ?? Date.now)();
    const known = this.subscribed.get(userId);
    if (known && now - known.at < SUBSCRIBED_TTL_MS) return known.has;
    let has = false;
    try {
      has = (await this.deps.store.pushSubscriptions([userId])).length > 0;
    } catch {
      // The store is away: no read push for this user for a while (a hint, not a message), and
      // no query per read while it stays away.
    }
    this.subscribed.delete(userId);
    if (this.subscribed.size >= SUBSCRIBED_MAX)
      this.subscribed.delete(this.subscribed.keys().next().value!);
    this.subscribed.set(userId, { has, at: now });
    return has;
  }

  /** Whether the user has a socket somewhere, so gets no push (tests). */
  hasSocket(userId: string): boolean {
    return this.deps.connected(userId);
  }

  /** Resolves once nothing is queued, in flight or waiting for a retry (tests). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.jobs.length = 0;
    this.waiting.clear();
    this.ready.length = 0;
    this.settle();
  }

  private queued(): number {
    return this.jobs.length + this.waiting.size + this.inFlight.size;
  }

  private isIdle(): boolean {
    return this.queued() === 0 && this.timers.size === 0 && this.active === 0;
  }

  private settle(): void {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private pump(): void {
    const limit = this.deps.concurrency ?? 4;
    while (!this.stopped && this.active < limit) {
      const job = this.jobs.shift();
      if (job) {
        this.run(() => this.expand(job));
        continue;
      }
      const key = this.ready.shift();
      if (key === undefined) break;
      const entry = this.waiting.get(key);
      if (!entry) continue;
      this.waiting.delete(key);
      this.inFlight.set(key, null);
      this.run(() => this.deliver(entry));
    }
    this.settle();
  }

  /** Runs one unit of work off the caller's turn; a failure is logged, never thrown. */
  private run(work: () => Promise<void>): void {
    this.active++;
    setImmediate(() => {
      work()
        .catch((error: unknown) => this.deps.log?.warn({ err: error }, 'web push failed'))
        .finally(() => {
          this.active--;
          this.pump();
        });
    });
  }

  private expand(job: Job): Promise<void> {
    return job.kind === 'message' ? this.expandMessage(job) : this.expandRead(job);
  }

  /** A read: one push per subscription of the user, replacing a waiting push it makes stale. */
  private async expandRead(job: Job & { kind: 'read' }): Promise<void> {
    const { userId, conversationId, seq } = job;
    const payload: ReadPush = { type: 'read', conversationId, seq };
    for (const target of await this.deps.store.pushSubscriptions([userId])) {
      const stale = this.waiting.get(target.endpoint);
      if (stale && stale.conversationId === conversationId && stale.seq <= seq) {
        this.waiting.delete(target.endpoint);
        this.stats.coalesced++;
      }
      this.enqueue({
        target,
        key: `${target.endpoint}\nread\n${conversationId}`,
        kind: 'read',
        conversationId,
        seq,
        payload: JSON.stringify(payload),
        attempts: 0,
      });
    }
  }

  /** A message's recipients → one coalescing entry per subscription. */
  private async expandMessage({ message, recipients }: Job & { kind: 'message' }): Promise<void> {
    const { store } = this.deps;
    const subscriptions = await store.pushSubscriptions(recipients);
    if (subscriptions.length === 0) return;
    const userIds = [...new Set(subscriptions.map((s) => s.userId))];
    const [views, users] = await Promise.all([
      store.conversationViews(message.conversationId, userIds),
      store.getUsers([message.senderId!, ...userIds]),
    ]);
    const byId = new Map(users.map((u) => [u.id, u]));
    const senderName = byId.get(message.senderId!)?.displayName ?? 'Someone';
    const mentioned = new Set(message.mentions ?? []);
    for (const { userId, conversation } of views) {
      const isMentioned = mentioned.has(userId);
      if (conversation.muted && !isMentioned) continue;
      const title =
        conversation.kind === 'group' ? `${senderName} in ${conversation.title}` : senderName;
      this.remember(`${userId}\n${message.conversationId}`, message.seq);
      for (const target of subscriptions) {
        if (target.userId !== userId) continue;
        const payload: MessagePush = {
          type: 'message',
          conversationId: message.conversationId,
          seq: message.seq,
          title,
          ...(target.preview && { body: previewText(message).slice(0, BODY_MAX) }),
        };
        this.enqueue({
          target,
          key: target.endpoint,
          kind: 'message',
          conversationId: message.conversationId,
          seq: message.seq,
          payload: JSON.stringify(payload),
          attempts: 0,
        });
      }
    }
  }

  private remember(key: string, seq: number): void {
    this.pushed.delete(key);
    // Oldest first (insertion order): forgetting one only costs a notification left open.
    if (this.pushed.size >= PUSHED_MAX) this.pushed.delete(this.pushed.keys().next().value!);
    this.pushed.set(key, seq);
  }

  private enqueue(entry: Entry): void {
    const key = entry.key;
    if (this.inFlight.has(key)) {
      if (this.inFlight.get(key)) this.stats.coalesced++;
      this.inFlight.set(key, entry);
      return;
    }
    if (this.waiting.has(key)) this.stats.coalesced++;
    else this.ready.push(key);
    this.waiting.set(key, entry);
  }

  private async deliver(entry: Entry): Promise<void> {
    const endpoint = entry.target.endpoint;
    let outcome: SendOutcome;
    try {
      outcome = await this.deps.send(entry.target, entry.payload);
    } finally {
      const newer = this.inFlight.get(entry.key);
      this.inFlight.delete(entry.key);
      if (newer) this.enqueue(newer);
    }
    switch (outcome.kind) {
      case 'sent':
        this.stats.sent++;
        return;
      case 'gone':
        this.stats.gone++;
        await this.deps.store.deletePushEndpoint(endpoint);
        return;
      case 'failed':
        this.stats.failed++;
        this.deps.log?.warn(
          { endpoint: new URL(endpoint).host, reason: outcome.reason },
          'web push refused',
        );
        return;
      case 'retry':
        return this.retryLater(entry, outcome.retryAfterMs);
    }
  }

  private retryLater(entry: Entry, retryAfterMs: number | undefined): void {
    const attempts = entry.attempts + 1;
    if (this.stopped || attempts >= (this.deps.maxAttempts ?? 5)) {
      this.stats.failed++;
      return;
    }
    this.stats.retried++;
    const cap = this.deps.maxBackoffMs ?? 60_000;
    const delay = Math.min(
      cap,
      retryAfterMs ?? (this.deps.backoffMs ?? 1000) * 2 ** (attempts - 1),
    );
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      // A newer push for this endpoint meanwhile has taken its place: that one goes instead.
      if (!this.waiting.has(entry.key) && !this.inFlight.has(entry.key))
        this.enqueue({ ...entry, attempts });
      this.pump();
    }, delay);
    timer.unref();
    this.timers.add(timer);
  }
}

/** A notification's text: the body, or for a message of files only what they are. */
export function previewText(message: Message): string {
  const [first] = message.attachments;
  if (message.body !== '' || !first) return message.body;
  const more = message.attachments.length > 1 ? ` (+${message.attachments.length - 1})` : '';
  if (first.mime.startsWith('image/')) return `📷 Photo${more}`;
  if (first.mime.startsWith('audio/')) return `🎤 Voice message${more}`;
  if (first.mime.startsWith('video/')) return `🎬 Video${more}`;
  return `📄 ${first.name}${more}`;
}
