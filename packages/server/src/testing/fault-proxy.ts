/**
 * A TCP fault proxy for tests and the chaos suite: it sits between Letter and a dependency
 * (PostgreSQL, Redis) or between clients and Letter, and can cut, delay or black-hole the traffic,
 * the way a failover, a restart or a dead network path would. It only listens on 127.0.0.1.
 *
 * - `pass`: bytes flow both ways (optionally delayed by `delay(ms)`).
 * - `cut()`: every open connection is reset and new ones are reset at once (a dead server).
 * - `blackhole()`: connections stay open but every byte is dropped both ways, and new connections
 *   are accepted into the same hole (a half-open path: nothing errors, nothing arrives). Leaving it
 *   resets those connections, since their streams lost bytes.
 * - `restore()`: back to `pass` for new connections.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export type FaultMode = 'pass' | 'cut' | 'blackhole';

export interface FaultTarget {
  host: string;
  port: number;
}

interface Pair {
  client: Socket;
  upstream: Socket;
  /** Opened (or caught) while black-holed: never carried bytes through. */
  holed: boolean;
}

export class FaultProxy {
  private mode: FaultMode = 'pass';
  private delayMs = 0;
  private readonly pairs = new Set<Pair>();
  /** How many connections the proxy has accepted, for tests that check a reconnect happened. */
  accepted = 0;

  private constructor(
    private readonly server: Server,
    private readonly target: FaultTarget,
  ) {}

  /** Starts a proxy on a random 127.0.0.1 port (or `port`) in front of `target`. */
  static async start(target: FaultTarget, port = 0): Promise<FaultProxy> {
    const server = createServer();
    const proxy = new FaultProxy(server, target);
    server.on('connection', (client) => proxy.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  /** Parses `postgres://…@host:port/…` or `redis://host:port` and proxies it. */
  static async forUrl(url: string): Promise<FaultProxy> {
    const parsed = new URL(url);
    const defaultPort = parsed.protocol.startsWith('redis') ? 6379 : 5432;
    return FaultProxy.start({
      host: parsed.hostname || '127.0.0.1',
      port: Number(parsed.port || defaultPort),
    });
  }

  get port(): number {
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy not listening');
    return address.port;
  }

  /** `url` with its host and port replaced by the proxy's. */
  urlFor(url: string): string {
    const parsed = new URL(url);
    parsed.hostname = '127.0.0.1';
    parsed.port = String(this.port);
    return parsed.toString();
  }

  get currentMode(): FaultMode {
    return this.mode;
  }

  get openConnections(): number {
    return this.pairs.size;
  }

  cut(): void {
    this.mode = 'cut';
    for (const pair of [...this.pairs]) this.reset(pair);
  }

  blackhole(): void {
    this.mode = 'blackhole';
    for (const pair of this.pairs) pair.holed = true;
  }

  restore(): void {
    if (this.mode === 'blackhole') {
      for (const pair of [...this.pairs]) if (pair.holed) this.reset(pair);
    }
    this.mode = 'pass';
  }

  /** Adds `ms` of latency to every chunk, both ways (0 removes it). Order is kept, always. */
  delay(ms: number): void {
    this.delayMs = ms;
  }

  async close(): Promise<void> {
    for (const pair of [...this.pairs]) this.reset(pair);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    this.accepted++;
    if (this.mode === 'cut') {
      client.on('error', () => {});
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(this.target.port, this.target.host);
    const pair: Pair = { client, upstream, holed: this.mode === 'blackhole' };
    this.pairs.add(pair);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    this.pipe(pair, client, upstream);
    this.pipe(pair, upstream, client);
    const end = () => this.reset(pair);
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  }

  /**
   * Forwards `from` → `to` unless the pair is black-holed. Every chunk keeps its place, as TCP
   * keeps it: one that comes while delayed ones are still held back (the delay just ended, or
   * got shorter) waits behind them, however short its own delay.
   */
  private pipe(pair: Pair, from: Socket, to: Socket): void {
    let queue: Promise<void> = Promise.resolve();
    let held = 0;
    from.on('data', (chunk: Buffer) => {
      if (pair.holed) return;
      const ms = this.delayMs;
      if (ms === 0 && held === 0) {
        if (!to.destroyed) to.write(chunk);
        return;
      }
      const due = Date.now() + ms;
      held++;
      queue = queue.then(async () => {
        const wait = due - Date.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        held--;
        if (!pair.holed && !to.destroyed) to.write(chunk);
      });
    });
  }

  private reset(pair: Pair): void {
    if (!this.pairs.delete(pair)) return;
    for (const socket of [pair.client, pair.upstream]) {
      socket.on('error', () => {});
      if (!socket.destroyed) socket.resetAndDestroy();
    }
  }
}
