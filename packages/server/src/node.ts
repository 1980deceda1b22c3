/**
 * The composition root: the one place that picks implementations (store, bus, presence, clock,
 * ids) and wires the modules together. A process runs one node; tests run several in one process.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import fastifyCookie from '@fastify/cookie';
import fastifyHelmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import { limits } from '@letter/protocol';
import { argon2Hasher, type PasswordHasher } from './auth/passwords.js';
import { loadJwtSecret } from './auth/secret.js';
import { AuthService } from './auth/service.js';
import { AccessTokens, type AccessClaims } from './auth/tokens.js';
import type { Bus } from './bus/bus.js';
import { MemoryBus } from './bus/memory.js';
import type { Config } from './config.js';
import { ChatService } from './hub/chat.js';
import { FrameRouter } from './hub/frames.js';
import { HeldConnection } from './hub/held-connection.js';
import { Hub, type Connection } from './hub/hub.js';
import { authRoutes } from './http/auth-routes.js';
import type { RouteContext } from './http/context.js';
import { conversationRoutes } from './http/conversation-routes.js';
import { installErrorHandling } from './http/errors.js';
import { peopleRoutes } from './http/people-routes.js';
import { Metrics } from './metrics.js';
import { BusPresence } from './presence/bus-presence.js';
import { RedisBus } from './bus/redis.js';
import { openPostgresStore } from './store/postgres.js';
import type { Store, UserRecord } from './store/store.js';
import { openSqliteStore } from './store/worker-store.js';
import { WebSocketTransport } from './transport/ws.js';
import { systemClock, type Clock } from './util/clock.js';
import { randomIds, type Ids } from './util/ids.js';
import { RateLimiter } from './util/rate.js';

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
}

export interface LetterNode {
  app: FastifyInstance;
  store: Store;
  hub: Hub;
  transport: WebSocketTransport;
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
  const ownsStore = !options.store;
  const store = options.store ?? (await openDefaultStore(config));
  await store.migrate();
  const ownsBus = !options.bus;
  const bus =
    options.bus ??
    (config.redisUrl ? new RedisBus(config.redisUrl, config.redisPrefix) : new MemoryBus());
  const hub = new Hub(bus);
  await hub.start();
  const presence = new BusPresence(bus, clock, { graceMs: config.presenceGraceMs });
  await presence.start();
  const on = config.rateLimits;
  const chat = new ChatService({
    store,
    hub,
    presence,
    clock,
    ids,
    sendLimiter: new RateLimiter(clock, 60, 20, on),
    onMessage: () => metrics.messages.inc(),
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
    onRevoked: (sessionIds) => hub.publish({ kind: 'sessions-revoked', sessionIds }),
  });
  hub.onEvent((event) => {
    if (event.kind === 'sessions-revoked') auth.forget(event.sessionIds);
  });

  const app = Fastify({
    logger: options.logger ?? {
      level: config.logLevel,
      redact: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'],
    },
    bodyLimit: limits.maxJsonBodyBytes,
    // X-Forwarded-For is believed only from the configured proxies, or it would let any client
    // pick the address the rate limits key on.
    trustProxy: config.trustProxy,
  });
  const metrics = new Metrics({ connections: () => hub.connectionCount, store });
  let state: 'starting' | 'ready' | 'draining' = 'starting';

  installErrorHandling(app);
  await app.register(fastifyCookie);
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:', 'blob:'],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        frameAncestors: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        // Helmet adds upgrade-insecure-requests by default, which makes a browser fetch the app's
        // own scripts over https when Letter is served over plain http on a LAN address.
        upgradeInsecureRequests: null,
      },
    },
  });
  installCors(app, config.allowedOrigins);

  const context: RouteContext = {
    config,
    store,
    auth,
    chat,
    presence,
    clock,
    limiters: {
      loginByIp: new RateLimiter(clock, 20, 0.2, on),
      loginByName: new RateLimiter(clock, 10, 0.1, on),
      registerByIp: new RateLimiter(clock, 10, 1 / 60, on),
    },
  };
  authRoutes(app, context);
  peopleRoutes(app, context);
  conversationRoutes(app, context);

  app.get('/healthz', async (_request, reply) => {
    if (state !== 'ready') return reply.code(503).send({ status: state });
    try {
      await store.ping();
      return { status: 'ok' };
    } catch {
      return reply.code(503).send({ status: 'store unavailable' });
    }
  });
  app.get('/metrics', async (_request, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  await serveWebApp(app, config.webRoot ?? defaultWebRoot);

  const router = new FrameRouter(chat, app.log, (seconds) => metrics.sendSeconds.observe(seconds));
  const transport = new WebSocketTransport<AccessClaims & { user: Promise<UserRecord | null> }>({
    // The user for `ready` is fetched alongside the session check: one store round trip.
    authenticate: async (token) => {
      const { claims, alongside } = await auth.authenticateWith(token, (verified) => {
        const user = store.getUser(verified.userId);
        // Unawaited when the session turns out dead; openSession handles its failure otherwise.
        user.catch(() => undefined);
        return user;
      });
      return { ...claims, user: alongside };
    },
    originAllowed: (origin, host) => {
      if (config.allowedOrigins.includes(origin)) return true;
      try {
        return new URL(origin).host === host;
      } catch {
        return false;
      }
    },
    onOpen: (connection, claims) => openSession(connection, claims.user),
    maxBufferedBytes: config.maxBufferedBytes,
    heartbeatMs: config.heartbeatMs,
    authTimeoutMs: config.authTimeoutMs,
    log: app.log,
  });

  /** Sends `ready` before anything else; frames that arrive meanwhile wait their turn. */
  function openSession(socket: Connection, user: Promise<UserRecord | null>) {
    const connection = new HeldConnection(socket);
    const replyJson = (json: string) => connection.sendDirect(Buffer.from(json));
    const reply = (frame: object) => replyJson(JSON.stringify(frame));
    const frameContext = { connection, reply, replyJson };
    let queue: string[] | undefined = [];
    let closed = false;
    void user.then(
      (user) => {
        if (closed) return;
        if (!user) return connection.close(4401, 'unknown user');
        reply({
          type: 'ready',
          user: { id: user.id, username: user.username, displayName: user.displayName },
          sessionId: connection.sessionId,
        });
        hub.attach(connection);
        presence.connect(connection.userId);
        const waiting = queue ?? [];
        queue = undefined;
        for (const text of waiting) void router.handle(frameContext, text);
      },
      () => connection.close(1011, 'internal error'),
    );
    return {
      onText(text: string) {
        if (queue) queue.push(text);
        else void router.handle(frameContext, text);
      },
      onClose() {
        closed = true;
        if (queue) return;
        hub.detach(connection);
        presence.disconnect(connection.userId);
      },
    };
  }

  return {
    app,
    store,
    hub,
    transport,
    async listen() {
      const address = await app.listen({ port: config.port, host: config.host });
      transport.attach(app.server);
      state = 'ready';
      return address;
    },
    async stop() {
      state = 'draining';
      await transport.drain();
      await app.close();
      presence.stop();
      metrics.stop();
      await hub.stop();
      if (ownsBus) await bus.close();
      if (ownsStore) await store.close();
    },
  };
}

async function openDefaultStore(config: Config): Promise<Store> {
  if (config.databaseUrl) return openPostgresStore({ url: config.databaseUrl });
  return openSqliteStore({
    file: join(config.dataDir, 'letter.db'),
    commitDelayMs: config.sqliteCommitDelayMs,
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
      reply.header('access-control-allow-headers', 'authorization,content-type');
      reply.header('access-control-max-age', '600');
      return reply.code(204).send();
    }
  });
}

/** The built web app at `/`, with client-side routes falling back to index.html. */
async function serveWebApp(app: FastifyInstance, root: string): Promise<void> {
  if (!existsSync(join(root, 'index.html'))) {
    app.get('/', async (_request, reply) =>
      reply
        .type('text/plain')
        .send('Letter is running, but the web app is not built (npm run build).'),
    );
    return;
  }
  await app.register(fastifyStatic, { root, wildcard: false, index: 'index.html' });
  app.get('/*', async (request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    if (path.startsWith('/api/') || path === '/ws') {
      return reply
        .code(404)
        .send({ error: { code: 'not_found', message: `No route GET ${path}.` } });
    }
    if (/\.[a-z0-9]+$/i.test(path)) return reply.sendFile(path.slice(1));
    return reply.sendFile('index.html');
  });
}
