/**
 * The cluster floor of row (h): the ws + PostgreSQL relay (relays/ws-pg.ts) as one node and as
 * two nodes over Redis, placed on the server core like Letter's, with the same users on the same
 * nodes (`onPeerNode`). Each arrangement keeps its tables in a schema `letter_bench_floor_<hex>`
 * of its own, dropped at the end.
 */
import { randomBytes } from 'node:crypto';
import type { BenchClient, Hooks } from './clients.js';
import { admin, onPeerNode } from './letter-targets.js';
import type { Samples } from './metrics.js';
import { floorClusterSchema } from './relays/pg-schema.js';
import { WsRelayTarget } from './targets.js';
import type { ConnectOpts, Route, Target, TargetEnv, TargetName } from './targets.js';

/** One process of the relay: node `node` of its schema, with `peer` the other one's name. */
class FloorNode extends WsRelayTarget {
  override readonly name: TargetName = 'cluster-floor';
  protected override readonly script = 'ws-pg.js';
  constructor(
    env: TargetEnv,
    private readonly nodeEnv: NodeJS.ProcessEnv,
    logName: string,
  ) {
    super(env);
    this.logName = logName;
  }
  protected override extraEnv(): NodeJS.ProcessEnv {
    return this.nodeEnv;
  }
}

/** The two-node view: clients on node A or B as Letter's cluster places them. */
class TwoFloorNodes implements Target {
  readonly name: TargetName = 'cluster-floor';
  readonly label = 'cluster floor, two nodes';
  pairsOnOneNodeFrom = Number.POSITIVE_INFINITY;
  constructor(
    private readonly a: FloorNode,
    private readonly b: FloorNode,
  ) {}
  get baseUrl(): string {
    return this.a.baseUrl;
  }
  get pid(): number {
    return this.a.pid;
  }
  get pids(): number[] {
    return [this.a.pid, this.b.pid];
  }
  get logFile(): string {
    return this.a.logFile;
  }
  async start(): Promise<void> {
    await this.a.start();
    await this.b.start();
  }
  async stop(): Promise<void> {
    await this.b.stop();
    await this.a.stop();
  }
  async ensureUsers(): Promise<void> {}
  connect(user: number, hooks: Hooks, opts?: ConnectOpts): Promise<BenchClient> {
    return (onPeerNode(user, this.pairsOnOneNodeFrom) ? this.b : this.a).connect(user, hooks, opts);
  }
  direct(from: number, to: number): Promise<Route> {
    return this.a.direct(from, to);
  }
  group(): Promise<{ route: Route; rooms: string[] }> {
    return Promise.reject(new Error('the cluster floor carries 1:1 messages only'));
  }
  metrics(): Promise<Samples | undefined> {
    return Promise.resolve(undefined);
  }
}

/** A single floor node and two floor nodes over Redis, each pair of arrangements its schema. */
export class FloorCluster {
  /** The single node's schema, then the two nodes' shared one. */
  readonly schemas = [1, 2].map(() => `letter_bench_floor_${randomBytes(5).toString('hex')}`);
  private made = 0;
  readonly single: FloorNode;
  readonly two: TwoFloorNodes;

  constructor(private readonly env: TargetEnv) {
    if (!env.pgUrl || !env.redisUrl)
      throw new Error('the cluster floor needs PostgreSQL and Redis');
    const base = { RELAY_PG_URL: env.pgUrl, RELAY_REDIS_URL: env.redisUrl };
    const [alone, shared] = this.schemas as [string, string];
    this.single = new FloorNode(
      env,
      { ...base, RELAY_PG_SCHEMA: alone, RELAY_NODE: 'a' },
      'floor-one',
    );
    const node = (name: string, peer: string) =>
      new FloorNode(
        env,
        { ...base, RELAY_PG_SCHEMA: shared, RELAY_NODE: name, RELAY_PEER: peer },
        `floor-${name}`,
      );
    this.two = new TwoFloorNodes(node('a', 'b'), node('b', 'a'));
  }

  async start(): Promise<void> {
    for (; this.made < this.schemas.length; this.made++)
      await admin(this.env.pgUrl!, floorClusterSchema(this.schemas[this.made]!));
    await this.single.start();
    await this.two.start();
  }

  async stop(): Promise<void> {
    await this.two.stop();
    await this.single.stop();
  }

  /** Drops the schemas made; after the last stop. */
  async dispose(): Promise<void> {
    for (const schema of this.schemas.slice(0, this.made))
      await admin(this.env.pgUrl!, `DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    this.made = 0;
  }
}
