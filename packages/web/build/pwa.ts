/**
 * Vite plugins for the installable app and for how the built files travel:
 * - `pwa`: the manifest, its PNG icons and `/sw.js`, whose app-shell list (every file of the
 *   build) and cache version are written into it, so each build installs a fresh worker;
 * - `precompress`: a `.br` and a `.gz` twin of each compressible file, written once at build
 *   time and served by @fastify/static's `preCompressed` (no compression per request).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import type { Plugin } from 'vite';
import { iconPng } from './icons';

export const themeColour = '#008069';

export const manifest = {
  name: 'Letter',
  short_name: 'Letter',
  description: 'Letter, a self-hosted messenger',
  id: '/',
  start_url: '/',
  scope: '/',
  display: 'standalone',
  background_color: '#ffffff',
  theme_color: themeColour,
  icons: [
    { src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
    { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
    { src: '/icons/maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
  ],
};

const workerSource = new URL('../sw/sw.js', import.meta.url);

export function pwa(): Plugin {
  return {
    name: 'letter-pwa',
    apply: 'build',
    generateBundle(_options, bundle) {
      const emit = (fileName: string, source: string | Uint8Array) =>
        this.emitFile({ type: 'asset', fileName, source });
      emit('manifest.webmanifest', JSON.stringify(manifest, null, 2));
      emit('icons/icon-192.png', iconPng(192, false));
      emit('icons/icon-512.png', iconPng(512, false));
      emit('icons/maskable-512.png', iconPng(512, true));
      const files = Object.keys(bundle)
        .filter((name) => !name.endsWith('.map') && name !== 'index.html')
        .concat(['favicon.svg', 'manifest.webmanifest', 'icons/icon-192.png'])
        .map((name) => `/${name}`)
        .sort();
      const shell = ['/', ...files];
      const version = createHash('sha256').update(shell.join('\n')).digest('hex').slice(0, 12);
      const worker = readFileSync(workerSource, 'utf8');
      emit(
        'sw.js',
        `const SHELL = ${JSON.stringify(shell)};\nconst VERSION = '${version}';\n${worker}`,
      );
    },
  };
}

const compressible = /\.(js|css|html|svg|json|webmanifest|txt)$/;

function* walk(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* walk(path);
    else yield path;
  }
}

export function precompress(): Plugin {
  let outDir = 'dist';
  return {
    name: 'letter-precompress',
    apply: 'build',
    configResolved(config) {
      outDir = join(config.root, config.build.outDir);
    },
    closeBundle() {
      for (const path of walk(outDir)) {
        if (!compressible.test(path)) continue;
        const bytes = readFileSync(path);
        // Below a TCP packet, compression saves nothing worth a second file.
        if (bytes.length < 1024) continue;
        const br = brotliCompressSync(bytes, {
          params: {
            [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
            [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
          },
        });
        const gz = gzipSync(bytes, { level: 9 });
        if (br.length < bytes.length) writeFileSync(`${path}.br`, br);
        if (gz.length < bytes.length) writeFileSync(`${path}.gz`, gz);
      }
      this.info?.(`precompressed the files of ${relative(process.cwd(), outDir) || '.'}`);
    },
  };
}
