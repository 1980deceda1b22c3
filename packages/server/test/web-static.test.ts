/**
 * The web app as a cache and a third-party auditor see it: precompressed assets by
 * Accept-Encoding, hashed assets immutable for a year, the names that never change revalidated,
 * and every API answer `no-store` (it depends on who asks, the export most of all).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { brotliCompressSync, brotliDecompressSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, register, startServer, tempDir, type TestServer } from '../src/testing/harness.js';

let server: TestServer;
const script = `console.log(${JSON.stringify('letter '.repeat(500))});\n`;

function raw(path: string, headers: Record<string, string> = {}) {
  const { hostname, port } = new URL(server.url);
  return new Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }>(
    (resolve, reject) => {
      get({ hostname, port, path, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
          }),
        );
      }).on('error', reject);
    },
  );
}

beforeAll(async () => {
  const root = tempDir('letter-web-');
  mkdirSync(join(root, 'assets'));
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>Letter</title>');
  writeFileSync(join(root, 'sw.js'), 'self.addEventListener("fetch", () => {});');
  writeFileSync(join(root, 'manifest.webmanifest'), '{"name":"Letter"}');
  const asset = join(root, 'assets/index-AbC123.js');
  writeFileSync(asset, script);
  writeFileSync(`${asset}.br`, brotliCompressSync(script));
  writeFileSync(`${asset}.gz`, gzipSync(script));
  server = await startServer({ config: { webRoot: root } });
});
afterAll(async () => server?.stop());

describe('static files', () => {
  it('a hashed asset goes out brotli-compressed when accepted, immutable for a year', async () => {
    const res = await raw('/assets/index-AbC123.js', { 'accept-encoding': 'gzip, br' });
    expect(res.status).toBe(200);
    expect(res.headers['content-encoding']).toBe('br');
    expect(res.headers['content-type']).toMatch(/javascript/);
    expect(res.headers['vary']).toMatch(/accept-encoding/i);
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(res.body.length).toBeLessThan(script.length / 5);
    expect(brotliDecompressSync(res.body).toString()).toBe(script);
  });

  it('gzip for a client without brotli; the plain file for one that accepts neither', async () => {
    const gz = await raw('/assets/index-AbC123.js', { 'accept-encoding': 'gzip' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    const plain = await raw('/assets/index-AbC123.js');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.toString()).toBe(script);
    expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
  });

  it('index.html, a client-side route, sw.js and the manifest are revalidated each time', async () => {
    for (const path of ['/', '/chats/abc', '/sw.js', '/manifest.webmanifest']) {
      // A browser's Accept-Encoding, for files with and without a compressed twin.
      const res = await raw(path, { 'accept-encoding': 'gzip, deflate, br, zstd' });
      expect(res.status, path).toBe(200);
      expect(res.headers['cache-control'], path).toBe('no-cache');
    }
    const sw = await raw('/sw.js');
    expect(sw.headers['service-worker-allowed']).toBe('/');
    expect(sw.headers['content-type']).toMatch(/javascript/);
    const manifest = await raw('/manifest.webmanifest');
    expect(manifest.headers['content-type']).toMatch(/^application\/manifest\+json/);
  });

  it('the CSP admits the service worker and the manifest from this origin only', async () => {
    const csp = String((await raw('/')).headers['content-security-policy']);
    expect(csp).toContain("worker-src 'self'");
    expect(csp).toContain("manifest-src 'self'");
  });

  it('the CSP admits attachments: same-origin and local previews, nothing from elsewhere', async () => {
    const csp = String((await raw('/')).headers['content-security-policy']);
    const directive = (name: string) =>
      csp
        .split(';')
        .map((d) => d.trim())
        .find((d) => d.startsWith(`${name} `));
    expect(directive('img-src')).toBe("img-src 'self' data: blob:");
    expect(directive('media-src')).toBe("media-src 'self' blob:");
    expect(directive('default-src')).toBe("default-src 'self'");
    expect(directive('connect-src')).toBe("connect-src 'self'");
  });
});

describe('personal API answers', () => {
  it('every /api answer, the export and the errors included, is no-store', async () => {
    const user = await register(server, 'nostore');
    const answers = [
      await api(server, 'GET', '/api/me', user.accessToken),
      await api(server, 'GET', '/api/conversations', user.accessToken),
      await api(server, 'GET', '/api/me/export', user.accessToken),
      await api(server, 'GET', '/api/me'),
      await api(server, 'GET', '/api/nothing-here', user.accessToken),
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 401, 404]);
    for (const answer of answers) expect(answer.headers.get('cache-control')).toBe('no-store');
    // The app shell is not personal: it stays cacheable.
    expect((await raw('/healthz')).headers['cache-control']).not.toBe('no-store');
  });
});

describe('security headers', () => {
  // The set helmet 8 sends with Letter's CSP, the same on the app, on API answers and on errors
  // (http/security-headers.ts builds helmet's middleware once instead of per request).
  const expected = {
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'origin-agent-cluster': '?1',
    'referrer-policy': 'no-referrer',
    'strict-transport-security': 'max-age=31536000; includeSubDomains',
    'x-content-type-options': 'nosniff',
    'x-dns-prefetch-control': 'off',
    'x-download-options': 'noopen',
    'x-frame-options': 'SAMEORIGIN',
    'x-permitted-cross-domain-policies': 'none',
    'x-xss-protection': '0',
  };

  it('every answer carries them, and the same CSP', async () => {
    const user = await register(server, 'headers');
    const answers = [
      (await raw('/')).headers,
      (await raw('/api/nothing-here')).headers,
      Object.fromEntries(
        await api(server, 'GET', '/api/me', user.accessToken).then((a) => a.headers),
      ),
    ];
    const csp = String(answers[0]!['content-security-policy']);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).not.toContain('upgrade-insecure-requests');
    for (const headers of answers) {
      expect(headers).toMatchObject(expected);
      expect(headers['content-security-policy']).toBe(csp);
      expect(headers['x-powered-by']).toBeUndefined();
    }
  });
});
