import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const src = (pkg: string) =>
  fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

/**
 * The integration suites (packages/server/test) run once per store engine: with the rest on
 * SQLite, then again on PostgreSQL (LETTER_TEST_ENGINE=postgres, read by the test harness).
 * The PostgreSQL pass needs LETTER_TEST_PG_URL; without it it is left out locally, while in CI
 * (CI=true) it always runs, and fails when the URL is missing (src/testing/services.ts).
 */
const integration = 'packages/server/test/**/*.test.{ts,tsx}';
/** Suites that stay on SQLite: they test SQLite itself, or PostgreSQL explicitly already. */
const notOnPostgres = [
  // A real process on a data dir: SQLite's file surviving kill -9 and restarts
  // (postgres-node.test.ts has the kill -9 on PostgreSQL).
  'packages/server/test/durability.test.ts',
  // Already on PostgreSQL by construction: two pools, two nodes + Redis, a cut connection.
  'packages/server/test/postgres-node.test.ts',
  'packages/server/test/postgres-faults.test.ts',
  // The sdk's verify_action against a real node: it checks the client, not the store (and
  // is the slowest suite; SQLite in a temp dir is what it needs).
  'packages/server/test/sdk-verify-action.test.ts',
  // The test runner's own guard: no store in it.
  'packages/server/test/unhandled-guard.test.ts',
  // SQLite's online backup (on PostgreSQL `npm run backup` refuses, which the file tests itself),
  // and the upgrade fixtures, which build past schemas of both engines by construction.
  'packages/server/test/backup.test.ts',
  'packages/server/test/upgrade.test.ts',
  // nginx in front of a node (proxy-cluster.test.ts runs two on PostgreSQL by construction),
  // the deploy files, the layer lint and the static web app's headers: no store behaviour.
  'packages/server/test/proxy.test.ts',
  'packages/server/test/proxy-browser.test.ts',
  'packages/server/test/proxy-cluster.test.ts',
  'packages/server/test/deploy.test.ts',
  'packages/server/test/architecture.test.ts',
  'packages/server/test/web-static.test.ts',
];
const withPostgres = Boolean(process.env.LETTER_TEST_PG_URL || process.env.CI);

export default defineConfig({
  resolve: {
    alias: {
      '@letter/protocol': src('protocol'),
      '@letter/sdk': src('sdk'),
    },
  },
  test: {
    // Fails any test during which a promise rejection went unhandled (vitest.setup.ts).
    setupFiles: ['./vitest.setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'sqlite',
          include: ['packages/*/src/**/*.test.{ts,tsx}', 'packages/*/test/**/*.test.{ts,tsx}'],
        },
      },
      ...(withPostgres
        ? [
            {
              extends: true as const,
              test: {
                name: 'postgres',
                include: [integration],
                exclude: notOnPostgres,
                env: { LETTER_TEST_ENGINE: 'postgres' },
              },
            },
          ]
        : []),
    ],
  },
});
