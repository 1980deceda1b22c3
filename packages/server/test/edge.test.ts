/**
 * The server's edge against hostile or careless clients and networks: slow headers are cut off,
 * a Host outside LETTER_ALLOWED_HOSTS is refused (DNS rebinding), and /metrics can be kept
 * private (its own port, or a bearer token).
 */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  api,
  register,
  sleep,
  startServer,
  TestSocket,
  type TestServer,
} from '../src/testing/harness.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

/** Sends raw bytes to the server; resolves with everything it answered once it closes. */
function rawClient(url: string) {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  let received = '';
  let closed = false;
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (received += chunk));
  socket.on('error', () => undefined);
  const done = new Promise<string>((resolve) =>
    socket.on('close', () => {
      closed = true;
      resolve(received);
    }),
  );
  return {
    write: (text: string) => {
      if (!closed) socket.write(text);
    },
    get closed() {
      return closed;
    },
    done,
    destroy: () => socket.destroy(),
  };
}

describe('timeouts', () => {
  it('a client sending its headers slowly is cut off with 408; a normal request is fine', async () => {
    server = await startServer({
      config: { timeouts: { headersMs: 300, requestMs: 1000, keepAliveMs: 1000, idleMs: 5000 } },
    });
    const client = rawClient(server.url);
    client.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    // One more header line every 100 ms, for up to 10 s: the headers never end.
    for (let i = 0; i < 100 && !client.closed; i++) {
      client.write(`X-Slow-${i}: ${'a'.repeat(10)}\r\n`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const closedByServer = client.closed;
    client.destroy();
    expect(closedByServer, 'the server should have closed the slow connection').toBe(true);
    expect(await client.done).toMatch(/^HTTP\/1\.1 408/);
    expect((await api(server, 'GET', '/healthz')).status).toBe(200);
  });

  it('an idle WebSocket outlives the idle timeout (it has heartbeats of its own)', async () => {
    server = await startServer({
      config: {
        timeouts: { headersMs: 300, requestMs: 1000, keepAliveMs: 300, idleMs: 300 },
        heartbeatMs: 60_000,
      },
    });
    const ana = await register(server, 'ana');
    const socket = await TestSocket.connect(server, ana.accessToken);
    await sleep(1200);
    expect(await socket.request({ type: 'ping' })).toMatchObject({ type: 'ok' });
    socket.close();
  });

  it('has sensible defaults: headers within 10 s, a request within 30 s', async () => {
    server = await startServer();
    const http = server.node.app.server;
    expect(http.headersTimeout).toBe(10_000);
    expect(http.requestTimeout).toBe(30_000);
    expect(http.keepAliveTimeout).toBe(72_000);
  });
});
