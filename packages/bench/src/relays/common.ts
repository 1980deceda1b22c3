/**
 * What both baseline relays share: the HTTP side (health and metrics) and the event-loop
 * monitor, so that the harness reads their stalls the same way it reads Letter's.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';

/**
 * Serves `GET /healthz` and `GET /metrics` (Prometheus text). Like prom-client's
 * `nodejs_eventloop_lag_max_seconds`, the max is reset after each scrape, so two scrapes
 * bracket a window. Other paths fall through to whatever else listens (Socket.IO).
 */
export function relayHttpServer(connections: () => number): Server {
  // 10 ms resolution, the same as prom-client's default in Letter.
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  return createServer((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    } else if (req.url === '/metrics') {
      const body =
        `nodejs_eventloop_lag_max_seconds ${delay.max / 1e9}\n` +
        `relay_connections ${connections()}\n`;
      delay.reset();
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(body);
    } else if (!req.url?.startsWith('/socket.io/')) {
      res.writeHead(404).end();
    }
  });
}

/** The harness keeps our stdin open; when it dies without killing us, stdin ends: exit too. */
export function exitWithParent(): void {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
  process.on('SIGTERM', () => process.exit(0));
}

export function listenPort(): { port: number; host: string } {
  return { port: Number(process.env.PORT ?? 3100), host: process.env.HOST ?? '127.0.0.1' };
}
