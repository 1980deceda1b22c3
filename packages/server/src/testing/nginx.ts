/**
 * deploy/nginx.conf under a real nginx (Debian's, `apt-get install nginx`) for tests: a
 * self-signed certificate made with openssl, the config filled in like README's envsubst line,
 * and nginx run as a child process (daemon off) with its own prefix, pid, logs and temp dirs on
 * free 127.0.0.1 ports. The system's nginx service and ports 80/443 are never touched: the one
 * change to the file is the redirect server's `listen 80`, moved to a free port.
 * Node built-ins only, so it stays light for the browser suite (proxy-browser.test.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { selfSignedCertificate } from './tls.js';

export const nginxConfigFile = fileURLToPath(
  new URL('../../../../deploy/nginx.conf', import.meta.url),
);

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((path) => existsSync(path));

/** The only placeholders deploy/nginx.conf may use (README's envsubst variable list). */
export const PLACEHOLDERS = [
  'LISTEN_PORT',
  'SERVER_NAME',
  'TLS_CERT',
  'TLS_KEY',
  'LETTER_UPSTREAM',
] as const;

/** `envsubst '${LISTEN_PORT} …'`: replaces exactly those, leaves every other `$name` alone. */
export function envsubst(
  text: string,
  values: Record<(typeof PLACEHOLDERS)[number], string>,
): string {
  return text.replace(/\$\{([A-Z_]+)\}/g, (whole, name: string) =>
    (PLACEHOLDERS as readonly string[]).includes(name)
      ? values[name as (typeof PLACEHOLDERS)[number]]
      : whole,
  );
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface Proxy {
  /** https://127.0.0.1:<port> */
  url: string;
  wsUrl: string;
  /** The plain-HTTP redirect server. */
  httpUrl: string;
  /** The certificate (PEM) to trust. */
  ca: Buffer;
  stop(): Promise<void>;
  /** nginx's error log so far. */
  errors(): string;
}

/**
 * Starts nginx with deploy/nginx.conf in front of `upstream` (host:port), or of several nodes:
 * then the upstream block lists each, as README's cluster recipe says.
 */
export async function startProxy(upstream: string | string[]): Promise<Proxy> {
  const nodes = typeof upstream === 'string' ? [upstream] : upstream;
  if (!NGINX) {
    throw new Error(
      'nginx is missing: install it (apt-get install nginx; .ci/run does) to run this',
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'letter-nginx-'));
  const { cert, key } = selfSignedCertificate(dir);
  const [tlsPort, httpPort] = [await freePort(), await freePort()];
  const template = readFileSync(nginxConfigFile, 'utf8').replace(
    /^(\s*)server \$\{LETTER_UPSTREAM\};$/m,
    (_line, indent: string) => nodes.map((node) => `${indent}server ${node};`).join('\n'),
  );
  const site = envsubst(template, {
    LISTEN_PORT: `127.0.0.1:${tlsPort}`,
    SERVER_NAME: 'localhost 127.0.0.1',
    TLS_CERT: cert,
    TLS_KEY: key,
    LETTER_UPSTREAM: nodes[0]!,
  }).replace(/^(\s*)listen 80;$/m, `$1listen 127.0.0.1:${httpPort};`);
  writeFileSync(join(dir, 'letter.conf'), site);
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, sub));
  const root = process.getuid?.() === 0;
  writeFileSync(
    join(dir, 'nginx.conf'),
    `${root ? 'user root;\n' : ''}worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 512; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  include ${dir}/letter.conf;
}
`,
  );
  const errorLog = join(dir, 'error.log');
  const errors = () => (existsSync(errorLog) ? readFileSync(errorLog, 'utf8') : '');
  let output = '';
  const child: ChildProcess = spawn(
    NGINX,
    ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', errorLog, '-g', 'daemon off;'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  // A test process that dies without stop() must not leave nginx serving: SIGTERM makes the
  // master take its worker down with it.
  const orphanGuard = () => child.kill('SIGTERM');
  process.once('exit', orphanGuard);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      process.off('exit', orphanGuard);
      resolve();
    }),
  );

  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`nginx exited at start:\n${output}\n${errors()}`);
    }
    const up = await new Promise<boolean>((resolve) => {
      const probe = connect(tlsPort, '127.0.0.1');
      probe.once('connect', () => resolve(true)).once('error', () => resolve(false));
      probe.once('close', () => probe.destroy());
      setTimeout(() => probe.end(), 50);
    });
    if (up) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`nginx did not listen in time:\n${output}\n${errors()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  return {
    url: `https://127.0.0.1:${tlsPort}`,
    wsUrl: `wss://127.0.0.1:${tlsPort}/ws`,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    ca: readFileSync(cert),
    errors,
    async stop() {
      // SIGQUIT: graceful shutdown of master and worker.
      if (child.exitCode === null) child.kill('SIGQUIT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

export interface CallOptions {
  /** The client's own address (any 127.x.y.z), so tests can be several clients. */
  from?: string;
  body?: unknown;
  /** Bytes sent as they are (an upload), instead of a JSON `body`. */
  raw?: Buffer;
  headers?: Record<string, string>;
}

/** One HTTPS request through the proxy, trusting its certificate; JSON bodies both ways. */
export function proxyCall(
  proxy: Proxy,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<Answer> {
  const payload =
    options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      `${proxy.url}${path}`,
      {
        method,
        ca: proxy.ca,
        localAddress: options.from ?? '127.0.0.2',
        headers: {
          ...(options.body !== undefined && { 'content-type': 'application/json' }),
          ...options.headers,
        },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => {
          let body: unknown = text;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            // keep text
          }
          resolve({ status: res.statusCode!, headers: res.headers, body });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
