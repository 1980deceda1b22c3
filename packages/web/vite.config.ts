import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { precompress, pwa } from './build/pwa';

const src = (pkg: string) => fileURLToPath(new URL(`../${pkg}/src/index.ts`, import.meta.url));

// The app is bundled from the sibling packages' sources, so a web build never waits on their dist.
export default defineConfig({
  plugins: [react(), pwa(), precompress()],
  resolve: {
    alias: {
      '@letter/protocol': src('protocol'),
      '@letter/sdk': src('sdk'),
    },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The server's CSP allows only 'self' scripts and styles: no inline module-preload polyfill.
    modulePreload: { polyfill: false },
    sourcemap: true,
  },
  server: {
    // `npm run dev` proxies the API and socket to a locally running server.
    proxy: {
      '/api': 'http://127.0.0.1:3000',
      '/ws': { target: 'ws://127.0.0.1:3000', ws: true },
      '/healthz': 'http://127.0.0.1:3000',
    },
  },
});
