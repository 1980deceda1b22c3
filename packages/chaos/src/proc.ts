/**
 * Letter servers as child processes (`node packages/server/dist/main.js`) for the chaos suite.
 * Each keeps one port for its whole life, so a restart after `kill -9` comes back at the same
 * address behind the same client proxy. Any exit we did not ask for is recorded: a server must
 * end only when we kill it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const mainJs = fileURLToPath(new URL('../../server/dist/main.js', import.meta.url));

/** Every node of one run signs with it, so a token from one is good on the other. */
export const CHAOS_JWT_SECRET = 'letter-chaos-secret-0123456789abcdef0123';

/** A port nobody listens on right now (the kernel's pick, released again). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface ServerSpec {
  name: string;
  dataDir: string;
  logFile: string;
  /** LETTER_DATABASE_URL, LETTER_REDIS_URL, … on top of the suite's defaults. */
  env: Record<string, string>;
}

const running = new Set<ChildProcess>();

/** On any way out of the runner: no server child outlives it. */
export function killAllServers(): void {
  for (const child of running) child.kill('SIGKILL');
}

export class ServerProcess {
  private child: ChildProcess | null = null;
  private exitedAt: Promise<void> = Promise.resolve();
  private tail = '';
  /** Exits we did not cause (crashes): each one fails the run. */
  readonly unexpectedExits: string[] = [];
  /** How many times it was started (1 + restarts). */
  starts = 0;

  private constructor(
    readonly spec: ServerSpec,
    readonly port: number,
  ) {}

  static async start(spec: ServerSpec): Promise<ServerProcess> {
    const server = new ServerProcess(spec, await freePort());
    await server.start();
    return server;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get alive(): boolean {
    return this.child !== null;
  }

  /** The last lines the process wrote, for failure reports. */
  output(): string {
    return this.tail;
  }

  /** Starts (or restarts) the process on its port; resolves once it listens. */
  async start(): Promise<void> {
    if (this.child) throw new Error(`${this.spec.name} is already running`);
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(
        ([name]) => !name.startsWith('LETTER_') && name !== 'NODE_OPTIONS',
      ),
    );
    const child = spawn(process.execPath, [mainJs], {
      env: {
        ...inherited,
        PORT: String(this.port),
        HOST: '127.0.0.1',
        LETTER_DATA_DIR: this.spec.dataDir,
        LETTER_RATE_LIMITS: 'off',
        LETTER_JWT_SECRET: CHAOS_JWT_SECRET,
        LETTER_PRINT_ADDRESS: 'on',
        LETTER_WEB_ROOT: `${this.spec.dataDir}/no-web`,
        LETTER_LOG_LEVEL: 'warn',
        ...this.spec.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.starts++;
    running.add(child);
    let expected = false;
    const onOutput = (chunk: Buffer) => {
      const text = chunk.toString();
      appendFileSync(this.spec.logFile, text);
      this.tail = (this.tail + text).slice(-4000);
    };
    child.stdout!.on('data', onOutput);
    child.stderr!.on('data', onOutput);
    this.exitedAt = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        running.delete(child);
        if (this.child === child) this.child = null;
        if (!expected && !this.killing.has(child)) {
          this.unexpectedExits.push(`${this.spec.name} exited by itself (${signal ?? code})`);
        }
        resolve();
      }),
    );
    await new Promise<void>((resolve, reject) => {
      let seen = '';
      const timer = setTimeout(() => {
        expected = true;
        child.kill('SIGKILL');
        reject(new Error(`${this.spec.name} did not start in 60 s:\n${this.tail}`));
      }, 60_000);
      const look = (chunk: Buffer) => {
        seen += chunk.toString();
        if (!/Letter: open http:\/\/\S+ in your browser/.test(seen)) return;
        clearTimeout(timer);
        child.stdout!.off('data', look);
        resolve();
      };
      child.stdout!.on('data', look);
      void this.exitedAt.then(() => {
        clearTimeout(timer);
        reject(new Error(`${this.spec.name} exited before listening:\n${this.tail}`));
      });
    });
  }

  private readonly killing = new Set<ChildProcess>();

  /** `kill -9`: no drain, no flush; resolves once the process is gone. */
  async kill9(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /** A clean stop (SIGTERM drains and exits); SIGKILL if that takes more than 15 s. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await this.signal('SIGTERM');
    clearTimeout(timer);
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.killing.add(child);
    child.kill(signal);
    await this.exitedAt;
  }
}
