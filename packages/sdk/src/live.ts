/**
 * The live-event pipeline: how what the socket brings reaches the state. After every `ready` it
 * runs the resume (catch-up, outbox pruning, "delivered" for the list) with the outbox held;
 * then each pushed frame is applied (`frameToEvent`), messages are deduplicated against the
 * outbox, reported delivered, announced to the client's `message` listeners, and holes above a
 * conversation's cursor are filled by REST shortly after they appear. `LetterClient` composes
 * it; nothing here is public API.
 */
import type { Conversation, Message, User } from '@letter/protocol';
import type { AuthSession } from './auth.js';
import type { Clock, TimerHandle } from './clock.js';
import type { Connection, PushFrame } from './connection.js';
import type { Outbox } from './outbox/outbox.js';
import type { PositionReporter } from './positions.js';
import { frameToEvent } from './state/reduce.js';
import type { StateStore } from './state-store.js';
import type { Catchup } from './sync.js';
import type { TypingExpiry } from './typing.js';

export interface LiveDeps {
  connection: Connection;
  auth: AuthSession;
  store: StateStore;
  clock: Clock;
  outbox: Outbox;
  positions: PositionReporter;
  catchup: Catchup;
  typingExpiry: TypingExpiry;
  gapCheckDelayMs: number;
  /** A new live message from someone else: the client's `message` event. */
  notify(event: { message: Message; conversation: Conversation }): void;
  /** Something failed in the background: the client's `error` event. */
  report(context: string, error: unknown): void;
}

export class LiveEvents {
  private readonly connection: Connection;
  private readonly auth: AuthSession;
  private readonly store: StateStore;
  private readonly clock: Clock;
  private readonly outbox: Outbox;
  private readonly positions: PositionReporter;
  private readonly catchup: Catchup;
  private readonly typingExpiry: TypingExpiry;
  private readonly gapCheckDelayMs: number;
  private readonly gapChecks = new Map<string, TimerHandle>();
  private readonly getSnapshot: StateStore['getSnapshot'];
  private syncingNow = false;
  private resumeRun = 0;

  constructor(private readonly deps: LiveDeps) {
    this.connection = deps.connection;
    this.auth = deps.auth;
    this.store = deps.store;
    this.clock = deps.clock;
    this.outbox = deps.outbox;
    this.positions = deps.positions;
    this.catchup = deps.catchup;
    this.typingExpiry = deps.typingExpiry;
    this.gapCheckDelayMs = deps.gapCheckDelayMs;
    this.getSnapshot = deps.store.getSnapshot;
    this.connection.events.on('ready', (frame) => void this.onReady(frame.user));
    this.connection.events.on('frame', (frame) => this.onFrame(frame));
  }

  /** True from `ready` until the resume is done: the outbox waits meanwhile. */
  get syncing(): boolean {
    return this.syncingNow;
  }

  /** Stops the pending gap checks (the client is closing). */
  close(): void {
    for (const handle of this.gapChecks.values()) this.clock.clearTimeout(handle);
  }

  private async onReady(user: User): Promise<void> {
    const run = ++this.resumeRun;
    const isCurrent = () => run === this.resumeRun && this.connection.status === 'online';
    this.auth.setUser(user);
    this.setSyncing(true);
    try {
      await this.catchup.resume(isCurrent);
      if (isCurrent()) {
        // Unsent messages for conversations that no longer exist (gone while this tab was closed).
        this.outbox.retainConversations((id) => id in this.getSnapshot().conversations);
        this.reportListDelivered();
      }
    } catch (error) {
      if (isCurrent()) this.report('sync', error);
    } finally {
      if (run === this.resumeRun) {
        this.setSyncing(false);
        this.outbox.kick();
        this.positions.flush();
      }
    }
  }

  private onFrame(frame: PushFrame): void {
    switch (frame.type) {
      case 'message':
        return this.receive(frame.message, true);
      case 'conversation.removed':
        return this.dropConversation(frame.conversationId);
      case 'conversation':
        this.store.dispatch({ type: 'conversation', conversation: frame.conversation });
        return this.checkGapSoon(frame.conversation.id);
      case 'conversation.changed':
        return void this.catchup
          .applyChange(frame)
          .catch((error: unknown) => this.deps.report('fetch conversation', error));
      case 'typing':
        this.store.dispatch(frameToEvent(frame, this.clock.now()));
        return this.typingExpiry.schedule();
      default:
        this.store.dispatch(frameToEvent(frame, this.clock.now()));
    }
  }

  /** A message from a frame or a send's `ok`: dedup, outbox, delivery report, notification. */
  receive(message: Message, live: boolean): void {
    const id = message.conversationId;
    const before = this.getSnapshot().conversations[id];
    this.outbox.acknowledge(message);
    const me = this.getSnapshot().me?.id;
    if (!before) {
      // A conversation we do not know yet (someone wrote to us first): its snapshot covers this.
      void this.catchup.fetchConversation(id).then(
        (conversation) => {
          if (conversation && live && message.senderId !== me) {
            this.positions.delivered(id, message.seq);
            this.deps.notify({ message, conversation });
          }
        },
        (error: unknown) => this.report('fetch conversation', error),
      );
      return;
    }
    this.store.dispatch({ type: 'message', message });
    if (message.senderId === me) return;
    this.positions.delivered(id, message.seq);
    this.checkGapSoon(id);
    const after = this.getSnapshot().conversations[id];
    if (live && after && message.seq > before.lastSeq) {
      this.deps.notify({ message, conversation: after });
    }
  }

  /**
   * The list itself reached this device (previews, unread counts): that is "delivered" for the
   * sender's ticks, even for conversations whose messages were never paged in.
   */
  private reportListDelivered(): void {
    const state = this.getSnapshot();
    const me = state.me?.id;
    for (const conversation of Object.values(state.conversations)) {
      const mine = conversation.members.find((m) => m.user.id === me);
      if (mine && mine.deliveredSeq < conversation.lastSeq) {
        this.positions.delivered(conversation.id, conversation.lastSeq);
      }
    }
  }

  /** Messages that arrived over REST (catch-up, paging): "delivered" for the others' ones. */
  reportDelivered(id: string, messages: readonly Message[]): void {
    const me = this.getSnapshot().me?.id;
    let seq = 0;
    for (const message of messages) if (message.senderId !== me) seq = Math.max(seq, message.seq);
    if (seq > 0) this.positions.delivered(id, seq);
  }

  /**
   * A hole above the cursor while live: usually a reordering that heals itself within moments,
   * so look again shortly before paging REST. During a resume the catch-up handles it.
   */
  private checkGapSoon(id: string): void {
    if (this.syncing || this.gapChecks.has(id) || !this.catchup.needsFill(id)) return;
    this.gapChecks.set(
      id,
      this.clock.setTimeout(() => {
        this.gapChecks.delete(id);
        if (this.syncing || this.connection.status !== 'online') return;
        this.catchup.fillGap(id).catch((error: unknown) => this.report('gap fill', error));
      }, this.gapCheckDelayMs),
    );
  }

  /** A conversation is gone for us: state, outbox, positions. */
  dropConversation(id: string): void {
    this.store.dispatch({ type: 'conversation.removed', conversationId: id });
    this.outbox.dropConversation(id);
    this.positions.forget(id);
  }

  private setSyncing(syncing: boolean): void {
    this.syncingNow = syncing;
    this.store.dispatch({ type: 'syncing', syncing });
  }

  private report(context: string, error: unknown): void {
    this.deps.report(context, error);
  }
}
