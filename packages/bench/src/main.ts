/**
 * `npm run bench [-- --quick] [--scenario <row>[,<row>]] [--pg-url=URL] [--redis-url=URL] [--out=DIR]`
 * (or the issue-5 way: `--targets=letter,ws,socketio --scenarios=a,b,d,e,f,g`)
 *
 * Measures Letter against its baselines (bare `ws`, Socket.IO, ws + SQLite group commit), one
 * after another on this machine, for every target row of issue 12 (rows.ts), and writes
 * bench/results/<timestamp>.md and .json. See packages/bench/README.md.
 */
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fullConfig, quickConfig } from './config.js';
import { canPin, killAll, ownFileLimit, wrapCommand } from './proc.js';
import { makeTarget } from './letter-targets.js';
import { buildFigures, renderMarkdown } from './report.js';
import type { Report } from './report.js';
import { allScenarios, notRun, runTarget } from './run.js';
import { probeMachine } from './probe.js';
import type { Scenario, TargetResult } from './run.js';
import { evaluateRows, planFor, rows } from './rows.js';
import {
  LetterTarget,
  WsSqliteTarget,
  letterTargets,
  targetLabels,
  targetNames,
} from './targets.js';
import type { TargetName } from './targets.js';

const SERVER_CORE = 0;
const GENERATOR_CORE = 1;

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../../..');
const args = process.argv.slice(2);

/** `--name=value` or `--name value`. */
function option(name: string): string | undefined {
  const prefix = `--${name}=`;
  const joined = args.find((a) => a.startsWith(prefix));
  if (joined) return joined.slice(prefix.length);
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : undefined;
}

/** Servers and the scenarios each runs: the rows asked for, or the issue-5 flags. */
function plan(): { selected: typeof rows; perTarget: Map<TargetName, Set<Scenario>> } {
  const legacyTargets = option('targets')?.split(',') as TargetName[] | undefined;
  const legacyScenarios = option('scenarios')?.split(',');
  if (legacyTargets || legacyScenarios) {
    const scenarios = new Set(
      (legacyScenarios ?? allScenarios).map((s) => (s === 'c' ? 'b' : s)) as Scenario[],
    );
    const perTarget = new Map(
      (legacyTargets ?? ['letter', 'ws', 'socketio']).map((t) => [t, scenarios] as const),
    );
    return { selected: rows, perTarget };
  }
  const names = option('scenario')?.split(',');
  const unknown = names?.filter((n) => !rows.some((r) => r.name === n)) ?? [];
  if (unknown.length > 0) {
    throw new Error(
      `unknown --scenario ${unknown.join(', ')}; rows: ${rows.map((r) => r.name).join(', ')}`,
    );
  }
  const selected = names ? rows.filter((r) => names.includes(r.name)) : rows;
  return { selected, perTarget: planFor(selected) };
}

/**
 * The generator re-executes itself once through a shell that raises the open-file limit and
 * pins it to its core; everything it spawns is pinned to the other core explicitly.
 */
function reexecPinned(): void {
  const [cmd, ...rest] = wrapCommand(
    [process.execPath, fileURLToPath(import.meta.url), ...args],
    canPin ? GENERATOR_CORE : undefined,
  );
  const child = spawn(cmd!, rest, {
    stdio: 'inherit',
    env: { ...process.env, LETTER_BENCH_INNER: '1' },
  });
  // Ctrl-C reaches both of us through the terminal; the inner process does the cleanup (a
  // second signal is harmless there), and a signal sent to this pid alone is passed on.
  process.on('SIGINT', () => child.kill('SIGINT'));
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 130 : 1)));
}

function cpusAllowed(): string {
  try {
    return (
      /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '?'
    );
  } catch {
    return '?';
  }
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: repoRoot,
      encoding: 'utf8',
    }).trim();
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const config = args.includes('--quick') ? quickConfig : fullConfig;
  const { selected, perTarget } = plan();
  const outDir = resolve(option('out') ?? join(repoRoot, 'bench/results'));
  const workDir = mkdtempSync(join(tmpdir(), 'letter-bench-logs-'));
  const started = performance.now();
  const log = (line: string) =>
    process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(1)}s] ${line}\n`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping servers`);
    killAll();
    process.exit(130);
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('exit', killAll);

  const fileLimit = ownFileLimit();
  const loadAverageAtStart = loadavg()[0] ?? 0;
  const pinned = canPin
    ? `servers on core ${SERVER_CORE}, generator on cores ${cpusAllowed()} (taskset)`
    : 'not pinned (taskset missing or a single core)';
  log(
    `${config.quick ? 'quick' : 'full'} run; ${pinned}; open-file limit ${fileLimit}; logs in ${workDir}`,
  );

  const letterFlags = launcherFlags(repoRoot, canPin ? SERVER_CORE : undefined);
  // The launcher's choice for a node on PostgreSQL (it reads only whether the URL is set).
  const letterPgFlags = launcherFlags(repoRoot, canPin ? SERVER_CORE : undefined, {
    LETTER_DATABASE_URL: 'postgres://',
  });
  const letterWriter = writerPlace(repoRoot, canPin ? SERVER_CORE : undefined);
  log(
    `Letter servers start through packages/server/bin/letter: node ${letterFlags || '(no flags)'}` +
      `, on PostgreSQL node ${letterPgFlags || '(no flags)'}; SQLite writer ${letterWriter}`,
  );
  const env = {
    repoRoot,
    workDir,
    serverCore: canPin ? SERVER_CORE : undefined,
    pgUrl: option('pg-url') ?? process.env.LETTER_TEST_PG_URL,
    redisUrl: option('redis-url') ?? process.env.LETTER_TEST_REDIS_URL,
  };
  const serverCore = canPin ? SERVER_CORE : undefined;
  const probeStart = config.quick ? null : await probeMachine(serverCore, workDir);
  const results: TargetResult[] = [];
  for (const name of targetNames.filter((n) => perTarget.has(n))) {
    const scenarios = perTarget.get(name)!;
    const needs =
      name === 'letter-pg' && !env.pgUrl
        ? 'needs PostgreSQL: --pg-url=… or LETTER_TEST_PG_URL'
        : name === 'letter-cluster' && (!env.pgUrl || !env.redisUrl)
          ? 'needs PostgreSQL and Redis: --pg-url/--redis-url or LETTER_TEST_PG_URL/LETTER_TEST_REDIS_URL'
          : undefined;
    if (needs) {
      results.push(notRun({ name, label: targetLabels[name] }, needs));
      log(`${targetLabels[name]}: ${needs}, skipped`);
      continue;
    }
    if (letterTargets.includes(name) && !LetterTarget.available(repoRoot)) {
      results.push(
        notRun(
          { name, label: targetLabels[name] },
          'packages/server/dist/main.js does not exist (build the server first)',
        ),
      );
      log('Letter: not built, skipped');
      continue;
    }
    const target = makeTarget(name, env);
    try {
      results.push(await runTarget(target, { config, scenarios, fileLimit, log }));
    } finally {
      await target.stop();
      if (target instanceof LetterTarget) await target.dispose();
      if (target instanceof WsSqliteTarget) target.dispose();
    }
  }

  const probe = config.quick
    ? undefined
    : { start: probeStart, end: await probeMachine(serverCore, workDir) };
  const figures = buildFigures(results, config);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const report: Report = {
    meta: {
      timestamp: stamp,
      node: process.version,
      cpus: cpus().length,
      pinned,
      fileLimit,
      commit: gitCommit(),
      quick: config.quick,
      durationSec: (performance.now() - started) / 1000,
      loadAverageAtStart,
      letterFlags,
      letterPgFlags,
      letterWriter,
      ...(probe && { probe }),
    },
    config,
    results,
    figures,
    evaluations: evaluateRows(results, config, selected),
  };
  const markdown = renderMarkdown(report);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, `${stamp}.json`), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(outDir, `${stamp}.md`), markdown);
  process.stdout.write(`${markdown}\n`);
  log(`wrote ${join(outDir, stamp)}.md and .json; server logs in ${workDir}`);
}

if (process.env.LETTER_BENCH_INNER !== '1' && process.platform === 'linux') {
  reexecPinned();
} else {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      killAll();
      process.exit(1);
    },
  );
}

/**
 * Where Letter's SQLite writer runs on the servers' core: LETTER_SQLITE_WRITER, or what the
 * server itself picks there (`defaultWriterPlace`, asked of a node pinned as the servers are).
 */
function writerPlace(repoRoot: string, core: number | undefined): string {
  const chosen = process.env.LETTER_SQLITE_WRITER;
  if (chosen) return chosen;
  const store = join(repoRoot, 'packages/server/dist/store/sqlite/worker-store.js');
  const ask = `const { defaultWriterPlace } = await import(${JSON.stringify(pathToFileURL(store).href)});
console.log(defaultWriterPlace());`;
  return pinnedOutput([process.execPath, '--input-type=module', '-e', ask], core);
}

/** What `argv` prints, run on `core` as the servers are. */
function pinnedOutput(argv: string[], core: number | undefined, env = process.env): string {
  const [cmd, ...args] = wrapCommand(argv, core);
  return execFileSync(cmd!, args, { encoding: 'utf8', env }).trim();
}

/** The Node flags the launcher picks where the servers run (`echo` standing in for node). */
function launcherFlags(
  repoRoot: string,
  core: number | undefined,
  serverEnv: NodeJS.ProcessEnv = {},
): string {
  const line = pinnedOutput(['/bin/sh', LetterTarget.launcher(repoRoot)], core, {
    ...process.env,
    ...serverEnv,
    NODE: '/bin/echo',
  });
  return line.split(' ').slice(0, -1).join(' ');
}
