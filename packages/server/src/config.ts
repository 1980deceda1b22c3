/** Configuration from the environment, read once at start-up (see the README's table). */
import { resolve } from 'node:path';
import { DEFAULT_COMMIT_DELAY_MS } from './store/sqlite-rpc.js';

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
  rateLimits: boolean;
  /** Which peers may set X-Forwarded-For (proxy-addr names like `loopback`, addresses, CIDRs). */
  trustProxy: string[] | boolean;
  logLevel: string;
  /** Where the built web app lives; served at `/` when present. */
  webRoot: string | undefined;
  /** Access-token lifetime. */
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
  /** A user shows offline only after their last session has been gone this long. */
  presenceGraceMs: number;
  /** Unsent bytes a socket may hold before it is cut off as a slow consumer (1008). */
  maxBufferedBytes: number;
  heartbeatMs: number;
  /** How long a socket without an Authorization header has to send its `auth` frame (4408 after). */
  authTimeoutMs: number;
  /** SQLite only: how long a batch may wait for company under sustained load (0: never). */
  sqliteCommitDelayMs: number;
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
  return {
    port: int('PORT', 3000),
    host: env.HOST || '127.0.0.1',
    dataDir: resolve(env.LETTER_DATA_DIR || './data'),
    databaseUrl: env.LETTER_DATABASE_URL || undefined,
    redisUrl: env.LETTER_REDIS_URL || undefined,
    redisPrefix: env.LETTER_REDIS_PREFIX || 'letter:',
    jwtSecret: env.LETTER_JWT_SECRET || undefined,
    allowedOrigins: (env.LETTER_ALLOWED_ORIGINS ?? '')
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean),
    rateLimits: env.LETTER_RATE_LIMITS !== 'off',
    trustProxy: parseTrustProxy(env.LETTER_TRUST_PROXY),
    logLevel: env.LETTER_LOG_LEVEL || 'info',
    webRoot: env.LETTER_WEB_ROOT || undefined,
    accessTtlSeconds: int('LETTER_ACCESS_TTL_SECONDS', 15 * 60),
    refreshTtlSeconds: int('LETTER_REFRESH_TTL_SECONDS', 30 * 24 * 3600),
    presenceGraceMs: int('LETTER_PRESENCE_GRACE_MS', 5000),
    maxBufferedBytes: int('LETTER_MAX_BUFFERED_BYTES', 1024 * 1024),
    heartbeatMs: int('LETTER_HEARTBEAT_MS', 30_000),
    authTimeoutMs: int('LETTER_AUTH_TIMEOUT_MS', 10_000),
    sqliteCommitDelayMs: int('LETTER_SQLITE_COMMIT_DELAY_MS', DEFAULT_COMMIT_DELAY_MS),
    argon2: { memoryCost: 19456, timeCost: 2 },
  };
}

function parseTrustProxy(raw: string | undefined): string[] | boolean {
  if (raw === undefined || raw === '') return ['loopback'];
  if (raw === 'true' || raw === 'false') return raw === 'true';
  return raw
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
}
