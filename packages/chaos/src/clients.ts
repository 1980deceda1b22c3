/**
 * Real `@letter/sdk` clients in Node for the chaos suite: each signs in through a client proxy,
 * sends at a steady bounded rate with its own unique clientMsgIds, and records every `ok` the
 * server sends for them (the acks the suite then holds the server and every member to).
 */
import { LetterClient, type ClientState, type WebSocketConstructor } from '@letter/sdk';
import { WebSocket } from 'ws';

/** Fast enough to notice a dead or half-open path within seconds, not the browser's minute. */
const timings = {
  requestTimeoutMs: 5_000,
  connectTimeoutMs: 5_000,
  pingIntervalMs: 2_000,
  pingTimeoutMs: 2_000,
  stableAfterMs: 3_000,
  syncTimeoutMs: 15_000,
};

export interface Ack {
  conversationId: string;
  clientMsgId: string;
  seq: number;
}

/** `ws`'s WebSocket, also showing us every `ok` for a send before the sdk handles it. */
function sniffingWebSocket(onAck: (ack: Ack) => void): WebSocketConstructor {
  class Sniffing extends WebSocket {
    constructor(url: string) {
      super(url);
      this.on('message', (data) => {
        const frame = parseFrame(String(data));
        const message = frame?.message;
        if (frame?.type !== 'ok' || !message || typeof message.clientMsgId !== 'string') return;
        onAck({
          conversationId: message.conversationId,
          clientMsgId: message.clientMsgId,
          seq: message.seq,
        });
      });
    }
  }
  return Sniffing as unknown as WebSocketConstructor;
}

interface OkFrame {
  type?: string;
  message?: { conversationId: string; clientMsgId: unknown; seq: number };
}

function parseFrame(text: string): OkFrame | null {
  try {
    return JSON.parse(text) as OkFrame;
  } catch {
    return null;
  }
}

export class ChaosClient {
  readonly sdk: LetterClient;
  userId = '';
  /** clientMsgId → the server's ack (the first one; a later one must agree). */
  readonly acks = new Map<string, Ack>();
  /** Acks that named another seq than an earlier ack of the same clientMsgId. */
  readonly conflictingAcks: string[] = [];
  /** clientMsgId → conversation, for everything composed. */
  readonly composed = new Map<string, string>();
  conversations: string[] = [];
  private counter = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly backgroundErrors: string[] = [];

  constructor(
    readonly username: string,
    baseUrl: string,
  ) {
    this.sdk = new LetterClient({
      baseUrl,
      WebSocket: sniffingWebSocket((ack) => this.recordAck(ack)),
      authMode: 'token',
      watchNetwork: false,
      newId: () => `${username}-${++this.counter}`,
      backoff: { baseMs: 200, capMs: 2_000 },
      timings,
    });
    this.sdk.events.on('error', ({ context, error }) => {
      this.backgroundErrors.push(`${context}: ${String(error)}`);
    });
  }

  async register(): Promise<void> {
    const user = await this.sdk.register({
      username: this.username,
      password: 'chaos-password-123',
    });
    this.userId = user.id;
  }

  get state(): ClientState {
    return this.sdk.getSnapshot();
  }

  /** Composes one message every `intervalMs` into a random conversation of its own. */
  startLoad(intervalMs: number, maxPending: number): void {
    this.stopLoad();
    this.timer = setInterval(() => this.sendOne(maxPending), intervalMs);
  }

  stopLoad(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Messages composed and not yet in the timeline (pending or failed). */
  pendingCount(): number {
    return Object.values(this.state.pending).reduce((sum, list) => sum + list.length, 0);
  }

  close(): void {
    this.stopLoad();
    this.sdk.close();
  }

  /** `count` messages at once (still bounded by `maxPending`), e.g. just before a kill. */
  burst(count: number, maxPending: number): void {
    for (let i = 0; i < count; i++) this.sendOne(maxPending);
  }

  private sendOne(maxPending: number): void {
    const state = this.state;
    if (this.pendingCount() >= maxPending) return;
    const known = this.conversations.filter((id) => state.conversations[id]);
    const conversationId = known[Math.floor(Math.random() * known.length)];
    if (!conversationId) return;
    const pending = this.sdk.send(conversationId, `chaos from ${this.username} #${this.counter}`);
    this.composed.set(pending.clientMsgId, conversationId);
  }

  private recordAck(ack: Ack): void {
    if (!this.composed.has(ack.clientMsgId)) return;
    const earlier = this.acks.get(ack.clientMsgId);
    if (!earlier) this.acks.set(ack.clientMsgId, ack);
    else if (earlier.seq !== ack.seq || earlier.conversationId !== ack.conversationId) {
      this.conflictingAcks.push(`${ack.clientMsgId}: seq ${earlier.seq} then ${ack.seq}`);
    }
  }
}
