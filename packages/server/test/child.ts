/**
 * A Letter server as a real child process (`node dist/main.js`), for what an in-process node
 * cannot show: SIGKILL, SIGTERM and the exit code, and what the process writes to its logs.
 * Run `npx tsc -b packages/server` first: the child runs the compiled code. On the PostgreSQL
 * pass (LETTER_TEST_ENGINE=postgres) a child stores in a schema of its own, one per data dir, so
 * a child started again on the same dir finds its data, as on SQLite.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { adminQuery, dropSchema, freshSchemaName } from '../src/store/postgres/testing.js';
import { tempDir, testEngine } from '../src/testing/harness.js';
import { postgresTestUrl } from '../src/testing/services.js';

const mainJs = fileURLToPath(new URL('../dist/main.js', import.meta.url));

export const CHILD_JWT_SECRET = 'letter-test-child-secret-0123456789abcdef';

export interface ChildServer {
  url: string;
  wsUrl: string;
  process: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends the signal (default SIGTERM) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcess>();
/** The PostgreSQL schema of each data dir children ran on (PostgreSQL pass only). */
const schemas = new Map<string, string>();

/** LETTER_DATABASE_URL for a child on `dataDir` on the PostgreSQL pass; nothing on SQLite. */
async function engineEnv(dataDir: string): Promise<Record<string, string>> {
  if (testEngine !== 'postgres') return {};
  const url = postgresTestUrl();
  if (!url) throw new Error('LETTER_TEST_ENGINE=postgres needs LETTER_TEST_PG_URL');
  let schema = schemas.get(dataDir);
  if (!schema) {
    schema = freshSchemaName();
    await adminQuery(url, `CREATE SCHEMA "${schema}"`);
    schemas.set(dataDir, schema);
  }
  // The child knows only LETTER_DATABASE_URL; its search path keeps it in the schema.
  const databaseUrl = new URL(url);
  databaseUrl.searchParams.set('options', `-c search_path=${schema}`);
  return { LETTER_DATABASE_URL: databaseUrl.toString() };
}

/** Starts `node dist/main.js` on a free port with its data in `dataDir`; resolves once it listens. */
export async function startChild(
  dataDir: string,
  env: Record<string, string> = {},
): Promise<ChildServer> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !name.startsWith('LETTER_') && name !== 'NODE_OPTIONS',
    ),
  );
  const child = spawn(process.execPath, [mainJs], {
    env: {
      ...inherited,
      PORT: '0',
      HOST: '127.0.0.1',
      LETTER_DATA_DIR: dataDir,
      LETTER_RATE_LIMITS: 'off',
      LETTER_JWT_SECRET: CHILD_JWT_SECRET,
      LETTER_PRINT_ADDRESS: 'on',
      LETTER_WEB_ROOT: `${dataDir}/no-web`,
      ...(env.LETTER_DATABASE_URL ? {} : await engineEnv(dataDir)),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the child server did not start in time; output:\n${output}`));
    }, 60_000);
    const look = () => {
      const match = /Letter: open (http:\/\/\S+) in your browser/.exec(output);
      if (!match) return;
      clearTimeout(timer);
      child.stdout!.off('data', look);
      resolve(match[1]!);
    };
    child.stdout!.on('data', look);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(
        new Error(
          `the child server exited (${code ?? signal}) before listening; output:\n${output}`,
        ),
      );
    });
  });

  return {
    url,
    wsUrl: url.replace(/^http/, 'ws') + '/ws',
    process: child,
    output: () => output,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** For afterAll: kills every child still running, whatever a failed test left behind. */
const scratchDirs: string[] = [];

/** A fresh data directory for a test's servers (child or in-process), removed by cleanUp. */
export function scratchDir(prefix: string): string {
  const dir = tempDir(prefix);
  scratchDirs.push(dir);
  return dir;
}

/** For afterAll: kills every child still running, then removes every scratchDir (and schema). */
export async function cleanUp(): Promise<void> {
  await killChildren();
  for (const dir of scratchDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  const url = postgresTestUrl();
  for (const schema of schemas.values()) if (url) await dropSchema(url, schema);
  schemas.clear();
}

export async function killChildren(): Promise<void> {
  const waits = [...running].map(
    (child) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  );
  await Promise.all(waits);
}
