/**
 * Test harness: real Letter nodes on random ports with temp data dirs, and a raw WebSocket
 * client that speaks the contract. Integration tests go through real HTTP and WebSocket.
 *
 * The engine a node stores in is the run's (`LETTER_TEST_ENGINE`: `sqlite`, the default, or
 * `postgres`, each node in a fresh schema of LETTER_TEST_PG_URL, dropped when it stops), so one
 * suite runs on both; vitest.config.ts runs packages/server/test once per engine.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import WebSocket from 'ws';
import { argon2Hasher } from '../auth/passwords.js';
import type { Bus } from '../bus/bus.js';
import { loadConfig, type Config } from '../config.js';
import { createNode, type LetterNode } from '../node.js';
import { openTestPostgresStore } from '../store/postgres/testing.js';
import type { Store } from '../store/store.js';
import { openSqliteStore } from '../store/sqlite/worker-store.js';
import type { Clock } from '../util/clock.js';
import { postgresTestUrl } from './services.js';

export type TestEngine = 'sqlite' | 'postgres';

/** The engine of this run: LETTER_TEST_ENGINE, `sqlite` unless it says `postgres`. */
export const testEngine: TestEngine = parseEngine(process.env.LETTER_TEST_ENGINE);

function parseEngine(value: string | undefined): TestEngine {
  if (value === undefined || value === '' || value === 'sqlite') return 'sqlite';
  if (value === 'postgres') return 'postgres';
  throw new Error(`LETTER_TEST_ENGINE must be sqlite or postgres, got ${JSON.stringify(value)}`);
}

function enginePostgresUrl(): string {
  const url = postgresTestUrl();
  if (!url) throw new Error('LETTER_TEST_ENGINE=postgres needs LETTER_TEST_PG_URL');
  return url;
}

export interface TestStore {
  store: Store;
  /** The PostgreSQL schema it stores in (on PostgreSQL). */
  schema?: string;
  /** Closes the store (and drops its PostgreSQL schema). */
  cleanup(): Promise<void>;
}

/**
 * A store on the run's engine, for suites that wrap or share one between nodes: SQLite in
 * `dataDir` (a temp dir by default), or PostgreSQL in a fresh schema.
 */
export async function openTestStore(dataDir = tempDir()): Promise<TestStore> {
  if (testEngine === 'postgres') {
    // A small pool: many nodes run at once, against one server other runs use too.
    const pg = await openTestPostgresStore(enginePostgresUrl(), { maxConnections: 4 });
    return { store: pg.store, schema: pg.schema, cleanup: pg.cleanup };
  }
  const store = await openSqliteStore({ file: join(dataDir, 'letter.db') });
  return { store, cleanup: () => store.close() };
}

export interface TestServer {
  node: LetterNode;
  url: string;
  wsUrl: string;
  dataDir: string;
  /** The PostgreSQL schema of the store the harness opened for this node (on PostgreSQL). */
  schema?: string;
  stop(): Promise<void>;
}

export interface StartOptions {
  config?: Partial<Config>;
  bus?: Bus;
  store?: Store;
  clock?: Clock;
  dataDir?: string;
  /** A certificate the node trusts for push services (the tests' local one). */
  pushCa?: string;
}

export function tempDir(prefix = 'letter-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function startServer(options: StartOptions = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? tempDir();
  // On PostgreSQL a node without a store of its own gets a fresh schema, gone when it stops.
  const owned =
    testEngine === 'postgres' && !options.store && !options.config?.databaseUrl
      ? await openTestStore(dataDir)
      : undefined;
  const store = options.store ?? owned?.store;
  const config: Config = {
    ...loadConfig({}),
    port: 0,
    host: '127.0.0.1',
    dataDir,
    rateLimits: false,
    presenceGraceMs: 200,
    webRoot: join(dataDir, 'no-web'),
    ...options.config,
  };
  const node = await createNode({
    config,
    logger: false,
    // Argon2id as in production, at a lower memory cost so suites stay fast.
    hasher: argon2Hasher({ memoryCost: 1024, timeCost: 2 }),
    ...(options.bus && { bus: options.bus }),
    ...(store && { store }),
    ...(options.clock && { clock: options.clock }),
    ...(options.pushCa !== undefined && { pushCa: options.pushCa }),
  });
  const url = await node.listen();
  return {
    node,
    url,
    wsUrl: url.replace(/^http/, 'ws') + '/ws',
    dataDir,
    ...(owned?.schema && { schema: owned.schema }),
    async stop() {
      await node.stop();
      await owned?.cleanup();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface ApiResult<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export async function api<T = any>(
  server: { url: string },
  method: string,
  path: string,
  token?: string,
  body?: unknown,
): Promise<ApiResult<T>> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(server.url + path, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: any = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // keep text
  }
  return { status: response.status, body: parsed, headers: response.headers };
}

export interface TestUser {
  user: { id: string; username: string; displayName: string };
  accessToken: string;
  refreshToken: string;
}

let userCounter = 0;
export async function register(server: { url: string }, name = 'user'): Promise<TestUser> {
  const username = `${name}_${process.pid}_${++userCounter}`.toLowerCase().slice(0, 32);
  const result = await api(server, 'POST', '/api/auth/register', undefined, {
    username,
    password: 'correct horse battery',
  });
  if (result.status !== 201)
    throw new Error(`register failed: ${result.status} ${JSON.stringify(result.body)}`);
  return result.body as TestUser;
}

export async function directConversation(
  server: { url: string },
  a: TestUser,
  b: TestUser,
): Promise<string> {
  const result = await api(server, 'POST', '/api/conversations', a.accessToken, {
    kind: 'direct',
    userId: b.user.id,
  });
  return result.body.conversation.id as string;
}

export interface Frame {
  type: string;
  id?: string | number;
  [key: string]: any;
}

/** A raw contract client: keeps every frame, lets a test wait for one. */
export class TestSocket {
  readonly frames: Frame[] = [];
  readonly ws: WebSocket;
  closed: Promise<{ code: number; reason: string }>;
  private waiters: ((frame: Frame) => boolean)[] = [];
  private n = 0;

  constructor(
    url: string,
    options: {
      token?: string;
      header?: boolean;
      origin?: string;
      /** Extra client options (a CA for wss://, a local address…). */
      client?: WebSocket.ClientOptions;
    } = {},
  ) {
    const headers: Record<string, string> = {};
    if (options.token && options.header !== false)
      headers.authorization = `Bearer ${options.token}`;
    if (options.origin) headers.origin = options.origin;
    this.ws = new WebSocket(url, { headers, perMessageDeflate: false, ...options.client });
    this.ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as Frame;
      this.frames.push(frame);
      this.waiters = this.waiters.filter((waiter) => !waiter(frame));
    });
    this.ws.on('error', () => {});
    this.closed = new Promise((resolve) =>
      this.ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })),
    );
    if (options.token && options.header === false) {
      this.ws.on('open', () =>
        this.ws.send(JSON.stringify({ type: 'auth', token: options.token })),
      );
    }
  }

  static async connect(
    server: { wsUrl: string },
    token: string,
    header = true,
  ): Promise<TestSocket> {
    const socket = new TestSocket(server.wsUrl, { token, header });
    await socket.waitFor((f) => f.type === 'ready');
    return socket;
  }

  /**
   * Authenticates with a first `auth` frame and resolves once that is sent, without waiting for
   * `ready`: frames sent next are pipelined behind `auth`, and the server handles them right
   * after `ready`, before any live event can reach the socket (docs/protocol.md, sync).
   */
  static async pipelined(server: { wsUrl: string }, token: string): Promise<TestSocket> {
    const socket = new TestSocket(server.wsUrl, { token, header: false });
    await new Promise<void>((resolve, reject) => {
      socket.ws.once('open', () => resolve());
      socket.ws.once('error', reject);
    });
    return socket;
  }

  waitFor(predicate: (frame: Frame) => boolean, ms = 5000): Promise<Frame> {
    const hit = this.frames.find(predicate);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `timed out waiting for a frame; got ${JSON.stringify(this.frames.slice(-5))}`,
            ),
          ),
        ms,
      );
      this.waiters.push((frame) => {
        if (!predicate(frame)) return false;
        clearTimeout(timer);
        resolve(frame);
        return true;
      });
    });
  }

  /** Sends a frame with a fresh id and waits for its ok/error. */
  request(frame: Frame, ms = 5000): Promise<Frame> {
    const id = `r${++this.n}`;
    const answer = this.waitFor((f) => f.id === id && (f.type === 'ok' || f.type === 'error'), ms);
    this.ws.send(JSON.stringify({ ...frame, id }));
    return answer;
  }

  sendRaw(data: string | Buffer): void {
    this.ws.send(data);
  }

  of(type: string): Frame[] {
    return this.frames.filter((f) => f.type === type);
  }

  close(): void {
    this.ws.close();
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Rows straight from the database a node stores in, past the store (to check what is really
 * kept): its SQLite file, or its PostgreSQL schema. `sql` is written for both, with `$1`, `$2`, …
 * parameters (each once, in order); integers come back as numbers on both.
 */
export async function storedRows<R>(
  server: Pick<TestServer, 'dataDir' | 'schema'>,
  sql: string,
  params: unknown[] = [],
): Promise<R[]> {
  if (testEngine === 'sqlite') {
    const db = new Database(join(server.dataDir, 'letter.db'), { readonly: true });
    try {
      return db.prepare(sql.replace(/\$\d+/g, '?')).all(...params) as R[];
    } finally {
      db.close();
    }
  }
  if (!server.schema) throw new Error('storedRows: the harness did not open this node’s store');
  const url = new URL(enginePostgresUrl());
  url.searchParams.set('options', `-c search_path=${server.schema}`);
  const client = new pg.Client({
    connectionString: url.toString(),
    // int8 (bigint, count(*)) as a number, as SQLite answers.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === pg.types.builtins.INT8
          ? Number
          : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as R[];
  } finally {
    await client.end();
  }
}
