/**
 * The server's edge against hostile or careless clients and networks: slow headers are cut off,
 * a Host outside LETTER_ALLOWED_HOSTS is refused (DNS rebinding), and /metrics can be kept
 * private (its own port, or a bearer token).
 */
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
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
    // Bodies are held to their deadlines per route (http/request-deadline.ts), not by Node.
    expect(http.requestTimeout).toBe(0);
    expect(loadConfig({}).timeouts).toMatchObject({ requestMs: 30_000, uploadIdleMs: 30_000 });
    expect(http.keepAliveTimeout).toBe(72_000);
  });

  it('a body slower than LETTER_REQUEST_TIMEOUT_MS is cut with 408', async () => {
    server = await startServer({
      config: { timeouts: { headersMs: 300, requestMs: 500, keepAliveMs: 1000, idleMs: 5000 } },
    });
    const client = rawClient(server.url);
    client.write(
      'POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{',
    );
    for (let i = 0; i < 30 && !client.closed; i++) {
      client.write(' ');
      await sleep(100);
    }
    expect(client.closed, 'the server should have cut the slow body').toBe(true);
    expect(await client.done).toMatch(/^HTTP\/1\.1 408/);
  });

  it('an upload may take longer than the request deadline while it makes progress, not when it stalls', async () => {
    const timeouts = {
      headersMs: 300,
      requestMs: 400,
      keepAliveMs: 1000,
      idleMs: 5000,
      uploadIdleMs: 400,
    };
    server = await startServer({ config: { timeouts } });
    const ana = await register(server, 'ana');
    const boundary = 'xBOUNDARYx';
    const content = 'a'.repeat(30);
    const body =
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="slow.txt"\r\n` +
      `Content-Type: text/plain\r\n\r\n${content}\r\n--${boundary}--\r\n`;
    const head =
      `POST /api/files HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${ana.accessToken}\r\n` +
      `Content-Type: multipart/form-data; boundary=${boundary}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`;

    // 12 slices 100 ms apart: 1.2 s in all, three times the request deadline.
    const slow = rawClient(server.url);
    slow.write(head);
    const step = Math.ceil(body.length / 12);
    for (let i = 0; i < body.length; i += step) {
      slow.write(body.slice(i, i + step));
      await sleep(100);
    }
    expect(await slow.done).toMatch(/^HTTP\/1\.1 201/);

    const stalled = rawClient(server.url);
    stalled.write(head + body.slice(0, 40));
    const started = Date.now();
    const answer = await Promise.race([stalled.done, sleep(3000).then(() => 'still open')]);
    stalled.destroy();
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
  });
});

/** A GET with a Host header of our choosing (fetch does not let one set it). */
function getWithHost(url: string, path: string, host: string) {
  return new Promise<{ status: number; body: any }>((resolve, reject) => {
    const request = httpRequest(url + path, { headers: { host } }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }),
      );
    });
    request.on('error', reject);
    request.end();
  });
}

const handshake = (host: string) =>
  'GET /ws HTTP/1.1\r\n' +
  `Host: ${host}\r\n` +
  'Upgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

describe('LETTER_ALLOWED_HOSTS', () => {
  it('serves listed host names (any port, or the port given) and refuses others with 400', async () => {
    server = await startServer({
      config: { allowedHosts: ['localhost', '127.0.0.1', 'chat.example:8443'] },
    });
    const port = new URL(server.url).port;
    for (const host of [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      'LOCALHOST',
      'chat.example:8443',
    ]) {
      expect((await getWithHost(server.url, '/healthz', host)).status, host).toBe(200);
    }
    for (const host of [`rebound.attacker.example:${port}`, 'chat.example:80', `[::1]:${port}`]) {
      const refused = await getWithHost(server.url, '/api/me', host);
      expect(refused.status, host).toBe(400);
      expect(refused.body.error.code).toBe('bad_request');
      expect(refused.body.error.message).toContain('LETTER_ALLOWED_HOSTS');
    }
  });

  it('refuses a WebSocket handshake to another Host with 400 and the error body', async () => {
    server = await startServer({ config: { allowedHosts: ['127.0.0.1'] } });
    const port = new URL(server.url).port;
    const evil = rawClient(server.url);
    evil.write(handshake(`rebound.attacker.example:${port}`));
    const answer = await evil.done;
    expect(answer).toMatch(/^HTTP\/1\.1 400/);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({
      error: { code: 'bad_request' },
    });
    // The listed host still opens sockets.
    const ana = await register(server, 'ana');
    const socket = await TestSocket.connect(server, ana.accessToken);
    expect(await socket.request({ type: 'ping' })).toMatchObject({ type: 'ok' });
    socket.close();
  });

  it('without the setting every Host is served, as before', async () => {
    server = await startServer();
    expect((await getWithHost(server.url, '/healthz', 'anything.example')).status).toBe(200);
    const client = rawClient(server.url);
    client.write(handshake('anything.example'));
    await sleep(200);
    client.destroy();
    expect(await client.done).toMatch(/^HTTP\/1\.1 101/);
  });
});

describe('/metrics', () => {
  const scrape = (base: string, token?: string) =>
    fetch(`${base}/metrics`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  const TOKEN = 'metrics-token-0123456789';

  it('with LETTER_METRICS_TOKEN answers only to that bearer token (401 with the error body)', async () => {
    server = await startServer({ config: { metricsToken: TOKEN } });
    for (const token of [undefined, 'wrong', `${TOKEN}x`]) {
      const refused = await scrape(server.url, token);
      expect(refused.status, String(token)).toBe(401);
      expect(await refused.json()).toMatchObject({ error: { code: 'unauthorized' } });
    }
    const ok = await scrape(server.url, TOKEN);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('letter_connections');
  });

  it('with LETTER_METRICS_PORT moves to a listener of its own (the main port answers 404)', async () => {
    server = await startServer({ config: { metricsPort: 0, metricsToken: TOKEN } });
    const metricsUrl = server.node.metricsUrl!;
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(metricsUrl).not.toBe(server.url);
    expect((await scrape(server.url, TOKEN)).status).toBe(404);
    expect((await scrape(metricsUrl)).status).toBe(401);
    const ok = await scrape(metricsUrl, TOKEN);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toContain('text/plain');
    expect(await ok.text()).toContain('letter_messages_total');
    expect((await fetch(`${metricsUrl}/api/me`)).status).toBe(404);
  });

  it('without either setting is served on the main port to anyone, as before', async () => {
    server = await startServer();
    expect(server.node.metricsUrl).toBeUndefined();
    expect((await scrape(server.url)).status).toBe(200);
  });
});
