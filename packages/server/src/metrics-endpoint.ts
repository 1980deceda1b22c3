/**
 * Where GET /metrics is served, and to whom: on the main port by default; on a port of its own
 * with LETTER_METRICS_PORT (then the main port answers 404 for it), e.g. bound to an internal
 * address only Prometheus reaches; and with LETTER_METRICS_TOKEN only to `Authorization: Bearer
 * <token>` (401 otherwise), wherever it is served.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { errorCodes, LetterError, type ErrorCode } from '@letter/protocol';
import type { Config } from './config.js';
import type { Metrics } from './metrics.js';

/** Whether the Authorization header carries the token; always true when no token is set. */
export function metricsAuthorized(header: string | undefined, token: string | undefined): boolean {
  if (!token) return true;
  const given = /^Bearer (.+)$/i.exec(header ?? '')?.[1];
  if (given === undefined) return false;
  // Equal-length digests, so the comparison takes the same time whatever was sent.
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(token));
}

const unauthorized = () =>
  new LetterError(
    'unauthorized',
    'GET /metrics needs Authorization: Bearer <LETTER_METRICS_TOKEN>.',
  );

/** The route on the main app, unless metrics have a port of their own. */
export function installMetricsRoute(app: FastifyInstance, metrics: Metrics, config: Config): void {
  if (config.metricsPort !== undefined) return;
  app.get('/metrics', async (request, reply) => {
    if (!metricsAuthorized(request.headers.authorization, config.metricsToken))
      throw unauthorized();
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/** The separate metrics listener (LETTER_METRICS_PORT), or null when metrics share the main port. */
export async function listenMetrics(
  metrics: Metrics,
  config: Config,
): Promise<MetricsServer | null> {
  if (config.metricsPort === undefined) return null;
  const server: Server = createServer((request, response) => {
    const send = (status: number, type: string, body: string) => {
      response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      response.end(body);
    };
    const error = (status: number, code: ErrorCode, message: string) =>
      send(status, 'application/json', JSON.stringify({ error: { code, message } }));
    const path = (request.url ?? '').split('?')[0];
    if (request.method !== 'GET' || path !== '/metrics') {
      return error(404, 'not_found', `No route ${request.method} ${path}.`);
    }
    if (!metricsAuthorized(request.headers.authorization, config.metricsToken)) {
      return error(401, 'unauthorized', unauthorized().message);
    }
    metrics.registry.metrics().then(
      (text) => send(200, metrics.registry.contentType, text),
      () => error(500, 'internal', errorCodes.internal.message),
    );
  });
  server.headersTimeout = config.timeouts.headersMs;
  server.requestTimeout = config.timeouts.requestMs;
  server.keepAliveTimeout = config.timeouts.keepAliveMs;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.metricsPort, config.metricsHost ?? config.host, () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
