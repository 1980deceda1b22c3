/**
 * Server CPU per 1:1 message at a fixed rate, split by thread, for one or more builds of Letter
 * run side by side (old and new interleaved: the machine is shared, so only same-run figures
 * compare). Each build's server is started once on core 0 (as the bench does), with the bench's
 * 100 pairs; then rounds of `seconds` at `rate` msg/s alternate between the builds. CPU is
 * utime + stime of each thread from /proc/<pid>/task/<tid>/stat over the run, per delivered
 * message. Run it on the other core: `taskset -c 1 node packages/bench/loop-cpu.mjs …`.
 *
 *   node packages/bench/loop-cpu.mjs <rate> <seconds> <rounds> <repoRoot>[=label[=node flags]] …
 *
 * A label may end in `{NAME:value;NAME:value}`: environment for that build's server only, e.g.
 * `.=inline{LETTER_SQLITE_WRITER:inline}` against `.=thread{LETTER_SQLITE_WRITER:thread}`.
 * `@ws-sqlite` in place of a root runs this checkout's ws + SQLite relay instead, e.g.
 * `@ws-sqlite=pad50{RELAY_PAD_US:50}` (relays/ws-sqlite.ts spins that much CPU per frame).
 *
 * LOOP_CPU_PROF=<dir>: servers run with `--cpu-prof --cpu-prof-dir=<dir>` (profiles are written
 * when they exit at the end).
 *
 * LOOP_CPU_POSITIONS=delivered,read: each recipient answers every message with those position
 * frames, as the sdk does (`delivered` on arrival, `read` with the chat open), so the server also
 * stores positions and sends receipts. The bench's rows send none.
 *
 * LOOP_CPU_MAX=1: each round runs the bench's throughput search on each build instead (see
 * `maxRounds`), e.g. Letter against the relay running Letter's schema and answering every
 * frame (`'@ws-sqlite=floor{RELAY_ACK:1;RELAY_SCHEMA:+search}'`: relays/ws-sqlite.ts).
 *
 * LOOP_CPU_SYSCALLS=1: each round also counts the server's system calls per delivered message by
 * kind (`perf stat` on the syscall tracepoints; needs linux-perf and tracefs).
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { LetterTarget, WsSqliteTarget } from './dist/targets.js';
import {
  connectPairs,
  measureFixed,
  measureThroughput,
  rowsPerTransaction,
} from './dist/scenarios.js';
import { clockTicks, killAll } from './dist/proc.js';
import { fullConfig } from './dist/config.js';

const [rate = '4000', seconds = '10', rounds = '3', ...roots] = process.argv.slice(2);
if (roots.length === 0) throw new Error('usage: loop-cpu.mjs rate seconds rounds root[=label]…');
const prof = process.env.LOOP_CPU_PROF;
const positions = (process.env.LOOP_CPU_POSITIONS ?? '').split(',').filter(Boolean);
for (const kind of positions) {
  if (kind !== 'delivered' && kind !== 'read') throw new Error(`LOOP_CPU_POSITIONS: ${kind}?`);
}
// A build that fails to start must not leave the others running.
process.on('exit', killAll);

/**
 * The server starts through packages/server/bin/letter, a shell launcher, so node flags (a build's own
 * and the profiler's) reach node through LETTER_NODE_FLAGS, after the flags the launcher itself
 * picks for the one core the server is pinned to.
 */
const LAUNCHER_ONE_CORE_FLAGS = '--single-threaded-gc --v8-pool-size=1';

class ProfiledLetter extends LetterTarget {
  constructor(env, flags, serverEnv) {
    super(env);
    this.flags = flags;
    this.serverEnv = serverEnv;
  }
  extraEnv() {
    const profile = prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : [];
    const extra = [...profile, ...this.flags];
    const base = this.serverEnv.LETTER_NODE_FLAGS ?? LAUNCHER_ONE_CORE_FLAGS;
    return {
      ...super.extraEnv(),
      ...this.serverEnv,
      ...(extra.length > 0 && { LETTER_NODE_FLAGS: [base, ...extra].join(' ') }),
    };
  }
}

/** The ws + SQLite relay with environment of its own (RELAY_PAD_US). */
class PaddedRelay extends WsSqliteTarget {
  constructor(env, serverEnv) {
    super(env);
    this.serverEnv = serverEnv;
  }
  extraEnv() {
    return { ...super.extraEnv(), ...this.serverEnv };
  }
}

/** tid → {name, micros} of every thread of `pid`. */
function threads(pid) {
  const out = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const name = stat.slice(stat.indexOf('(') + 1, close);
      const fields = stat.slice(close + 2).split(' ');
      const us = (t) => (t * 1e6) / clockTicks;
      // Each thread's user and system (kernel) time apart; threads by name (the SQLite worker
      // thread and V8's helpers are all called "node": each counted on its own).
      if (tid === String(pid)) {
        out.set(`${tid}u`, { name: 'main user', micros: us(Number(fields[11])) });
        out.set(`${tid}s`, { name: 'main sys', micros: us(Number(fields[12])) });
      } else {
        const thread = name === 'node' ? `node#${tid}` : name;
        out.set(`${tid}u`, { name: thread, micros: us(Number(fields[11])) });
        out.set(`${tid}s`, { name: `${thread} sys`, micros: us(Number(fields[12])) });
      }
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

const SYSCALLS = [
  'fdatasync',
  'fsync',
  'pwrite64',
  'pread64',
  'write',
  'writev',
  'read',
  'epoll_wait',
  'futex',
];

/** Starts counting `pid`'s system calls; the returned function stops and reads the counts. */
function countSyscalls(pid) {
  if (process.env.LOOP_CPU_SYSCALLS !== '1') return async () => null;
  const events = ['raw_syscalls:sys_enter', ...SYSCALLS.map((c) => `syscalls:sys_enter_${c}`)];
  const perf = spawn('perf', ['stat', '-x', ',', '-e', events.join(','), '-p', String(pid)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let text = '';
  perf.stderr.on('data', (d) => (text += d));
  const exited = new Promise((resolve) => perf.on('close', resolve));
  return async () => {
    perf.kill('SIGINT');
    await exited;
    const counts = new Map();
    for (const line of text.split('\n')) {
      const [value, , event] = line.split(',');
      if (!event) continue;
      const name = event
        .replace(/^raw_syscalls:sys_enter$/, 'all')
        .replace(/^syscalls:sys_enter_/, '');
      counts.set(name, Number(value));
    }
    return counts;
  };
}

function byName(before, after) {
  const sums = new Map();
  for (const [tid, t] of after) {
    const d = t.micros - (before.get(tid)?.micros ?? 0);
    sums.set(t.name, (sums.get(t.name) ?? 0) + d);
  }
  return sums;
}

const config = {
  ...fullConfig,
  fixedRate: Number(rate),
  fixedMs: Number(seconds) * 1000,
  drainMs: 2000,
};
const builds = [];
for (const spec of roots) {
  // root[=label[=node flags]]
  const [repoRoot, named = repoRoot, ...flagParts] = spec.split('=');
  const flags = flagParts.join('=');
  const [, label, envList = ''] = /^([^{]*)(?:\{(.*)\})?$/.exec(named);
  const serverEnv = Object.fromEntries(
    envList
      .split(';')
      .filter(Boolean)
      .map((pair) => [pair.slice(0, pair.indexOf(':')), pair.slice(pair.indexOf(':') + 1)]),
  );
  const target =
    repoRoot === '@ws-sqlite'
      ? new PaddedRelay({ repoRoot: '.', workDir: '/tmp', serverCore: 0 }, serverEnv)
      : new ProfiledLetter(
          { repoRoot, workDir: '/tmp', serverCore: 0 },
          flags.split(' ').filter(Boolean),
          serverEnv,
        );
  await target.start();
  await target.ensureUsers(2 * config.pairs);
  const pairs = await connectPairs(target, config);
  // Warm-up: JIT, caches, the first batches.
  await measureFixed(target, pairs, { ...config, fixedMs: 3000 }, positions);
  builds.push({ label, target, pairs, results: [], main: [] });
}

if (process.env.LOOP_CPU_MAX === '1') {
  await maxRounds();
  process.exit(0);
}

for (let round = 0; round < Number(rounds); round++) {
  for (const build of builds) {
    const before = threads(build.target.pid);
    const metricsBefore = await build.target.metrics();
    const stopCounting = countSyscalls(build.target.pid);
    const result = await measureFixed(build.target, build.pairs, config, positions);
    const syscalls = await stopCounting();
    const split = byName(before, threads(build.target.pid));
    const rows = rowsPerTransaction(metricsBefore, await build.target.metrics());
    const per = (m) => (m / result.delivered).toFixed(1);
    const total = [...split.values()].reduce((a, b) => a + b, 0);
    const parts = [...split]
      .filter(([, m]) => m / result.delivered >= 0.5)
      .sort((a, b) => b[1] - a[1])
      .map(([name, m]) => `${name} ${per(m)}`)
      .join(', ');
    const main = (split.get('main user') ?? 0) + (split.get('main sys') ?? 0);
    build.results.push(total / result.delivered);
    build.main.push(main / result.delivered);
    console.log(
      `${build.label} round ${round}: ${per(total)} µs/msg (${parts}); delivered ${result.delivered}/${result.sent}, lost ${result.lost}, errors ${result.errors}, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, ${rows?.toFixed(1)} writes/tx, rest of machine ${result.otherCpu.toFixed(2)} cores`,
    );
    if (syscalls) {
      const calls = [...syscalls]
        .filter(([, n]) => n > 0)
        .map(([name, n]) => `${name} ${(n / result.delivered).toFixed(2)}`)
        .join(', ');
      console.log(`${build.label} round ${round}: system calls per message: ${calls}`);
    }
  }
}
const summary = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)].toFixed(1);
  return `median ${median}, range ${sorted[0].toFixed(1)}–${sorted.at(-1).toFixed(1)}`;
};
for (const build of builds) {
  console.log(
    `${build.label}: server ${summary(build.results)} µs/msg; event loop (main thread) ${summary(build.main)}`,
  );
}
// Each round of a build against the same round of the first build (run minutes apart at most).
for (const build of builds.slice(1)) {
  const diff = (key) => build[key].map((v, i) => v - builds[0][key][i]);
  console.log(
    `${build.label} − ${builds[0].label}, round by round: server ${summary(diff('results'))}; event loop ${summary(diff('main'))}`,
  );
}
await stopAll();
process.exit(0);

async function stopAll() {
  for (const build of builds) {
    for (const c of build.pairs.clients) c.close();
    await build.target.stop();
    await build.target.dispose();
  }
}

/**
 * LOOP_CPU_MAX=1: each round runs the bench's throughput search (the `sqlite-max` row's: steps
 * of 5 s from 4,000 msg/s, doubling until p99 > 100 ms or a loss, then halving the gap) on each
 * build in turn; `rate` and `seconds` are not used.
 */
async function maxRounds() {
  for (let round = 0; round < Number(rounds); round++) {
    for (const build of builds) {
      const t = await measureThroughput(build.target, build.pairs, config);
      const steps = t.steps
        .map(
          (s) =>
            `${s.rate}${s.pass ? '' : ' ✗'} (p99 ${s.p99.toFixed(1)} ms, ${((s.serverCpu * 1e6) / s.deliveredPerSec).toFixed(1)} µs/msg, generator ${(100 * s.generatorCpu).toFixed(0)} %)`,
        )
        .join(', ');
      build.results.push(t.maxPerSec);
      console.log(
        `${build.label} round ${round}: max ${t.maxPerSec} msg/s${t.valid ? '' : ' (generator over 90 %: a floor)'}; ${steps}`,
      );
    }
  }
  for (const build of builds) {
    const sorted = [...build.results].sort((a, b) => a - b);
    console.log(
      `${build.label}: max median ${sorted[Math.floor(sorted.length / 2)]} msg/s, range ${sorted[0]}–${sorted.at(-1)}`,
    );
  }
  await stopAll();
}
