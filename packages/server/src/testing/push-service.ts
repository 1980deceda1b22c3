/**
 * A Web Push service for tests, on https://127.0.0.1 with a certificate made by openssl: it
 * receives the POST, checks the VAPID JWT (RFC 8292) against the server's public key and
 * decrypts the aes128gcm body (RFC 8291) with the subscription's private key through `http_ece`,
 * so a test proves that a real push service, and the browser behind it, could read the push.
 */
import { createECDH, createPublicKey, randomBytes, verify, type ECDH } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error http_ece ships no types
import ece from 'http_ece';
import { selfSignedCertificate } from './tls.js';

export interface ReceivedPush {
  path: string;
  /** The decrypted JSON payload. */
  payload: Record<string, unknown>;
  jwt: { aud: string; exp: number; sub: string };
}

/** How a path answers: a status, optionally only the first `times` times. */
export interface PathBehaviour {
  status: number;
  headers?: Record<string, string>;
  times?: number;
}

export interface TestSubscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
  ecdh: ECDH;
  authSecret: Buffer;
}

export class TestPushService {
  readonly received: ReceivedPush[] = [];
  /** Every request, decrypted or not (a refused one still counts here). */
  readonly requests: string[] = [];
  /** Problems found with a request (bad JWT, undecryptable body): a test expects none. */
  readonly problems: string[] = [];
  readonly behaviours = new Map<string, PathBehaviour>();
  private readonly keys = new Map<string, TestSubscription>();
  private constructor(
    private readonly server: Server,
    readonly ca: string,
    readonly port: number,
    private readonly dir: string,
    private readonly vapidPublicKey: () => string,
  ) {}

  static async start(vapidPublicKey: () => string): Promise<TestPushService> {
    const dir = mkdtempSync(join(tmpdir(), 'letter-push-'));
    const { key, cert } = selfSignedCertificate(dir);
    const ca = readFileSync(cert, 'utf8');
    // The handler runs only after `start` filled this in (the server listens after).
    const ref: { service?: TestPushService } = {};
    const server = createServer({ key: readFileSync(key), cert: ca }, (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const path = request.url ?? '';
        ref.service!.requests.push(path);
        const behaviour = ref.service!.behaviours.get(path);
        if (behaviour && (behaviour.times === undefined || behaviour.times-- > 0)) {
          response.writeHead(behaviour.status, behaviour.headers ?? {}).end();
          return;
        }
        try {
          ref.service!.accept(path, request.headers, Buffer.concat(chunks));
          response.writeHead(201).end();
        } catch (error) {
          ref.service!.problems.push(`${path}: ${(error as Error).message}`);
          response.writeHead(400).end();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    ref.service = new TestPushService(server, ca, port, dir, vapidPublicKey);
    return ref.service;
  }

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** A browser's subscription at `/push/<name>` with fresh keys. */
  subscription(name: string): TestSubscription {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const authSecret = randomBytes(16);
    const sub = {
      endpoint: `https://${this.host}/push/${name}`,
      keys: {
        p256dh: ecdh.getPublicKey().toString('base64url'),
        auth: authSecret.toString('base64url'),
      },
      ecdh,
      authSecret,
    };
    this.keys.set(`/push/${name}`, sub);
    return sub;
  }

  /** What `path` received, decrypted. */
  at(path: string): ReceivedPush[] {
    return this.received.filter((r) => r.path === path);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private accept(path: string, headers: Record<string, unknown>, body: Buffer): void {
    if (headers['content-encoding'] !== 'aes128gcm') throw new Error('not aes128gcm');
    if (!headers.ttl) throw new Error('no TTL');
    const jwt = this.checkVapid(String(headers.authorization ?? ''));
    const sub = this.keys.get(path);
    if (!sub) throw new Error('unknown subscription');
    const plain = ece.decrypt(body, {
      version: 'aes128gcm',
      privateKey: sub.ecdh,
      authSecret: sub.authSecret,
    }) as Buffer;
    this.received.push({ path, payload: JSON.parse(plain.toString('utf8')), jwt });
  }

  /** `vapid t=<jwt>, k=<key>`: the key is the server's, the ES256 signature holds. */
  private checkVapid(header: string): ReceivedPush['jwt'] {
    const match = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(header);
    if (!match) throw new Error(`bad Authorization: ${header}`);
    const [, token, k] = match;
    if (k !== this.vapidPublicKey()) throw new Error('not the server’s VAPID key');
    const [head, claims, signature] = token!.split('.');
    const point = Buffer.from(k, 'base64url');
    const key = createPublicKey({
      key: {
        kty: 'EC',
        crv: 'P-256',
        x: point.subarray(1, 33).toString('base64url'),
        y: point.subarray(33, 65).toString('base64url'),
      },
      format: 'jwk',
    });
    const header1 = JSON.parse(Buffer.from(head!, 'base64url').toString()) as { alg: string };
    if (header1.alg !== 'ES256') throw new Error(`alg ${header1.alg}`);
    const valid = verify(
      'sha256',
      Buffer.from(`${head}.${claims}`),
      { key, dsaEncoding: 'ieee-p1363' },
      Buffer.from(signature!, 'base64url'),
    );
    if (!valid) throw new Error('bad VAPID signature');
    const jwt = JSON.parse(Buffer.from(claims!, 'base64url').toString()) as ReceivedPush['jwt'];
    if (jwt.aud !== `https://${this.host}`) throw new Error(`aud ${jwt.aud}`);
    if (jwt.exp * 1000 < Date.now()) throw new Error('expired');
    return jwt;
  }
}
