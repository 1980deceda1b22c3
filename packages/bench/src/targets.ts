/**
 * The three servers under test behind one interface: how to start one, who its users are,
 * how a client connects, and how a 1:1 or group message is addressed on its wire.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectClient } from './clients.js';
import type { BenchClient, Hooks, Protocol } from './clients.js';
import type { LetterUser } from './letter-api.js';
import { boundedAll, createDirect, createGroup, healthy, register, renew } from './letter-api.js';
import { scrape } from './metrics.js';
import type { Samples } from './metrics.js';
import { freePort, sleep, spawnServer, stopServer } from './proc.js';
import type { SpawnedServer } from './proc.js';

export type TargetName =
  | 'letter'
  | 'letter-pg'
  | 'letter-cluster'
  | 'ws'
  | 'socketio'
  | 'ws-sqlite'
  | 'letter-floor'
  | 'cluster-floor';
/** Targets a run may name; the cluster floor runs inside `letter-cluster`'s row (h). */
export const targetNames: TargetName[] = [
  'letter',
  'letter-pg',
  'letter-cluster',
  'ws',
  'socketio',
  'ws-sqlite',
  'letter-floor',
];
export const targetLabels: Record<TargetName, string> = {
  letter: 'Letter',
  'letter-pg': 'Letter PG',
  'letter-cluster': 'Letter 2 nodes',
  ws: 'bare ws',
  socketio: 'Socket.IO',
  'ws-sqlite': 'ws + SQLite',
  'letter-floor': "Letter's floor",
  'cluster-floor': 'cluster floor',
};
/** The Letter targets (a Letter server behind them; registered users, `send` frames). */
export const letterTargets: TargetName[] = ['letter', 'letter-pg', 'letter-cluster'];

/** How one benchmark message is put on the wire for a given destination. */
export interface Route {
  /** The whole frame for a message whose unique tag is `tag` and body `body`. */
  frame(tag: string, body: string): string;
  /** How many sockets receive each message. */
  recipients: number;
}

export interface Target {
  readonly name: TargetName;
  readonly label: string;
  readonly baseUrl: string;
  readonly pid: number;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** What the report should say about how this server was set up (after start). */
  readonly setupNotes?: readonly string[];
  /** Makes sure users 0..count-1 exist (Letter registers them once and keeps them). */
  ensureUsers(count: number): Promise<void>;
  /** Connects as `user`; relays identify the socket by `alias` (default `u<user>`). */
  connect(user: number, hooks: Hooks, opts?: ConnectOpts): Promise<BenchClient>;
  direct(from: number, to: number): Promise<Route>;
  /** A group whose members (besides the sender) must connect with `rooms`. */
  group(
    sender: number,
    members: number[],
    title: string,
  ): Promise<{ route: Route; rooms: string[] }>;
  metrics(): Promise<Samples | undefined>;
  /** Where the server's output goes, for the report's error notes. */
  readonly logFile: string;
}

export interface ConnectOpts {
  alias?: string;
  rooms?: string[];
  /** Until the socket is usable (Letter: `ready`); default 15 s. */
  timeoutMs?: number;
}

export interface TargetEnv {
  repoRoot: string;
  workDir: string;
  serverCore: number | undefined;
  /** PostgreSQL for `letter-pg` and `letter-cluster` (each run in a schema of its own). */
  pgUrl?: string | undefined;
  /** Redis for `letter-cluster`. */
  redisUrl?: string | undefined;
}

const json = JSON.stringify;

abstract class ServerTarget implements Target {
  abstract readonly name: TargetName;
  protected server: SpawnedServer | undefined;
  protected port = 0;
  constructor(protected readonly env: TargetEnv) {}

  get label(): string {
    return targetLabels[this.name];
  }
  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}`;
  }
  get pid(): number {
    if (!this.server) throw new Error(`${this.label} is not running`);
    return this.server.pid;
  }
  get logFile(): string {
    return join(this.env.workDir, `${this.logName ?? this.name}.log`);
  }
  protected logName: string | undefined;

  protected abstract argv(): string[];
  protected abstract extraEnv(): NodeJS.ProcessEnv;

  async start(): Promise<void> {
    this.port = await freePort();
    const env = {
      ...process.env,
      NODE_ENV: 'production',
      NODE: process.execPath,
      PORT: String(this.port),
      HOST: '127.0.0.1',
      ...this.extraEnv(),
    };
    const server = spawnServer(this.argv(), {
      env,
      logFile: this.logFile,
      core: this.env.serverCore,
    });
    this.server = server;
    let exited: string | undefined;
    void server.exited.then((code) => (exited = code));
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (exited !== undefined)
        throw new Error(`${this.label} exited (${exited}) while starting; see ${this.logFile}`);
      if (await healthy(this.baseUrl)) return;
      await sleep(200);
    }
    throw new Error(`${this.label} did not answer /healthz within 60 s; see ${this.logFile}`);
  }

  async stop(): Promise<void> {
    if (this.server) await stopServer(this.server);
    this.server = undefined;
  }

  metrics(): Promise<Samples | undefined> {
    return scrape(this.baseUrl);
  }

  abstract ensureUsers(count: number): Promise<void>;
  abstract connect(user: number, hooks: Hooks, opts?: ConnectOpts): Promise<BenchClient>;
  abstract direct(from: number, to: number): Promise<Route>;
  abstract group(
    sender: number,
    members: number[],
    title: string,
  ): Promise<{ route: Route; rooms: string[] }>;
}

/** Letter, default configuration: SQLite in a fresh temp dir, durable acks, no rate limits. */
export class LetterTarget extends ServerTarget {
  readonly name: 'letter' | 'letter-pg' | 'letter-cluster' = 'letter';
  readonly users: LetterUser[] = [];
  protected readonly dataDir = mkdtempSync(join(tmpdir(), 'letter-bench-'));
  private readonly directs = new Map<string, string>();

  static entry(repoRoot: string): string {
    return join(repoRoot, 'packages/server/dist/main.js');
  }
  /** How `npm start` and the systemd unit start it: the launcher picks Node's flags. */
  static launcher(repoRoot: string): string {
    return join(repoRoot, 'packages/server/bin/letter');
  }
  static available(repoRoot: string): boolean {
    return existsSync(LetterTarget.entry(repoRoot));
  }

  /** Through the launcher, with this node (`NODE`, set in `start`); LETTER_NODE_FLAGS passes. */
  protected argv(): string[] {
    return ['/bin/sh', LetterTarget.launcher(this.env.repoRoot)];
  }
  protected extraEnv(): NodeJS.ProcessEnv {
    // Idle sockets are spread over few users (config.idleUsers) and all come from 127.0.0.1:
    // lift the per-user and per-address socket caps along with the rate limits.
    return {
      LETTER_DATA_DIR: this.dataDir,
      LETTER_RATE_LIMITS: 'off',
      LETTER_SOCKETS_PER_USER: '100000',
      LETTER_ANON_SOCKETS_PER_IP: '100000',
      // (j) uploads 200 MB in one file.
      LETTER_MAX_UPLOAD_BYTES: String(256 * 1024 * 1024),
      LETTER_USER_QUOTA_BYTES: String(64 * 1024 * 1024 * 1024),
    };
  }

  /** Removes the temp data dir; only after the last stop. */
  async dispose(): Promise<void> {
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** Where the SQLite database is (the 1,000,000-message scenario fills it directly). */
  get databaseFile(): string {
    return join(this.dataDir, 'letter.db');
  }

  /** Milliseconds from spawn to a healthy `/healthz` at the last start. */
  startupMs = 0;
  override async start(): Promise<void> {
    const started = performance.now();
    await super.start();
    this.startupMs = performance.now() - started;
  }

  async ensureUsers(count: number): Promise<void> {
    const missing = Array.from(
      { length: Math.max(0, count - this.users.length) },
      (_, i) => this.users.length + i,
    );
    // argon2 makes registration slow; a few in flight keep the server's thread pool busy.
    const made: LetterUser[] = [];
    await boundedAll(missing, 8, async (index) => {
      made[index - this.users.length] = await register(
        this.baseUrl,
        `bench_u${index}`,
        'bench-password-1',
      );
    });
    this.users.push(...made);
    await this.renewStale(0, this.users.length);
  }

  /** Tokens are short-lived; renew those older than five minutes before a scenario uses them. */
  async renewStale(from: number, to: number): Promise<void> {
    const stale = this.users.slice(from, to).filter((u) => Date.now() - u.issuedAt > 5 * 60_000);
    await boundedAll(stale, 16, (user) => renew(this.baseUrl, user));
  }

  /** The id of the direct conversation of users `a` and `b` (made on first use). */
  async directId(from: number, to: number): Promise<string> {
    await this.direct(from, to);
    return this.directs.get([this.user(from).id, this.user(to).id].sort().join(':'))!;
  }

  user(index: number): LetterUser {
    const user = this.users[index];
    if (!user) throw new Error(`user ${index} was not registered`);
    return user;
  }

  connect(user: number, hooks: Hooks, opts?: ConnectOpts): Promise<BenchClient> {
    return connectClient({
      url: this.wsUrl,
      protocol: 'letter',
      hooks,
      token: this.user(user).accessToken,
      timeoutMs: opts?.timeoutMs,
    });
  }

  async direct(from: number, to: number): Promise<Route> {
    const a = this.user(from);
    const b = this.user(to);
    const key = [a.id, b.id].sort().join(':');
    let conversationId = this.directs.get(key);
    if (!conversationId) {
      conversationId = await createDirect(this.baseUrl, a.accessToken, b.id);
      this.directs.set(key, conversationId);
    }
    return sendRoute(conversationId, 1);
  }

  async group(
    sender: number,
    members: number[],
    title: string,
  ): Promise<{ route: Route; rooms: string[] }> {
    const ids = members.map((m) => this.user(m).id);
    const conversationId = await createGroup(
      this.baseUrl,
      this.user(sender).accessToken,
      title,
      ids,
    );
    return { route: sendRoute(conversationId, members.length), rooms: [] };
  }
}

function sendRoute(conversationId: string, recipients: number): Route {
  const head = `{"type":"send","conversationId":${json(conversationId)},"id":"`;
  return {
    recipients,
    frame: (tag, body) => `${head}${tag}","clientMsgId":"${tag}","body":"${body}"}`,
  };
}

/**
 * A baseline relay (relays/*.ts): no users, ids are `u<index>`, and a direct or room frame is
 * the relay's JSON inside the protocol's own envelope (`before` … `after`).
 */
abstract class RelayTarget extends ServerTarget {
  protected abstract readonly script: string;
  protected abstract readonly protocol: Protocol;
  /** What goes around the relay JSON of a direct or room frame (an event packet for Socket.IO). */
  protected abstract envelope(kind: 'direct' | 'room'): { before: string; after: string };

  protected argv(): string[] {
    return [process.execPath, join(this.env.repoRoot, 'packages/bench/dist/relays', this.script)];
  }
  protected extraEnv(): NodeJS.ProcessEnv {
    return {};
  }
  async ensureUsers(): Promise<void> {}
  connect(user: number, hooks: Hooks, opts?: ConnectOpts): Promise<BenchClient> {
    return connectClient({
      url: this.wsUrl,
      protocol: this.protocol,
      hooks,
      id: opts?.alias ?? `u${user}`,
      rooms: opts?.rooms ?? [],
      timeoutMs: opts?.timeoutMs,
    });
  }
  async direct(_from: number, to: number): Promise<Route> {
    const { before, after } = this.envelope('direct');
    const head = `${before}{"to":"u${to}","body":"`;
    return { recipients: 1, frame: (_tag, body) => `${head}${body}"}${after}` };
  }
  async group(
    _sender: number,
    members: number[],
    title: string,
  ): Promise<{ route: Route; rooms: string[] }> {
    const { before, after } = this.envelope('room');
    const head = `${before}{"room":${json(title)},"body":"`;
    return {
      route: { recipients: members.length, frame: (_tag, body) => `${head}${body}"}${after}` },
      rooms: [title],
    };
  }
}

/** The bare `ws` relay in relays/ws.ts: the relay's JSON is the whole frame. */
export class WsRelayTarget extends RelayTarget {
  readonly name: TargetName = 'ws';
  protected readonly script: string = 'ws.js';
  protected readonly protocol = 'ws' as const;
  protected envelope(): { before: string; after: string } {
    return { before: '', after: '' };
  }
}

/** The Socket.IO relay in relays/socketio.ts, spoken to in raw engine.io v4 frames. */
export class SocketIoTarget extends RelayTarget {
  readonly name = 'socketio' as const;
  protected readonly script = 'socketio.js';
  protected readonly protocol = 'socketio' as const;
  protected envelope(kind: 'direct' | 'room'): { before: string; after: string } {
    return { before: `42["${kind === 'direct' ? 'chat' : 'room'}",`, after: ']' };
  }
}

/** The ws + SQLite group-commit relay in relays/ws-sqlite.ts: the ws wire, durable first. */
export class WsSqliteTarget extends WsRelayTarget {
  override readonly name: TargetName = 'ws-sqlite';
  protected override readonly script = 'ws-sqlite.js';
  private readonly dir = mkdtempSync(join(tmpdir(), 'letter-bench-relay-'));
  protected override extraEnv(): NodeJS.ProcessEnv {
    return { RELAY_DB: join(this.dir, 'relay.db') };
  }
  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * The same relay doing the work Letter's contract and schema ask of a 1:1 message, with none of
 * Letter's code: stored in Letter's tables with every index its features need (filled as
 * Letter's writer fills them), answered to its sender (Letter's `ok`) and forwarded, each
 * socket's frames of a flush in one write as Letter's are, on one thread (relays/ws-sqlite.ts,
 * `RELAY_SCHEMA=+search`, `RELAY_ACK=1`, `RELAY_CORK=1`). No auth, validation,
 * rate limits or hand-offs between threads: a floor for Letter on the run's machine.
 */
export class LetterFloorTarget extends WsSqliteTarget {
  override readonly name: TargetName = 'letter-floor';
  protected override extraEnv(): NodeJS.ProcessEnv {
    return { ...super.extraEnv(), RELAY_SCHEMA: '+search', RELAY_ACK: '1', RELAY_CORK: '1' };
  }
}
