/**
 * The hub routes events to the sockets of users, on this node and (through the bus) every
 * other node. It knows connections, not conversations: callers say which users get a frame.
 *
 * Architecture Invariant: the hub only publishes events for changes the store has committed.
 * Architecture Invariant: a frame is serialized once per fan-out, never once per recipient.
 */
import type { Bus } from '../bus/bus.js';

/** One authenticated socket, as the transport exposes it. */
export interface Connection {
  readonly id: string;
  readonly userId: string;
  readonly sessionId: string;
  /**
   * Sends a serialized text frame; a slow consumer is cut off by the transport. `key` names the
   * message a `message` frame carries, so a connection replaying history can drop duplicates.
   */
  send(frame: Buffer, key?: MessageKey): void;
  close(code: number, reason: string): void;
}

export interface MessageKey {
  conversationId: string;
  seq: number;
}

const CHANNEL = 'letter:events';
/** How many revoked session ids a hub remembers: far more than can be mid-handshake at once. */
const REVOKED_MEMORY = 10_000;

export type HubEvent =
  | { kind: 'sessions-revoked'; sessionIds: string[] }
  | { kind: 'membership-changed'; conversationId: string };

export class Hub {
  private readonly byUser = new Map<string, Set<Connection>>();
  private readonly bySession = new Map<string, Set<Connection>>();
  private readonly listeners: ((event: HubEvent) => void)[] = [];
  private unsubscribe: (() => Promise<void>) | undefined;
  /**
   * Sessions revoked lately, oldest first. A socket can pass its token check just before its
   * session is revoked and attach just after the revocation event went by; it must die too.
   */
  private readonly revoked = new Set<string>();

  constructor(private readonly bus: Bus) {}

  async start(): Promise<void> {
    this.unsubscribe = await this.bus.subscribe(CHANNEL, (payload) => this.onPayload(payload));
  }

  async stop(): Promise<void> {
    await this.unsubscribe?.();
  }

  /** Hears cluster-wide events (revocations, membership changes) from every node. */
  onEvent(listener: (event: HubEvent) => void): void {
    this.listeners.push(listener);
  }

  attach(connection: Connection): void {
    if (this.revoked.has(connection.sessionId)) return connection.close(4401, 'session ended');
    addTo(this.byUser, connection.userId, connection);
    addTo(this.bySession, connection.sessionId, connection);
  }

  detach(connection: Connection): void {
    removeFrom(this.byUser, connection.userId, connection);
    removeFrom(this.bySession, connection.sessionId, connection);
  }

  get connectionCount(): number {
    let n = 0;
    for (const set of this.byUser.values()) n += set.size;
    return n;
  }

  /** Sessions of this user on this node. */
  localConnections(userId: string): number {
    return this.byUser.get(userId)?.size ?? 0;
  }

  allConnections(): Connection[] {
    return [...this.byUser.values()].flatMap((set) => [...set]);
  }

  /**
   * Sends `frame` to every session of `userIds` on every node, except the connection
   * `exceptConnectionId` (the sender's own socket, which gets an `ok` instead).
   */
  deliver(
    userIds: readonly string[],
    frame: object,
    exceptConnectionId = '',
    key?: MessageKey,
  ): void {
    if (userIds.length === 0) return;
    this.deliverJson(userIds, JSON.stringify(frame), exceptConnectionId, key);
  }

  /** `deliver` for a frame already serialized (a message's JSON is made once: `messageJson`). */
  deliverJson(
    userIds: readonly string[],
    json: string,
    exceptConnectionId = '',
    key?: MessageKey,
  ): void {
    if (userIds.length === 0) return;
    const keyText = key ? `${key.seq} ${key.conversationId}` : '';
    void this.bus.publish(
      CHANNEL,
      `D${exceptConnectionId}|${keyText}|${userIds.join(',')}\n${json}`,
    );
  }

  publish(event: HubEvent): void {
    void this.bus.publish(CHANNEL, `E${JSON.stringify(event)}`);
  }

  private onPayload(payload: string): void {
    if (payload.startsWith('D')) return this.deliverLocally(payload);
    if (payload.startsWith('E')) {
      const event = JSON.parse(payload.slice(1)) as HubEvent;
      if (event.kind === 'sessions-revoked') {
        for (const sessionId of event.sessionIds) {
          this.rememberRevoked(sessionId);
          for (const connection of this.bySession.get(sessionId) ?? []) {
            connection.close(4401, 'session ended');
          }
        }
      }
      for (const listener of this.listeners) listener(event);
    }
  }

  private rememberRevoked(sessionId: string): void {
    this.revoked.add(sessionId);
    for (const oldest of this.revoked) {
      if (this.revoked.size <= REVOKED_MEMORY) break;
      this.revoked.delete(oldest);
    }
  }

  private deliverLocally(payload: string): void {
    const newline = payload.indexOf('\n');
    const bar = payload.indexOf('|');
    const bar2 = payload.indexOf('|', bar + 1);
    const except = payload.slice(1, bar);
    const keyText = payload.slice(bar + 1, bar2);
    const space = keyText.indexOf(' ');
    const key = keyText
      ? { seq: Number(keyText.slice(0, space)), conversationId: keyText.slice(space + 1) }
      : undefined;
    const users = payload.slice(bar2 + 1, newline).split(',');
    let frame: Buffer | undefined;
    for (const userId of users) {
      const connections = this.byUser.get(userId);
      if (!connections) continue;
      // Encoded lazily and once: nodes with no recipient pay nothing.
      frame ??= Buffer.from(payload.slice(newline + 1));
      for (const connection of connections) {
        if (connection.id !== except) connection.send(frame, key);
      }
    }
  }
}

function addTo(map: Map<string, Set<Connection>>, key: string, connection: Connection): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(connection);
}

function removeFrom(map: Map<string, Set<Connection>>, key: string, connection: Connection): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(connection);
  if (set.size === 0) map.delete(key);
}

const messageJsonCache = new WeakMap<object, string>();

/** A message's JSON, made once however many frames carry it (the event and the sender's ok). */
export function messageJson(message: object): string {
  let json = messageJsonCache.get(message);
  if (json === undefined) messageJsonCache.set(message, (json = JSON.stringify(message)));
  return json;
}

/** The `message` event frame, built around the message's cached JSON. */
export function messageFrameJson(message: object): string {
  return `{"type":"message","message":${messageJson(message)}}`;
}
