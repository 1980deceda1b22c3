/**
 * The composition root: the one place that picks implementations (store, bus, presence, clock,
 * ids) and wires the modules together. A process runs one node; tests run several in one process.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import fastifyCookie from '@fastify/cookie';
import proxyAddr from '@fastify/proxy-addr';
import { authModeHeader, limits } from '@letter/protocol';
import { argon2Hasher, type PasswordHasher } from './auth/passwords.js';
import { loadJwtSecret } from './auth/secret.js';
import { ensurePrivateDir } from './util/key-file.js';
import { AuthService } from './auth/service.js';
import { AccessTokens, type AccessClaims } from './auth/tokens.js';
import type { Bus } from './bus/bus.js';
import { MemoryBus } from './bus/memory.js';
import type { Config } from './config.js';
import { ChatService } from './services/chat.js';
import { FrameRouter } from './services/frames.js';
import { Session, type SessionDeps } from './services/session.js';
import { Hub } from './hub/hub.js';
import { authRoutes } from './http/auth-routes.js';
import type { RouteContext } from './http/context.js';
import { conversationRoutes } from './http/conversation-routes.js';
import { hostMatcher, hostRefusal, installHostCheck } from './http/allowed-hosts.js';
import { installErrorHandling } from './http/errors.js';
import { peopleRoutes } from './http/people-routes.js';
import { installNoStore, serveWebApp } from './http/static.js';
import { installSecurityHeaders } from './http/security-headers.js';
import { installRequestDeadlines } from './http/request-deadline.js';
import { pushRoutes } from './http/push-routes.js';
import { allowHostMatcher } from './push/endpoint-guard.js';
import { Pusher } from './push/pusher.js';
import { sendPush } from './push/sender.js';
import { loadVapidKeys } from './push/vapid.js';
import { Metrics } from './metrics.js';
import { installMetricsRoute, listenMetrics, type MetricsServer } from './metrics-endpoint.js';
import { Sweeper } from './sweeper.js';
import { BusPresence } from './presence/bus-presence.js';
import type { Store, UserRecord } from './store/store.js';
import { openSqliteStore } from './store/sqlite/worker-store.js';
import { WebSocketTransport } from './transport/ws.js';
import { systemClock, type Clock } from './util/clock.js';
import { randomIds, type Ids } from './util/ids.js';
import { answersWithin, untilReachable } from './util/until-reachable.js';
import { RateLimiter } from './util/rate.js';
import fastifyMultipart from '@fastify/multipart';
import { openBlobStore } from './files/open.js';
import { FileService } from './files/service.js';
import { loadUrlKey, UrlSigner } from './files/signed-urls.js';
import { fileRoutes } from './http/file-routes.js';

export interface NodeOptions {
  config: Config;
  /** Defaults: SQLite in the data dir, a private memory bus, the system clock, random ids. */
  store?: Store;
  bus?: Bus;
  clock?: Clock;
  ids?: Ids;
  hasher?: PasswordHasher;
  /** Pino options, or false for silence (tests). */
  logger?: boolean | object;
  /** Certificates push services may present besides the system's (in-process tests). */
  pushCa?: string;
}

export interface LetterNode {
  app: FastifyInstance;
  store: Store;
  hub: Hub;
  transport: WebSocketTransport;
  /** Uploads, downloads and signed URLs (files/service.ts). */
  files: FileService;
  /** Prunes dead sessions and old position moves every `pruneIntervalMs` (tests call sweep). */
  sweeper: Sweeper;
  /** Sends the Web Pushes of messages committed here (tests wait for `idle()`). */
  pusher: Pusher;
  /** Who is online here and on the other nodes; where deliveries are routed (tests wait on it). */
  presence: BusPresence;
  /** Where GET /metrics is served when it has a port of its own (after listen). */
  readonly metricsUrl: string | undefined;
  /** Starts listening; resolves to the base URL. */
  listen(): Promise<string>;
  /** Graceful stop: refuse new work, close sockets with 1012, flush the store. */
  stop(): Promise<void>;
}

const defaultWebRoot = fileURLToPath(new URL('../../web/dist/', import.meta.url));

export async function createNode(options: NodeOptions): Promise<LetterNode> {
  const { config } = options;
  const clock = options.clock ?? systemClock;
  const ids = options.ids ?? randomIds;
  const app = Fastify({
    logger: options.logger ?? {
      level: config.logLevel,
      redact: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'],
    },
    bodyLimit: limits.maxJsonBodyBytes,
    ...serverTimeouts(config),
    // X-Forwarded-For is believed only from the configured proxies, or it would let any client
    // pick the address the rate limits key on.
    trustProxy: config.trustProxy,
  });
  const ownsStore = !options.store;
  // A database that is not up yet is waited for (a clear log line per attempt), not a crash.
  const store =
    options.store ??
    (await untilReachable('database', () => openDefaultStore(config, app.log), app.log));
  await untilReachable('database', () => store.migrate(), app.log);
  const ownsBus = !options.bus;
  const bus = options.bus ?? (await openDefaultBus(config));
  // Started below, once the logger and the auth service they call exist.
  const presence = new BusPresence(bus, clock, {
    graceMs: config.presenceGraceMs,
    log: { warn: (object, message) => app.log.warn(object, message) },
  });
  const hub = new Hub(bus, {
    nodeId: presence.nodeId,
    hasPeers: () => presence.hasPeers(),
    routes: presence,
    endedSessions: (sessionIds) => auth.endedSessions(sessionIds),
    log: {
      warn: (object, message) => app.log.warn(object, message),
      info: (object, message) => app.log.info(object, message),
    },
  });
  const vapid = loadVapidKeys(
    { publicKey: config.push.vapidPublicKey, privateKey: config.push.vapidPrivateKey },
    config.dataDir,
  );
  const pushAllowed = allowHostMatcher(config.push.allowHosts);
  const pusher = new Pusher({
    store,
    connected: (userId) => presence.hasSocket(userId),
    send: (target, payload) =>
      sendPush(target, payload, {
        vapid,
        subject: config.push.subject,
        allowed: pushAllowed,
        timeoutMs: config.push.timeoutMs,
        ca: options.pushCa,
      }),
    log: { warn: (object, message) => app.log.warn(object, message) },
    now: () => clock.now(),
  });
  const blobs = await openBlobStore(config);
  const files = new FileService({
    store,
    blobs,
    signer: new UrlSigner(loadUrlKey(config.dataDir)),
    clock,
    ids,
    maxUploadBytes: config.maxUploadBytes,
    userQuotaBytes: config.userQuotaBytes,
  });
  const on = config.rateLimits;
  const chat = new ChatService({
    files,
    store,
    hub,
    presence,
    clock,
    ids,
    sendLimiter: new RateLimiter(clock, 60, 20, on),
    // 20 searches, then one a second: the web app searches at each 250 ms pause in typing, so
    // a word typed slowly costs a few. 3 exports, then one every 20 minutes.
    searchLimiter: new RateLimiter(clock, 20, 1, on),
    exportLimiter: new RateLimiter(clock, 3, 1 / 1200, on),
    // A group change reaches every member: 20 at once, then one every 5 s.
    groupLimiter: new RateLimiter(clock, 20, 0.2, on),
    onMessage: (message, memberIds) => {
      metrics.messages.inc();
      pusher.messageCommitted(message, memberIds);
    },
    // Every node hears of the read (the one that pushed the message sends the `read` push), but
    // only for users with push subscriptions: other reads cost no bus traffic.
    onRead: (userId, conversationId, seq) =>
      pusher.readHere(userId, () =>
        hub.publish({ kind: 'read-moved', userId, conversationId, seq }),
      ),
    log: app.log,
  });
  const auth = new AuthService({
    store,
    clock,
    ids,
    hasher: options.hasher ?? argon2Hasher(config.argon2),
    tokens: new AccessTokens(
      loadJwtSecret(config.jwtSecret, config.dataDir),
      config.accessTtlSeconds,
      clock,
    ),
    refreshTtlSeconds: config.refreshTtlSeconds,
    sessionMaxMs: config.sessionMaxDays * 24 * 3600 * 1000,
    onRevoked: (sessionIds) => hub.publish({ kind: 'sessions-revoked', sessionIds }),
  });
  hub.onEvent((event) => {
    if (event.kind === 'sessions-revoked') auth.forget(event.sessionIds);
    if (event.kind === 'read-moved')
      pusher.readMoved(event.userId, event.conversationId, event.seq);
    // Revocations made elsewhere during a bus outage went unheard: check sessions afresh.
    if (event.kind === 'bus-restored') auth.forgetAll();
  });

  await hub.start();
  await presence.start();
  const metrics = new Metrics({
    connections: () => hub.connectionCount,
    store,
    busDropped: () => hub.publishFailures,
    pushes: () => pusher.stats,
  });
  const sweeper = new Sweeper({
    store,
    clock,
    sessionMaxDays: config.sessionMaxDays,
    positionLogDays: config.positionLogDays,
    intervalMs: config.pruneIntervalMs,
    files,
    log: app.log,
  });
  let state: 'starting' | 'ready' | 'draining' = 'starting';

  installErrorHandling(app);
  const hostAllowed = hostMatcher(config.allowedHosts);
  installHostCheck(app, hostAllowed);
  await app.register(fastifyCookie);
  installSecurityHeaders(app);
  installCors(app, config.allowedOrigins);
  installNoStore(app);
  installRequestDeadlines(app, {
    requestMs: config.timeouts.requestMs,
    uploadIdleMs: config.timeouts.uploadIdleMs ?? config.timeouts.requestMs,
  });

  const context: RouteContext = {
    config,
    store,
    auth,
    chat,
    files,
    presence,
    clock,
    limiters: {
      loginByIp: new RateLimiter(clock, 20, 0.2, on),
      loginByName: new RateLimiter(clock, 10, 0.1, on),
      registerByIp: new RateLimiter(clock, 10, 1 / 60, on),
      // 30 uploads at once (an album), then one every 2 s.
      uploadByUser: new RateLimiter(clock, 30, 0.5, on),
    },
  };
  authRoutes(app, context);
  peopleRoutes(app, context);
  conversationRoutes(app, context);
  pushRoutes(app, context, { publicKey: vapid.publicKey, allowed: pushAllowed });
  // Parts are streams, read only by the file routes (never buffered by the plugin).
  await app.register(fastifyMultipart);
  fileRoutes(app, context, files);

  app.get('/healthz', async (_request, reply) => {
    if (state !== 'ready') return reply.code(503).send({ status: state });
    const down: string[] = [];
    if (!(await answersWithin(store.ping(), HEALTH_PING_MS))) down.push('database');
    if (!bus.isUp()) down.push('bus');
    if (down.length === 0) return { status: 'ok' };
    return reply.code(503).send({ status: 'degraded', down });
  });
  installMetricsRoute(app, metrics, config);
  let metricsServer: MetricsServer | null = null;
  await serveWebApp(app, config.webRoot ?? defaultWebRoot);

  const router = new FrameRouter(chat, app.log, {
    clock,
    rateLimits: on,
    onSendLatency: (seconds) => metrics.sendSeconds.observe(seconds),
  });
  // The address fastify's `request.ip` gives, for upgrades fastify does not see.
  const trusted =
    typeof config.trustProxy === 'boolean'
      ? () => config.trustProxy === true
      : proxyAddr.compile(config.trustProxy);
  const sessionDeps: SessionDeps = { hub, presence, router, log: app.log };
  const transport = new WebSocketTransport<AccessClaims & { user: Promise<UserRecord | null> }>({
    // The user for `ready` is fetched alongside the session check: one store round trip.
    authenticate: async (token) => {
      const { claims, alongside } = await auth.authenticateWith(token, (verified) => {
        const user = store.getUser(verified.userId);
        // Unawaited when the session turns out dead; openSession handles its failure otherwise.
        user.catch(() => undefined);
        return user;
      });
      // Settled before the socket opens: `ready` then goes out in the turn of the upgrade, and
      // the transport sends the 101 and `ready` in one write (one syscall, one packet).
      await alongside.then(noop, noop);
      // Not `{ ...claims, user }`: a spread followed by a property gets a hidden class of its
      // own in V8 (Node 20), kept for the connection's life (docs/performance.md, round 13).
      return { userId: claims.userId, sessionId: claims.sessionId, user: alongside };
    },
    originAllowed: (origin, host) => {
      if (config.allowedOrigins.includes(origin)) return true;
      try {
        return new URL(origin).host === host;
      } catch {
        return false;
      }
    },
    hostRefused: (host) => {
      if (!hostAllowed || hostAllowed(host)) return null;
      const { code, message } = hostRefusal(host);
      return { error: { code, message } };
    },
    onOpen: (connection, claims) => new Session(connection, sessionDeps).start(claims.user),
    clientAddress: (request) => proxyAddr(request, trusted),
    maxSocketsPerUser: config.maxSocketsPerUser,
    maxUnauthenticatedPerAddress: config.maxUnauthenticatedSocketsPerIp,
    maxBufferedBytes: config.maxBufferedBytes,
    heartbeatMs: config.heartbeatMs,
    authTimeoutMs: config.authTimeoutMs,
    log: app.log,
  });

  return {
    app,
    store,
    hub,
    transport,
    files,
    sweeper,
    pusher,
    presence,
    get metricsUrl() {
      return metricsServer?.url;
    },
    async listen() {
      const address = await app.listen({ port: config.port, host: config.host });
      metricsServer = await listenMetrics(metrics, config);
      transport.attach(app.server);
      state = 'ready';
      sweeper.start();
      return address;
    },
    async stop() {
      state = 'draining';
      await transport.drain();
      // Node's close() ends only the connections idle at that moment. A keep-alive connection
      // whose answer is still going out (a download's stream) goes idle a moment later and would
      // hold the stop until the keep-alive timeout: until the close is done, idle connections
      // are closed as they appear. Answers in progress are never cut.
      const closeIdle = setInterval(() => app.server.closeIdleConnections(), 25);
      try {
        await app.close();
      } finally {
        clearInterval(closeIdle);
      }
      await sweeper.stop();
      pusher.stop();
      await metricsServer?.close();
      presence.stop();
      metrics.stop();
      await hub.stop();
      if (ownsBus) await bus.close();
      if (ownsStore) await store.close();
      await blobs.close();
    },
  };
}

/**
 * Node's own checks: headers (slowloris) and whole-request deadlines answer 408 and close; an
 * idle socket is destroyed. Node looks for overdue requests every connectionsCheckingInterval
 * (30 s by default, which would stretch a 10 s deadline to 40 s).
 */
function serverTimeouts(config: Config) {
  const { headersMs, requestMs, keepAliveMs, idleMs } = config.timeouts;
  const headersTimeout = requestMs > 0 ? Math.min(headersMs, requestMs) : headersMs;
  return {
    connectionTimeout: idleMs,
    // Bodies are held to their deadline per route (http/request-deadline.ts): an upload gets
    // an idle deadline instead of the whole-request one.
    requestTimeout: 0,
    keepAliveTimeout: keepAliveMs,
    http: {
      headersTimeout,
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersTimeout / 4))),
    },
  };
}

/** /healthz waits this long for the store's answer before it reports the database down. */
const HEALTH_PING_MS = 2000;

// PostgreSQL (pg, kysely), Redis (ioredis) and S3 (files/open.ts) are imported only when
// configured: loading them cost a SQLite node ~0.3 s of CPU at every start-up
// (docs/performance.md, "Reads at one million messages, round three").

async function openDefaultBus(config: Config): Promise<Bus> {
  if (!config.redisUrl) return new MemoryBus();
  const { RedisBus } = await import('./bus/redis.js');
  return new RedisBus(config.redisUrl, config.redisPrefix);
}

async function openDefaultStore(config: Config, log: FastifyBaseLogger): Promise<Store> {
  if (config.databaseUrl) {
    const { openPostgresStore } = await import('./store/postgres/open.js');
    const { poolSize, connectTimeoutMs, statementTimeoutMs, idleTimeoutMs, commitDelayMs } =
      config.database;
    return openPostgresStore({
      url: config.databaseUrl,
      // Nodes that share the database meet on the same conversations: their append batches
      // then take the conversation locks only with their writes (postgres/append-batch.ts).
      appendReads: config.redisUrl ? 'unlocked' : 'locked',
      maxConnections: poolSize,
      commitDelayMs,
      connectTimeoutMs,
      statementTimeoutMs,
      idleTimeoutMs,
      onConnectionError: (error) =>
        // Message and code only: the error carries the pg client, connection parameters and all.
        log.warn(
          { error: error.message, code: (error as { code?: unknown }).code },
          'database connection lost; the pool opens a new one',
        ),
    });
  }
  // The database and the key files share the data dir: private to the server's user.
  ensurePrivateDir(config.dataDir);
  return openSqliteStore({
    file: join(config.dataDir, 'letter.db'),
    commitDelayMs: config.sqliteCommitDelayMs,
    checkpoints: config.sqliteCheckpoints,
    sync: config.sqliteSync,
    writer: config.sqliteWriter,
  });
}

/** CORS only for the configured extra origins; same-origin requests need none. */
function installCors(app: FastifyInstance, allowed: string[]): void {
  if (allowed.length === 0) return;
  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    if (!origin || !allowed.includes(origin)) return;
    reply.header('access-control-allow-origin', origin);
    reply.header('access-control-allow-credentials', 'true');
    reply.header('vary', 'Origin');
    if (request.method === 'OPTIONS') {
      reply.header('access-control-allow-methods', 'GET,POST,PUT,PATCH,DELETE');
      reply.header('access-control-allow-headers', `authorization,content-type,${authModeHeader}`);
      reply.header('access-control-max-age', '600');
      return reply.code(204).send();
    }
  });
}

const noop = (): void => {};
