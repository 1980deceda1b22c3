/**
 * The hub routes events to the sockets of users, on this node directly and (through the bus)
 * every other node. It knows connections, not conversations: callers say which users get a frame.
 *
 * Architecture Invariant: the hub only publishes events for changes the store has committed.
 * Architecture Invariant: a frame is serialized once per fan-out, never once per recipient
 * (except a message with attachments, whose URLs are signed per recipient: ChatService).
 * Architecture Invariant: local delivery never waits for the bus. This node's sockets get a frame
 * at once, in call (commit) order; the bus carries it only to other nodes, tagged with this
 * node's id so this node skips its own payloads, and only once another node has been heard of.
 * Architecture Invariant: with routes (presence), a delivery is published only on the channels of
 * the nodes that hold a recipient; cluster-wide events go to every node on HUB_CHANNEL. A
 * recipient announced on a node after a delivery was routed without it gets it replayed there.
 */
import { randomBytes } from 'node:crypto';
import type { Bus } from '../bus/bus.js';
import { RecentDeliveries } from './recent.js';
import { messageJson } from '../util/message-json.js';

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

/** `:2`: payloads carry the publishing node's id since issue 10; older nodes never hear them. */
export const HUB_CHANNEL = 'letter:events:2';
/** The channel of one node: deliveries routed to the users it holds (issue 12). */
export function nodeChannel(nodeId: string): string {
  return `letter:node:${nodeId}`;
}
/** How many revoked session ids a hub remembers: far more than can be mid-handshake at once. */
const REVOKED_MEMORY = 10_000;
/** Cluster-wide events whose publish failed, kept to re-publish when the bus is back. */
const PENDING_MAX = 10_000;

export type HubEvent =
  | { kind: 'sessions-revoked'; sessionIds: string[] }
  | { kind: 'membership-changed'; conversationId: string }
  /**
   * Local only: the bus came back after an outage, so events of other nodes may have been
   * missed (listeners drop what they cached from them, e.g. member lists).
   */
  | { kind: 'bus-restored' }
  /**
   * These users' sockets (every socket when `userIds` is absent) may have missed live events in
   * a bus outage: each node closes theirs with 1012, and the clients reconnect and `sync`.
   */
  | { kind: 'resync'; userIds?: string[] }
  /**
   * A user's read position moved: the node that pushed them a message there sends a `read`
   * push (push/pusher.ts). Published only for users who may have push subscriptions.
   */
  | { kind: 'read-moved'; userId: string; conversationId: string; seq: number };

export interface HubLog {
  warn(object: object, message: string): void;
  info(object: object, message: string): void;
}

/** Where users have sessions on other nodes, kept from presence gossip (`BusPresence`). */
export interface DeliveryRoutes {
  /** Other nodes holding a session of `userId` (this node not included). */
  nodesOf(userId: string): ReadonlySet<string> | undefined;
  /** Called when `nodeId` is newly known to hold a session of `userId`. */
  onArrival(listener: (userId: string, nodeId: string) => void): void;
}

export interface HubOptions {
  /** This node's id (presence uses the same); payloads carry it so a node skips its own. */
  nodeId?: string;
  /**
   * False while no other node may exist (none has ever been heard of): then nothing goes over
   * the bus at all. Without it, every delivery is published for other nodes.
   */
  hasPeers?: () => boolean;
  /**
   * Told when the bus comes back after an outage, with this node's live sessions: resolves to
   * those the store says have ended (a revocation published while the bus was away).
   */
  endedSessions?: (sessionIds: string[]) => Promise<string[]>;
  /** Resync closes are spread over this long, so clients do not all reconnect at once. */
  resyncSpreadMs?: number;
  /**
   * With routes, a delivery is published only to the nodes that hold a recipient (on their own
   * channel); without, it is broadcast on HUB_CHANNEL to every node.
   */
  routes?: DeliveryRoutes;
  log?: HubLog;
}

/** 1012 "restart": the client reconnects with jitter and syncs from its cursors. */
const RESYNC_CLOSE = { code: 1012, reason: 'reconnect and sync: events may have been missed' };

export class Hub {
  readonly nodeId: string;
  private readonly byUser = new Map<string, Set<Connection>>();
  private readonly bySession = new Map<string, Set<Connection>>();
  private readonly listeners: ((event: HubEvent) => void)[] = [];
  private unsubscribe: (() => Promise<void>) | undefined;
  private unsubscribeOwn: (() => Promise<void>) | undefined;
  /** Routed deliveries of the last seconds, replayed to a node where a recipient turns up. */
  readonly recent = new RecentDeliveries();
  /**
   * Sessions revoked lately, oldest first. A socket can pass its token check just before its
   * session is revoked and attach just after the revocation event went by; it must die too.
   */
  private readonly revoked = new Set<string>();
  /** What could not be published (revoked sessions, changed conversations); sent again on up. */
  private pendingRevoked = new Set<string>();
  private pendingMembers = new Set<string>();
  /** Recipients of deliveries whose publish failed: other nodes' sockets of them resync on up. */
  private pendingResync = new Set<string>();
  /** More recipients failed than PENDING_MAX: every socket everywhere resyncs on up. */
  private resyncEveryone = false;
  private busFailing = false;
  private stopped = false;
  /** Routed deliveries of this turn, per node channel, published together (`flushRouted`). */
  private routed = new Map<string, { payloads: string[]; missed: (() => void)[] }>();
  private flushing = false;
  /** Publishes of this hub that failed (bus away or saturated); the bus is never the only copy. */
  publishFailures = 0;

  constructor(
    private readonly bus: Bus,
    private readonly options: HubOptions = {},
  ) {
    this.nodeId = options.nodeId ?? randomBytes(6).toString('hex');
  }

  async start(): Promise<void> {
    this.bus.onUp?.(() => this.busUp());
    this.unsubscribe = await this.bus.subscribe(HUB_CHANNEL, (payload) => this.onPayload(payload));
    const routes = this.options.routes;
    if (!routes) return;
    this.unsubscribeOwn = await this.bus.subscribe(nodeChannel(this.nodeId), (payload) =>
      this.onPayload(payload),
    );
    routes.onArrival((userId, nodeId) => this.replayTo(userId, nodeId));
  }

  async stop(): Promise<void> {
    this.flushRouted();
    this.stopped = true;
    await this.unsubscribe?.();
    await this.unsubscribeOwn?.();
  }

  /** Hears cluster-wide events (revocations, membership changes) from every node, this one too. */
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

  /**
   * `deliver` for a frame already serialized (a message's JSON is made once: `messageJson`).
   * This node's sockets get it now; other nodes through the bus.
   */
  deliverJson(
    userIds: readonly string[],
    json: string,
    exceptConnectionId = '',
    key?: MessageKey,
  ): void {
    if (userIds.length === 0) return;
    this.sendToLocal(userIds, json, exceptConnectionId, key);
    if (!this.hasPeers()) return;
    const keyText = key ? `${key.seq} ${key.conversationId}` : '';
    const payload = `D${this.nodeId}|${exceptConnectionId}|${keyText}|${userIds.join(',')}\n${json}`;
    const routes = this.options.routes;
    const missed = () => this.missedBy(userIds);
    if (!routes) return this.send(payload, missed);
    const nodes = new Set<string>();
    for (const userId of userIds) {
      for (const nodeId of routes.nodesOf(userId) ?? []) nodes.add(nodeId);
    }
    for (const nodeId of nodes) this.sendRouted(payload, missed, nodeChannel(nodeId));
    this.recent.record(userIds, { except: exceptConnectionId, keyText, json, nodes: [...nodes] });
  }

  /**
   * `nodeId` now holds a session of `userId`: deliveries routed without it in the last seconds
   * go there too (the session's sync may have read the store before they were committed).
   * Duplicates are harmless: a connection drops a `message` its sync replay already carried.
   */
  private replayTo(userId: string, nodeId: string): void {
    if (this.stopped || nodeId === this.nodeId) return;
    for (const d of this.recent.missedBy(userId, nodeId)) {
      const payload = `D${this.nodeId}|${d.except}|${d.keyText}|${userId}\n${d.json}`;
      this.sendRouted(payload, () => this.missedBy([userId]), nodeChannel(nodeId));
    }
  }

  /**
   * Queues a routed delivery for `channel`; the turn's deliveries go out at its end, one publish
   * per node (a batch of appends answers many sends at once, and each publish costs both nodes
   * and Redis a command whatever its size). Same order as queued; `missed` each on a failure.
   */
  private sendRouted(payload: string, missed: () => void, channel: string): void {
    let queued = this.routed.get(channel);
    if (!queued) this.routed.set(channel, (queued = { payloads: [], missed: [] }));
    queued.payloads.push(payload);
    queued.missed.push(missed);
    if (this.flushing) return;
    this.flushing = true;
    // After the promise jobs of this turn: every answer of a batch is delivered by then.
    process.nextTick(() => this.flushRouted());
  }

  /**
   * Publishes the queued routed deliveries: one alone as it is (`D…`), more as `B<node>|<length
   * of each>,…` + a newline + their payloads back to back.
   */
  private flushRouted(): void {
    this.flushing = false;
    const routed = this.routed;
    if (routed.size === 0) return;
    this.routed = new Map();
    for (const [channel, { payloads, missed }] of routed) {
      const onFailure = () => missed.forEach((m) => m());
      if (payloads.length === 1) {
        this.send(payloads[0]!, onFailure, channel);
        continue;
      }
      const lengths = payloads.map((p) => p.length).join(',');
      this.send(`B${this.nodeId}|${lengths}\n${payloads.join('')}`, onFailure, channel);
    }
  }

  /** `deliver` to this node's sockets only (corrections each node makes for its own sockets). */
  deliverHere(userIds: readonly string[], frame: object): void {
    if (userIds.length > 0) this.sendToLocal(userIds, JSON.stringify(frame), '', undefined);
  }

  /** Handles `event` on this node at once and publishes it for the others. */
  publish(event: HubEvent): void {
    this.handleEvent(event);
    if (this.hasPeers()) this.publishEvent(event);
  }

  /** Sessions ended without this node hearing of it: closed here like a revocation event. */
  endSessions(sessionIds: string[]): void {
    if (sessionIds.length > 0) this.handleEvent({ kind: 'sessions-revoked', sessionIds });
  }

  private hasPeers(): boolean {
    return this.options.hasPeers?.() ?? true;
  }

  private publishEvent(event: HubEvent): void {
    this.send(`E${this.nodeId}|${JSON.stringify(event)}`, () => {
      if (event.kind === 'sessions-revoked')
        for (const id of event.sessionIds) addBounded(this.pendingRevoked, id);
      if (event.kind === 'membership-changed')
        addBounded(this.pendingMembers, event.conversationId);
    });
  }

  /** Publishes for other nodes; a failure is logged (once per outage) and never thrown. */
  private send(payload: string, onFailure?: () => void, channel = HUB_CHANNEL): void {
    let published: Promise<void>;
    try {
      published = this.bus.publish(channel, payload);
    } catch (error) {
      published = Promise.reject(error);
    }
    published.then(
      () => {
        if (!this.busFailing) return;
        this.busFailing = false;
        this.options.log?.info({ failures: this.publishFailures }, 'bus: publishing again');
      },
      (error: unknown) => {
        this.publishFailures++;
        onFailure?.();
        if (this.busFailing) return;
        this.busFailing = true;
        this.options.log?.warn(
          { err: error },
          'bus: publish failed; other nodes miss live events until it is back (sync recovers them)',
        );
      },
    );
  }

  /** A delivery to `userIds` could not be published: their sockets elsewhere resync on up. */
  private missedBy(userIds: readonly string[]): void {
    for (const userId of userIds) {
      if (this.resyncEveryone) return;
      this.pendingResync.add(userId);
      if (this.pendingResync.size > PENDING_MAX) {
        this.resyncEveryone = true;
        this.pendingResync.clear();
      }
    }
  }

  /**
   * The bus is up (at first, or again after an outage): re-publish what failed, re-check this
   * node's sessions against the store, tell listeners, and resync: this node's sockets may have
   * missed other nodes' events while it could not hear them, and other nodes' sockets may have
   * missed the deliveries this node could not publish. A resync closes those sockets with 1012
   * (after the re-check, so a revoked session still gets 4401); their clients reconnect and
   * `sync`, which re-reads from the store what the bus lost. At start-up there is no socket yet.
   */
  private busUp(): void {
    if (this.stopped) return;
    const revoked = [...this.pendingRevoked];
    const changed = [...this.pendingMembers];
    this.pendingRevoked = new Set();
    this.pendingMembers = new Set();
    for (let i = 0; i < revoked.length; i += 1000) {
      this.publishEvent({ kind: 'sessions-revoked', sessionIds: revoked.slice(i, i + 1000) });
    }
    for (const conversationId of changed)
      this.publishEvent({ kind: 'membership-changed', conversationId });
    for (const listener of this.listeners) listener({ kind: 'bus-restored' });
    const missed = [...this.pendingResync];
    const everyone = this.resyncEveryone;
    this.pendingResync = new Set();
    this.resyncEveryone = false;
    if (everyone) this.publishEvent({ kind: 'resync' });
    for (let i = 0; !everyone && i < missed.length; i += 1000)
      this.publishEvent({ kind: 'resync', userIds: missed.slice(i, i + 1000) });
    const check = this.options.endedSessions;
    if (!check || this.bySession.size === 0) return this.resyncHere(this.allConnections());
    check([...this.bySession.keys()]).then(
      (ended) => {
        this.endSessions(ended);
        this.resyncHere(this.allConnections());
      },
      (error: unknown) => {
        this.options.log?.warn({ err: error }, 'bus: could not re-check sessions after an outage');
        this.resyncHere(this.allConnections());
      },
    );
  }

  /** Closes `connections` with 1012, spread over `resyncSpreadMs`. */
  private resyncHere(connections: Connection[]): void {
    if (connections.length === 0) return;
    this.options.log?.info(
      { sockets: connections.length },
      'bus: resyncing sockets after an outage',
    );
    const spread = this.options.resyncSpreadMs ?? 2000;
    connections.forEach((connection, index) => {
      const close = () => connection.close(RESYNC_CLOSE.code, RESYNC_CLOSE.reason);
      if (spread === 0) return close();
      setTimeout(close, (spread * index) / connections.length).unref();
    });
  }

  private onPayload(payload: string): void {
    const bar = payload.indexOf('|');
    if (payload.slice(1, bar) === this.nodeId) return; // delivered here when published
    try {
      if (payload.startsWith('D')) return this.deliverFromBus(payload, bar);
      if (payload.startsWith('B')) return this.deliverBatchFromBus(payload, bar);
      if (payload.startsWith('E')) this.handleEvent(JSON.parse(payload.slice(bar + 1)) as HubEvent);
    } catch (error) {
      // A bad payload (another version, a stray publisher) must not end the process.
      this.options.log?.warn({ err: error }, 'bus: dropped a payload the hub cannot read');
    }
  }

  private handleEvent(event: HubEvent): void {
    if (event.kind === 'resync') {
      const users = event.userIds;
      this.resyncHere(
        users === undefined
          ? this.allConnections()
          : users.flatMap((userId) => [...(this.byUser.get(userId) ?? [])]),
      );
    }
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

  private rememberRevoked(sessionId: string): void {
    this.revoked.add(sessionId);
    for (const oldest of this.revoked) {
      if (this.revoked.size <= REVOKED_MEMORY) break;
      this.revoked.delete(oldest);
    }
  }

  /** A `B` payload (flushRouted): its deliveries, each checked whole before any is made. */
  private deliverBatchFromBus(payload: string, bar: number): void {
    const newline = payload.indexOf('\n');
    const parts: string[] = [];
    let at = newline + 1;
    for (const length of payload.slice(bar + 1, newline).split(',')) {
      const part = payload.slice(at, (at += Number(length)));
      if (!/^\d+$/.test(length) || !part.startsWith('D')) throw new Error('bad batch payload');
      parts.push(part);
    }
    if (at !== payload.length) throw new Error('bad batch payload');
    for (const part of parts) this.deliverFromBus(part, part.indexOf('|'));
  }

  private deliverFromBus(payload: string, bar: number): void {
    const newline = payload.indexOf('\n');
    const bar2 = payload.indexOf('|', bar + 1);
    const bar3 = payload.indexOf('|', bar2 + 1);
    const except = payload.slice(bar + 1, bar2);
    const keyText = payload.slice(bar2 + 1, bar3);
    const space = keyText.indexOf(' ');
    const key = keyText
      ? { seq: Number(keyText.slice(0, space)), conversationId: keyText.slice(space + 1) }
      : undefined;
    const users = payload.slice(bar3 + 1, newline).split(',');
    this.sendToLocal(users, payload.slice(newline + 1), except, key);
  }

  private sendToLocal(
    users: readonly string[],
    json: string,
    except: string,
    key: MessageKey | undefined,
  ): void {
    let frame: Buffer | undefined;
    for (const userId of users) {
      const connections = this.byUser.get(userId);
      if (!connections) continue;
      // Encoded lazily and once: a node with no recipient pays nothing.
      frame ??= Buffer.from(json);
      for (const connection of connections) {
        if (connection.id !== except) connection.send(frame, key);
      }
    }
  }
}

/** Adds to an insertion-ordered set, forgetting the oldest beyond PENDING_MAX. */
function addBounded(set: Set<string>, value: string): void {
  set.add(value);
  for (const oldest of set) {
    if (set.size <= PENDING_MAX) break;
    set.delete(oldest);
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

export { messageJson };

/** The `message` event frame, built around the message's cached JSON. */
export function messageFrameJson(message: object): string {
  return `{"type":"message","message":${messageJson(message)}}`;
}
