/**
 * Cluster-wide presence over the bus. Each node counts its own sessions per user and tells the
 * others when a user appears on it or leaves it; every node thus knows, for every user, which
 * nodes hold a session. With one node and a private memory bus this is plain local presence.
 *
 * - A node that starts asks the others for their lists, so it knows who is online elsewhere.
 *   So does a node whose bus comes back after an outage, and it sends its own list: each list
 *   replaces what the others knew of that node, and a user whose state changed meanwhile (the
 *   announcement was lost with the bus) gets a `localOnly` correction on every node.
 * - Nodes send heartbeats; a node not heard from for `nodeTimeoutMs` is presumed dead and its
 *   users are dropped, so a crashed node does not leave people online forever.
 * - Going offline waits `graceMs` after the user's last session anywhere, so a reload (even onto
 *   another node) does not flap. The node where the last session closed announces it.
 */
import { randomBytes } from 'node:crypto';
import type { Bus } from '../bus/bus.js';
import type { Clock } from '../util/clock.js';
import type { Presence, PresenceChange } from './presence.js';

const CHANNEL = 'letter:presence';

export interface BusPresenceOptions {
  graceMs: number;
  heartbeatMs?: number;
  nodeTimeoutMs?: number;
  nodeId?: string;
  log?: { warn(object: object, message: string): void };
}

export class BusPresence implements Presence {
  readonly nodeId: string;
  private readonly local = new Map<string, number>();
  private readonly remote = new Map<string, Set<string>>();
  private readonly nodeSeen = new Map<string, number>();
  private readonly pendingOffline = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly listeners: ((change: PresenceChange) => void)[] = [];
  private readonly arrivals: ((userId: string, nodeId: string) => void)[] = [];
  private readonly graceMs: number;
  private readonly heartbeatMs: number;
  private readonly nodeTimeoutMs: number;
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private unsubscribe: (() => Promise<void>) | undefined;
  private readonly log: BusPresenceOptions['log'];
  private peersSeen = false;
  private failing = false;
  private stopped = false;

  constructor(
    private readonly bus: Bus,
    private readonly clock: Clock,
    options: BusPresenceOptions,
  ) {
    this.nodeId = options.nodeId ?? randomBytes(6).toString('hex');
    this.graceMs = options.graceMs;
    this.heartbeatMs = options.heartbeatMs ?? 10_000;
    this.nodeTimeoutMs = options.nodeTimeoutMs ?? 35_000;
    this.log = options.log;
  }

  async start(): Promise<void> {
    this.bus.onUp?.(() => {
      if (this.stopped) return;
      // Back after an outage (or first connected): tell the others who is here, ask for theirs.
      this.send('F', [...this.local.keys()].join(','));
      this.send('S', '');
    });
    this.unsubscribe = await this.bus.subscribe(CHANNEL, (payload) => this.onPayload(payload));
    this.send('S', '');
    this.heartbeat = setInterval(() => {
      this.send('H', '');
      this.purgeDeadNodes();
    }, this.heartbeatMs);
    this.heartbeat.unref();
  }

  connect(userId: string): void {
    const count = (this.local.get(userId) ?? 0) + 1;
    this.local.set(userId, count);
    if (count > 1) return;
    this.send('U', userId);
    if (this.cancelOffline(userId)) return; // back within the grace period: nobody saw them go
    if (!this.remote.get(userId)?.size) this.emit({ userId, online: true, lastSeenAt: null });
  }

  disconnect(userId: string): void {
    const count = (this.local.get(userId) ?? 1) - 1;
    if (count > 0) {
      this.local.set(userId, count);
      return;
    }
    this.local.delete(userId);
    this.send('D', userId);
    if (!this.remote.get(userId)?.size) this.scheduleOffline(userId);
  }

  isOnline(userId: string): boolean {
    return (
      this.local.has(userId) ||
      Boolean(this.remote.get(userId)?.size) ||
      this.pendingOffline.has(userId)
    );
  }

  /** Whether the user has an open socket on any node now (no grace period: who a push skips). */
  hasSocket(userId: string): boolean {
    return this.local.has(userId) || Boolean(this.remote.get(userId)?.size);
  }

  /** Whether another node has ever been heard of: until then nothing needs the bus. */
  hasPeers(): boolean {
    return this.peersSeen;
  }

  /** Other nodes holding a session of `userId`: where the hub routes deliveries for them. */
  nodesOf(userId: string): ReadonlySet<string> | undefined {
    return this.remote.get(userId);
  }

  /** Hears each (user, node) pair newly known, from an announcement or a node's full list. */
  onArrival(listener: (userId: string, nodeId: string) => void): void {
    this.arrivals.push(listener);
  }

  onChange(listener: (change: PresenceChange) => void): void {
    this.listeners.push(listener);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.heartbeat);
    for (const timer of this.pendingOffline.values()) clearTimeout(timer);
    this.pendingOffline.clear();
    // The bus may be away while we stop; the subscription dies with the connection anyway.
    this.unsubscribe?.().catch(() => {});
  }

  private onPayload(payload: string): void {
    const kind = payload[0];
    const space = payload.indexOf(' ');
    const from = payload.slice(1, space);
    if (from === this.nodeId) return;
    this.peersSeen = true;
    const rest = payload.slice(space + 1);
    this.nodeSeen.set(from, this.clock.now());
    switch (kind) {
      case 'U':
        this.addRemote(rest, from);
        this.cancelOffline(rest); // they are on another node now: not offline
        break;
      case 'D':
        this.remote.get(rest)?.delete(from);
        break;
      case 'S':
        this.send('F', [...this.local.keys()].join(','));
        break;
      case 'F':
        this.replaceRemote(from, rest ? rest.split(',') : []);
        break;
      case 'X':
        this.dropNode(from, false);
        break;
    }
  }

  private addRemote(userId: string, nodeId: string): void {
    let nodes = this.remote.get(userId);
    if (!nodes) this.remote.set(userId, (nodes = new Set()));
    if (nodes.has(nodeId)) return;
    nodes.add(nodeId);
    for (const listener of this.arrivals) listener(userId, nodeId);
  }

  /** `nodeId`'s full list: replaces what was known of it; changes seen here are corrected here. */
  private replaceRemote(nodeId: string, userIds: string[]): void {
    const listed = new Set(userIds);
    const touched = new Set(userIds);
    for (const [userId, nodes] of this.remote) if (nodes.has(nodeId)) touched.add(userId);
    const before = new Map([...touched].map((userId) => [userId, this.isOnline(userId)]));
    for (const userId of touched) {
      if (listed.has(userId)) {
        this.addRemote(userId, nodeId);
        this.cancelOffline(userId);
        continue;
      }
      const nodes = this.remote.get(userId);
      nodes?.delete(nodeId);
      if (nodes?.size === 0) this.remote.delete(userId);
    }
    if (this.local.size === 0) return; // no socket here to correct (a node just started)
    for (const [userId, was] of before) {
      const now = this.isOnline(userId);
      if (now === was) continue;
      this.emit({
        userId,
        online: now,
        lastSeenAt: now ? null : this.clock.now(),
        localOnly: true,
      });
    }
  }

  private purgeDeadNodes(): void {
    // With the bus away every node is silent: that says nothing about them (`onUp` corrects).
    if (!this.bus.isUp()) return;
    const now = this.clock.now();
    for (const [nodeId, seen] of this.nodeSeen) {
      if (now - seen > this.nodeTimeoutMs) this.dropNode(nodeId, true);
    }
  }

  /** Forgets a node; when it died silently, the lowest surviving node announces who went offline. */
  private dropNode(nodeId: string, died: boolean): void {
    this.nodeSeen.delete(nodeId);
    const announce = died && [...this.nodeSeen.keys()].every((other) => other > this.nodeId);
    for (const [userId, nodes] of this.remote) {
      if (!nodes.delete(nodeId) || nodes.size > 0) continue;
      this.remote.delete(userId);
      if (announce && !this.local.has(userId))
        this.emit({ userId, online: false, lastSeenAt: this.clock.now() });
    }
  }

  private scheduleOffline(userId: string): void {
    const timer = setTimeout(() => {
      this.pendingOffline.delete(userId);
      if (this.isOnline(userId)) return;
      this.emit({ userId, online: false, lastSeenAt: this.clock.now() });
    }, this.graceMs);
    timer.unref();
    this.pendingOffline.set(userId, timer);
  }

  private cancelOffline(userId: string): boolean {
    const timer = this.pendingOffline.get(userId);
    if (!timer) return false;
    clearTimeout(timer);
    this.pendingOffline.delete(userId);
    return true;
  }

  /** Gossip is best effort: a failed publish is logged once per outage; `onUp` re-announces. */
  private send(kind: string, body: string): void {
    let published: Promise<void>;
    try {
      published = this.bus.publish(CHANNEL, `${kind}${this.nodeId} ${body}`);
    } catch (error) {
      published = Promise.reject(error);
    }
    published.then(
      () => {
        this.failing = false;
      },
      (error: unknown) => {
        if (this.failing) return;
        this.failing = true;
        this.log?.warn({ err: error }, 'presence: gossip publish failed (bus away)');
      },
    );
  }

  private emit(change: PresenceChange): void {
    for (const listener of this.listeners) listener(change);
  }
}
