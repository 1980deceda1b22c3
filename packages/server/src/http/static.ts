/**
 * The built web app at `/`: precompressed files (`.br`, `.gz` written at build time) chosen by
 * Accept-Encoding, hashed `/assets/*` cached for a year as immutable, and everything whose name
 * does not change with its content (index.html, sw.js, the manifest) revalidated on each use.
 * Client-side routes fall back to index.html. API answers are personal: never stored by a cache.
 */
import { existsSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';

export const immutableCache = 'public, max-age=31536000, immutable';
export const revalidateCache = 'no-cache';

/** The Cache-Control for a file of the web root, by its path relative to the root. */
export function cacheControlFor(relativePath: string): string {
  return relativePath.split(sep).join('/').startsWith('assets/') ? immutableCache : revalidateCache;
}

/** Every `/api/*` answer depends on who asks (or on a login): `no-store`, unless a route chose. */
export function installNoStore(app: FastifyInstance): void {
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.url.startsWith('/api/') && !reply.hasHeader('cache-control'))
      reply.header('cache-control', 'no-store');
    return payload;
  });
}

export async function serveWebApp(app: FastifyInstance, root: string): Promise<void> {
  if (!existsSync(join(root, 'index.html'))) {
    app.get('/', async (_request, reply) =>
      reply
        .type('text/plain')
        .send('Letter is running, but the web app is not built (npm run build).'),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root,
    wildcard: false,
    // `/` is answered below: the plugin's own index lookup with preCompressed 404s when
    // index.html has no compressed twin and the client accepts an encoding.
    index: false,
    preCompressed: true,
    // Precompressed twins are served in place of their original, not routed by their own name.
    globIgnore: ['**/*.br', '**/*.gz'],
    cacheControl: false,
    setHeaders: (reply, path) => {
      const file = relative(root, path).replace(/\.(br|gz)$/, '');
      reply.header('cache-control', cacheControlFor(file));
      // The service worker controls the whole origin from the root.
      if (file === 'sw.js') reply.header('service-worker-allowed', '/');
      if (file === 'manifest.webmanifest')
        reply.header('content-type', 'application/manifest+json');
    },
  });
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
