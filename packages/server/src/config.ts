/** Configuration from the environment, read once at start-up (see the README's table). */
import { resolve } from 'node:path';
import { checkJwtSecret } from './auth/secret.js';
import { DEFAULT_COMMIT_DELAY_MS } from './store/sqlite/rpc.js';
import { DEFAULT_PG_COMMIT_DELAY_MS } from './store/postgres/tick-batcher.js';

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  /** Namespaces the Redis channels, so several clusters (or test runs) can share one Redis. */
  redisPrefix: string;
  jwtSecret: string | undefined;
  /** Extra origins allowed for the WebSocket handshake and CORS. */
  allowedOrigins: string[];
  /** When not empty, only these Host names are served (against DNS rebinding). */
  allowedHosts: string[];
  rateLimits: boolean;
  /** Which peers may set X-Forwarded-For (proxy-addr names like `loopback`, addresses, CIDRs). */
  trustProxy: string[] | boolean;
  logLevel: string;
  /** GET /metrics on a listener of its own (on `metricsHost`, else `host`); unset: the main port. */
  metricsPort: number | undefined;
  metricsHost: string | undefined;
  /** When set, GET /metrics needs `Authorization: Bearer <token>`. */
  metricsToken: string | undefined;
  /** Where the built web app lives; served at `/` when present. */
  webRoot: string | undefined;
  /** Largest upload accepted (POST /api/files), in bytes. */
  maxUploadBytes: number;
  /** Bytes of files one user may keep. */
  userQuotaBytes: number;
  /** Blobs on S3 (files/s3.ts URL form) instead of under the data dir. */
  s3Url: string | undefined;
  /** Access-token lifetime. */
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
  /** A session ends this long after its login, however often it is refreshed. */
  sessionMaxDays: number;
  /** Receipt times are exact for this long; older position moves are pruned (see prune.ts). */
  positionLogDays: number;
  /** How often the sweeper prunes dead sessions and old position moves (0: never). */
  pruneIntervalMs: number;
  /** A user shows offline only after their last session has been gone this long. */
  presenceGraceMs: number;
  /** Unsent bytes a socket may hold before it is cut off as a slow consumer (1008). */
  maxBufferedBytes: number;
  heartbeatMs: number;
  /** How long a socket without an Authorization header has to send its `auth` frame (4408 after). */
  authTimeoutMs: number;
  /** Sockets one user may hold on one node; the next is closed with 1008. */
  maxSocketsPerUser: number;
  /** Sockets from one client address not yet authenticated; the next handshake gets HTTP 429. */
  maxUnauthenticatedSocketsPerIp: number;
  /**
   * Slow or idle clients cannot hold sockets: the request headers must arrive within
   * `headersMs`, the whole request within `requestMs`; an idle keep-alive socket closes after
   * `keepAliveMs`, any socket without traffic after `idleMs` (WebSockets ping well within it).
   */
  timeouts: {
    headersMs: number;
    requestMs: number;
    keepAliveMs: number;
    idleMs: number;
    /** An upload (`POST /api/files`) ends after this long without a byte arriving. */
    uploadIdleMs?: number;
  };
  /** SQLite only: how long a batch may wait for company under sustained load (0: never). */
  sqliteCommitDelayMs: number;
  /**
   * SQLite only: where WAL checkpoints run. `thread` (default): a checkpointer thread with its
   * own connection, never inside a commit; `inline`: SQLite's automatic checkpoint in the commit
   * that fills the log (less CPU, longer stalls under load; docs/performance.md).
   */
  sqliteCheckpoints?: 'thread' | 'inline';
  /**
   * SQLite only: who waits for the WAL's fsync. `pipelined` (default): the main thread, while the
   * worker runs the next batch; `commit`: the worker, inside COMMIT (synchronous=FULL: larger
   * batches, less CPU, higher latency under load). Either way no reply leaves before its data is
   * on disk.
   */
  sqliteSync?: 'pipelined' | 'commit';
  /**
   * SQLite only: where the writer runs. `thread`: a worker thread; `inline`: the main thread
   * (sqlite/inline-writer.ts). Unset: `inline` when the process may use one core, `thread` when
   * more (`defaultWriterPlace`: on one core the thread adds only hand-offs; docs/performance.md,
   * round twenty-three).
   */
  sqliteWriter?: 'thread' | 'inline';
  /**
   * PostgreSQL pool: size, connect wait, statement timeout, idle close, and how long a batch of
   * appends or position moves may wait for company under a steady rate (ms; see the README).
   */
  database: {
    poolSize: number;
    connectTimeoutMs: number;
    statementTimeoutMs: number;
    idleTimeoutMs: number;
    commitDelayMs: number;
  };
  /** Web Push (README, "Notifications"). */
  push: {
    /** Both or neither: the VAPID pair every node of a cluster shares; unset: made in the data dir. */
    vapidPublicKey: string | undefined;
    vapidPrivateKey: string | undefined;
    /** The contact push services see in the VAPID JWT (`mailto:` or `https:`). */
    subject: string;
    /** host[:port] admitted although not https-on-a-public-address-only (SSRF rule). */
    allowHosts: string[];
    /** Per push request. */
    timeoutMs: number;
  };
  /** Argon2id cost; tests may lower memory cost only through code, never the environment. */
  argon2: { memoryCost: number; timeCost: number };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const int = (name: string, fallback: number) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be an integer`);
    return value;
  };
  const jwtSecret = env.LETTER_JWT_SECRET || undefined;
  if (jwtSecret !== undefined) checkJwtSecret(jwtSecret);
  return {
    port: int('PORT', 3000),
    host: env.HOST || '127.0.0.1',
    dataDir: resolve(env.LETTER_DATA_DIR || './data'),
    databaseUrl: env.LETTER_DATABASE_URL || undefined,
    redisUrl: env.LETTER_REDIS_URL || undefined,
    redisPrefix: env.LETTER_REDIS_PREFIX || 'letter:',
    jwtSecret,
    allowedOrigins: (env.LETTER_ALLOWED_ORIGINS ?? '')
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean),
    allowedHosts: list(env.LETTER_ALLOWED_HOSTS),
    rateLimits: env.LETTER_RATE_LIMITS !== 'off',
    trustProxy: parseTrustProxy(env.LETTER_TRUST_PROXY),
    logLevel: env.LETTER_LOG_LEVEL || 'info',
    metricsPort: env.LETTER_METRICS_PORT ? int('LETTER_METRICS_PORT', 0) : undefined,
    metricsHost: env.LETTER_METRICS_HOST || undefined,
    metricsToken: env.LETTER_METRICS_TOKEN || undefined,
    webRoot: env.LETTER_WEB_ROOT || undefined,
    maxUploadBytes: int('LETTER_MAX_UPLOAD_BYTES', 26_214_400),
    userQuotaBytes: int('LETTER_USER_QUOTA_BYTES', 1024 * 1024 * 1024),
    s3Url: env.LETTER_S3_URL || undefined,
    accessTtlSeconds: int('LETTER_ACCESS_TTL_SECONDS', 15 * 60),
    refreshTtlSeconds: int('LETTER_REFRESH_TTL_SECONDS', 30 * 24 * 3600),
    sessionMaxDays: int('LETTER_SESSION_MAX_DAYS', 90),
    positionLogDays: int('LETTER_POSITION_LOG_DAYS', 30),
    pruneIntervalMs: int('LETTER_PRUNE_INTERVAL_MS', 3600_000),
    presenceGraceMs: int('LETTER_PRESENCE_GRACE_MS', 5000),
    maxBufferedBytes: int('LETTER_MAX_BUFFERED_BYTES', 1024 * 1024),
    heartbeatMs: int('LETTER_HEARTBEAT_MS', 30_000),
    authTimeoutMs: int('LETTER_AUTH_TIMEOUT_MS', 10_000),
    maxSocketsPerUser: int('LETTER_SOCKETS_PER_USER', 20),
    maxUnauthenticatedSocketsPerIp: int('LETTER_ANON_SOCKETS_PER_IP', 50),
    timeouts: {
      headersMs: int('LETTER_HEADERS_TIMEOUT_MS', 10_000),
      requestMs: int('LETTER_REQUEST_TIMEOUT_MS', 30_000),
      keepAliveMs: int('LETTER_KEEP_ALIVE_TIMEOUT_MS', 72_000),
      idleMs: int('LETTER_IDLE_TIMEOUT_MS', 120_000),
      uploadIdleMs: int('LETTER_UPLOAD_IDLE_TIMEOUT_MS', 30_000),
    },
    sqliteCommitDelayMs: int('LETTER_SQLITE_COMMIT_DELAY_MS', DEFAULT_COMMIT_DELAY_MS),
    sqliteCheckpoints: oneOf('LETTER_SQLITE_CHECKPOINTS', env.LETTER_SQLITE_CHECKPOINTS, [
      'thread',
      'inline',
    ] as const),
    sqliteSync: oneOf('LETTER_SQLITE_SYNC', env.LETTER_SQLITE_SYNC, [
      'pipelined',
      'commit',
    ] as const),
    // Unset stays unset: the store then picks by the cores the process may use.
    sqliteWriter: env.LETTER_SQLITE_WRITER
      ? oneOf('LETTER_SQLITE_WRITER', env.LETTER_SQLITE_WRITER, ['thread', 'inline'] as const)
      : undefined,
    database: {
      poolSize: int('LETTER_PG_POOL_SIZE', 10),
      connectTimeoutMs: int('LETTER_PG_CONNECT_TIMEOUT_MS', 5000),
      statementTimeoutMs: int('LETTER_PG_QUERY_TIMEOUT_MS', 15_000),
      idleTimeoutMs: int('LETTER_PG_IDLE_TIMEOUT_MS', 30_000),
      commitDelayMs: int('LETTER_PG_COMMIT_DELAY_MS', DEFAULT_PG_COMMIT_DELAY_MS),
    },
    push: {
      vapidPublicKey: env.LETTER_VAPID_PUBLIC_KEY || undefined,
      vapidPrivateKey: env.LETTER_VAPID_PRIVATE_KEY || undefined,
      subject: env.LETTER_PUSH_SUBJECT || 'mailto:letter@localhost',
      allowHosts: list(env.LETTER_PUSH_ALLOW_HOSTS),
      timeoutMs: int('LETTER_PUSH_TIMEOUT_MS', 10_000),
    },
    argon2: { memoryCost: 19456, timeCost: 2 },
  };
}

function list(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
}

function parseTrustProxy(raw: string | undefined): string[] | boolean {
  if (raw === undefined || raw === '') return ['loopback'];
  if (raw === 'true' || raw === 'false') return raw === 'true';
  return raw
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
}

/** An option with a few values; the first is the default. */
function oneOf<T extends string>(
  name: string,
  value: string | undefined,
  values: readonly [T, ...T[]],
): T {
  if (value === undefined || value === '') return values[0];
  if ((values as readonly string[]).includes(value)) return value as T;
  throw new Error(`${name} must be one of ${values.join(', ')}`);
}
