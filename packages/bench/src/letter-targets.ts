/**
 * Letter on PostgreSQL (`letter-pg`) and two Letter nodes over PostgreSQL + Redis
 * (`letter-cluster`, clients spread over both: even users on node A, odd on node B; from
 * `pairsOnOneNodeFrom` on, both users of a pair on one node).
 * Each run keeps its tables in a fresh schema `letter_bench_<hex>`, dropped at the end.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { connectClient } from './clients.js';
import type { BenchClient, Hooks } from './clients.js';
import {
  LetterTarget,
  SocketIoTarget,
  WsRelayTarget,
  WsSqliteTarget,
  LetterFloorTarget,
} from './targets.js';
import type { ConnectOpts, Target, TargetEnv, TargetName } from './targets.js';

/** One statement on a connection of its own (schemas made and dropped, server settings). */
export async function admin(url: string, sql: string): Promise<pg.QueryResultRow[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

/**
 * How the PostgreSQL server differs from a production one, for the report. A server with
 * autovacuum off (test servers often are) never analyzes Letter's tables nor merges the search
 * index's pending list in the background; the bench cannot turn it on for its schema alone (the
 * setting is the server's), so it says so (docs/performance.md, PostgreSQL round four).
 */
async function serverNotes(url: string): Promise<string[]> {
  const rows = await admin(
    url,
    `SELECT name, setting FROM pg_settings WHERE name IN ('autovacuum', 'synchronous_commit', 'fsync')`,
  );
  const setting = new Map(rows.map((row) => [row.name as string, row.setting as string]));
  const notes: string[] = [];
  if (setting.get('autovacuum') === 'off')
    notes.push('PostgreSQL runs with autovacuum off (production servers have it on)');
  if (setting.get('fsync') === 'off') notes.push('PostgreSQL runs with fsync off: not durable');
  // Letter turns synchronous_commit back on for its own sessions (store/postgres/open.ts).
  if (setting.get('synchronous_commit') === 'off')
    notes.push('PostgreSQL default synchronous_commit is off (Letter sets it on for its sessions)');
  return notes;
}

/** `url` with `search_path` set to `schema` (Letter merges the URL's `options`). */
function withSchema(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

export class LetterPgTarget extends LetterTarget {
  override readonly name: 'letter-pg' | 'letter-cluster' = 'letter-pg';
  protected schema = `letter_bench_${randomBytes(5).toString('hex')}`;
  private schemaMade = false;
  setupNotes: string[] = [];

  protected get pgUrl(): string {
    if (!this.env.pgUrl) throw new Error('needs PostgreSQL: --pg-url=… or LETTER_TEST_PG_URL');
    return this.env.pgUrl;
  }

  override async start(): Promise<void> {
    if (!this.schemaMade) {
      await admin(this.pgUrl, `CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
      this.schemaMade = true;
      this.setupNotes = await serverNotes(this.pgUrl);
    }
    await super.start();
  }

  protected override extraEnv(): NodeJS.ProcessEnv {
    return { ...super.extraEnv(), LETTER_DATABASE_URL: withSchema(this.pgUrl, this.schema) };
  }

  override async dispose(): Promise<void> {
    await super.dispose();
    if (this.schemaMade) await admin(this.pgUrl, `DROP SCHEMA IF EXISTS ${this.schema} CASCADE`);
  }
}

/**
 * Whether `user` connects to node B of a cluster: odd users below `pairsOnOneNodeFrom` (each
 * pair 2p, 2p + 1 across the nodes); from there on, both users of every odd pair.
 */
export function onPeerNode(user: number, pairsOnOneNodeFrom: number): boolean {
  return user >= pairsOnOneNodeFrom
    ? Math.floor((user - pairsOnOneNodeFrom) / 2) % 2 === 1
    : user % 2 === 1;
}

/** A second node of a cluster: same schema, same Redis, its own port and log. */
class PeerNode extends LetterPgTarget {
  constructor(
    env: TargetEnv,
    sharedSchema: string,
    private readonly shared: NodeJS.ProcessEnv,
  ) {
    super(env);
    this.schema = sharedSchema;
    this.logName = 'letter-cluster-b';
  }
  protected override extraEnv(): NodeJS.ProcessEnv {
    return { ...super.extraEnv(), ...this.shared };
  }
  override async dispose(): Promise<void> {} // the first node drops the shared schema
}

export class LetterClusterTarget extends LetterPgTarget {
  override readonly name = 'letter-cluster' as const;
  private peer: PeerNode | undefined;
  /** One JWT secret for both nodes: a token issued by one is accepted by the other. */
  private readonly jwtSecret = randomBytes(32).toString('base64url');

  private get redisUrl(): string {
    if (!this.env.redisUrl) throw new Error('needs Redis: --redis-url=… or LETTER_TEST_REDIS_URL');
    return this.env.redisUrl;
  }

  protected override extraEnv(): NodeJS.ProcessEnv {
    return { ...super.extraEnv(), ...this.shared() };
  }

  private shared(): NodeJS.ProcessEnv {
    return { LETTER_REDIS_URL: this.redisUrl, LETTER_JWT_SECRET: this.jwtSecret };
  }

  override async start(): Promise<void> {
    await super.start();
    this.peer ??= new PeerNode(this.env, this.schema, this.shared());
    await this.peer.start();
  }

  override async stop(): Promise<void> {
    await this.peer?.stop();
    await super.stop();
  }

  /**
   * Users from here on are placed by pair (users `from + 2p` and `from + 2p + 1` on node A for
   * an even p, on node B for an odd one): their messages cross no node. Below it, even users on
   * node A and odd users on node B: each pair (2p, 2p + 1) spans both nodes.
   */
  pairsOnOneNodeFrom = Number.POSITIVE_INFINITY;

  /** Both nodes' processes (for CPU). */
  get pids(): number[] {
    return this.peer ? [this.pid, this.peer.pid] : [this.pid];
  }

  /** Where the run's servers go and which services they use (the cluster floor's too). */
  get targetEnv(): TargetEnv {
    return this.env;
  }

  /** A single node on its own schema, to compare with: started and stopped by the caller. */
  singleNode(): LetterPgTarget {
    return new LetterPgTarget(this.env);
  }

  override connect(user: number, hooks: Hooks, opts?: ConnectOpts): Promise<BenchClient> {
    if (!onPeerNode(user, this.pairsOnOneNodeFrom) || !this.peer) {
      return super.connect(user, hooks, opts);
    }
    return connectClient({
      url: this.peer.wsUrl,
      protocol: 'letter',
      hooks,
      token: this.user(user).accessToken,
      timeoutMs: opts?.timeoutMs,
    });
  }
}

export function makeTarget(name: TargetName, env: TargetEnv): Target {
  if (name === 'letter') return new LetterTarget(env);
  if (name === 'letter-pg') return new LetterPgTarget(env);
  if (name === 'letter-cluster') return new LetterClusterTarget(env);
  if (name === 'ws') return new WsRelayTarget(env);
  if (name === 'ws-sqlite') return new WsSqliteTarget(env);
  if (name === 'letter-floor') return new LetterFloorTarget(env);
  if (name === 'socketio') return new SocketIoTarget(env);
  throw new Error(`${name} runs inside letter-cluster's row (h), not on its own`);
}
