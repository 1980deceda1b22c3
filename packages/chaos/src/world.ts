/**
 * One scenario's world: Letter nodes (child processes), a fault proxy in front of each node for
 * its clients, the sdk clients spread over those proxies, and the conversations they share.
 * `round` runs load, a fault, recovery and the checks of verify.ts, and reports what is new.
 */
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { FaultProxy, type FaultTarget } from '@letter/server/dist/testing/fault-proxy.js';
import { ChaosClient } from './clients.js';
import { ServerProcess, type ServerSpec } from './proc.js';
import { converged, verify, type Conversation } from './verify.js';

export interface Node {
  server: ServerProcess;
  /** Clients reach the node through it: cut, black-holed, or pointed at another node. */
  front: FaultProxy;
  /** The front's target; changing its port sends new connections elsewhere. */
  target: FaultTarget;
}

export interface RoundResult {
  scenario: string;
  round: number;
  fault: string;
  acked: number;
  lost: number;
  duplicated: number;
  gaps: number;
  stuck: number;
  /** `ok`, the check's first line, or `-` when there is no SQLite database. */
  integrity: string;
  exits: number;
  /** Messages composed and not yet acknowledged when the fault struck (under load: > 0). */
  inFlight: number;
  details: string[];
}

export interface Settings {
  quick: boolean;
  /** Per client: one message composed every this many ms. */
  sendIntervalMs: number;
  maxPending: number;
  convergeTimeoutMs: number;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
export const between = (min: number, max: number) => min + Math.random() * (max - min);

export class World {
  readonly nodes: Node[] = [];
  readonly clients: ChaosClient[] = [];
  readonly conversations: Conversation[] = [];
  private readonly reported = new Set<string>();
  private readonly exitsSeen = new Set<string>();
  private round = 0;

  constructor(
    readonly scenario: string,
    readonly settings: Settings,
    private readonly runId: string,
  ) {}

  async addNode(spec: ServerSpec): Promise<Node> {
    mkdirSync(spec.dataDir, { recursive: true });
    const server = await ServerProcess.start(spec);
    const target = { host: '127.0.0.1', port: server.port };
    const front = await FaultProxy.start(target);
    const node = { server, front, target };
    this.nodes.push(node);
    return node;
  }

  /** `count` users, round-robin over the nodes; one group of all, directs between pairs. */
  async addClients(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const node = this.nodes[i % this.nodes.length]!;
      const client = new ChaosClient(
        `${this.runId}${this.scenario}${i}`,
        `http://127.0.0.1:${node.front.port}`,
      );
      await client.register();
      this.clients.push(client);
    }
    const [first, ...others] = this.clients;
    const group = await first!.sdk.createGroup(
      'chaos',
      others.map((c) => c.userId),
    );
    this.conversations.push({ id: group.id, members: [...this.clients] });
    for (let i = 0; i + 1 < this.clients.length; i += 2) {
      const a = this.clients[i]!;
      const b = this.clients[i + 1]!;
      const direct = await a.sdk.openDirect(b.userId);
      this.conversations.push({ id: direct.id, members: [a, b] });
    }
    for (const client of this.clients) {
      client.conversations = this.conversations
        .filter((c) => c.members.includes(client))
        .map((c) => c.id);
    }
    // Every member knows every conversation before the first round.
    await this.until(
      () => this.clients.every((c) => c.conversations.every((id) => c.state.conversations[id])),
      30_000,
      'every client to see its conversations',
    );
  }

  /** Load, `fault` (which also undoes itself), more load (unless told not), recovery, then the checks. */
  async runRound(
    fault: string,
    inject: () => Promise<void>,
    options: { loadAfterFault?: boolean } = {},
  ): Promise<RoundResult> {
    this.round++;
    this.inFlightAtFault = 0;
    const ackedBefore = this.totalAcks();
    const { sendIntervalMs, maxPending } = this.settings;
    for (const client of this.clients) client.startLoad(sendIntervalMs, maxPending);
    try {
      await inject();
      // Without load after the fault, nothing live reveals a gap: only a resync closes it.
      if (options.loadAfterFault !== false) await sleep(between(500, 1500));
    } finally {
      for (const client of this.clients) client.stopLoad();
    }
    // A node that died by itself is a failure (counted in `exits`); it is restarted, as a
    // supervisor would, so the round can still count what was lost.
    for (const node of this.nodes) if (!node.server.alive) await node.server.start();
    const caughtUp = await this.until(
      () => converged(this.conversations, this.clients),
      this.settings.convergeTimeoutMs,
    );
    const findings = await verify(this.conversations, this.clients);
    const fresh = (list: string[]) => {
      const news = list.filter((f) => !this.reported.has(f));
      for (const f of news) this.reported.add(f);
      return news;
    };
    const lost = fresh(findings.lost);
    const duplicated = fresh(findings.duplicated);
    const gaps = fresh(findings.gaps);
    const exits = this.nodes
      .flatMap((n) => n.server.unexpectedExits)
      .filter((e) => !this.exitsSeen.has(e));
    for (const e of exits) this.exitsSeen.add(e);
    const integrity = this.integrity();
    const details = [...lost, ...duplicated, ...gaps, ...findings.stuck, ...exits];
    if (lost.length > 0) {
      const onServer = lost.filter((l) => l.startsWith('server ')).length;
      details.unshift(
        `lost: ${onServer} on the server, ${lost.length - onServer} on member clients`,
      );
    }
    if (!caughtUp) details.unshift('clients did not converge in time');
    return {
      scenario: this.scenario,
      round: this.round,
      fault,
      acked: this.totalAcks() - ackedBefore,
      inFlight: this.inFlightAtFault,
      lost: lost.length,
      duplicated: duplicated.length,
      gaps: gaps.length,
      stuck: findings.stuck.length,
      integrity,
      exits: exits.length,
      details,
    };
  }

  /** SQLite only: the database file as the kill left it, checked on a copy. */
  integrityAfterKill(node: Node): string {
    const file = join(node.server.spec.dataDir, 'letter.db');
    if (!existsSync(file)) return '-';
    const copy = join(node.server.spec.dataDir, `after-kill-${this.round}`);
    mkdirSync(copy, { recursive: true });
    for (const suffix of ['', '-wal', '-shm']) {
      if (existsSync(file + suffix)) copyFileSync(file + suffix, join(copy, `letter.db${suffix}`));
    }
    try {
      return integrityCheck(join(copy, 'letter.db'));
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  }

  private inFlightAtFault = 0;

  /** Every client composes `count` messages now, so that the fault hits writes on their way. */
  async burst(count: number): Promise<void> {
    for (const client of this.clients) client.burst(count, this.settings.maxPending);
    await sleep(between(2, 15));
  }

  /** Called by a scenario the moment it strikes: how much was on its way then. */
  markFault(): void {
    this.inFlightAtFault = this.clients.reduce((sum, c) => sum + c.pendingCount(), 0);
  }

  /** Records a check made during the round (after a kill), reported with the end-of-round one. */
  noteIntegrity(result: string): void {
    this.roundIntegrity.push(result);
  }

  private readonly roundIntegrity: string[] = [];

  /** Every check of the round (after kills, then each live database read-only): ok or the first failure. */
  private integrity(): string {
    const results = this.roundIntegrity.splice(0);
    for (const node of this.nodes) {
      const file = join(node.server.spec.dataDir, 'letter.db');
      if (existsSync(file)) results.push(integrityCheck(file, true));
    }
    if (results.length === 0) return '-';
    return results.find((r) => r !== 'ok') ?? 'ok';
  }

  async close(): Promise<void> {
    for (const client of this.clients) client.close();
    for (const node of this.nodes) {
      await node.server.stop();
      await node.front.close();
    }
  }

  private totalAcks(): number {
    return this.clients.reduce((sum, c) => sum + c.acks.size, 0);
  }

  /** Polls `done` until it holds (true) or `timeoutMs` passes (false, or throws with `what`). */
  async until(done: () => boolean, timeoutMs: number, what?: string): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > deadline) {
        if (what) throw new Error(`timed out waiting for ${what}`);
        return false;
      }
      await sleep(200);
    }
    return true;
  }
}

function integrityCheck(file: string, readonly = false): string {
  const db = new Database(file, { fileMustExist: true, readonly });
  try {
    const result = db.pragma('integrity_check', { simple: true });
    return String(result).split('\n')[0]!;
  } finally {
    db.close();
  }
}
