/**
 * The scenarios (a)–(g) of issue 5, each against one running target. Each returns plain
 * data for the report; none decides PASS/FAIL (report.ts does, across targets).
 */
import type { BenchConfig } from './config.js';
import { closeAll, connectMany } from './clients.js';
import type { BenchClient, Hooks } from './clients.js';
import { quiesce, runOpenLoop } from './load.js';
import type { LoadResult, PositionKind, Sender } from './load.js';
import { STALL_METRICS, maxOf, sumOf } from './metrics.js';
import type { Samples } from './metrics.js';
import { processRssBytes, sleep } from './proc.js';
import type { Target } from './targets.js';

/** Above this share of a core the generator may be the bottleneck: the run is invalid. */
export const GENERATOR_CPU_LIMIT = 0.9;

function freshHooks(): Hooks {
  return { onDelivery() {}, onAck() {}, onError() {} };
}

// ---------------------------------------------------------------- (e) connect + auth rate

export interface ConnectResult {
  attempted: number;
  connected: number;
  failures: number;
  reasons: string[];
  perSec: number;
  generatorCpu: number;
  /** Server CPU (all its threads) per completed handshake, µs; raw-socket runs only. */
  serverCpuMicros?: number;
  /** The warm-up's rate and server CPU per handshake (raw-socket runs only): a cold server. */
  cold?: { perSec: number; serverCpuMicros: number };
}

export async function measureConnect(
  target: Target,
  config: BenchConfig,
  users: number,
): Promise<ConnectResult> {
  const hooks = freshHooks();
  const open = (i: number) => target.connect(i % users, hooks, { alias: `c${i}` });
  // Warm-up: the first handshakes pay for JIT and lazy module loading on both sides.
  await closeAll((await connectMany(20, 10, open, 30_000)).clients);
  const cpu0 = process.cpuUsage();
  const run = await connectMany(config.connectCount, config.connectConcurrency, open, 120_000);
  const cpu = process.cpuUsage(cpu0);
  await closeAll(run.clients);
  return {
    attempted: config.connectCount,
    connected: run.clients.length,
    failures: run.failures,
    reasons: run.reasons,
    perSec: run.clients.length / (run.elapsedMs / 1000),
    generatorCpu: (cpu.user + cpu.system) / 1000 / run.elapsedMs,
  };
}

// ---------------------------------------------------------------- pairs for (a), (b), (c), (g)

export interface Pairs {
  hooks: Hooks;
  clients: BenchClient[];
  senders: Sender[];
}

export async function connectPairs(
  target: Target,
  config: BenchConfig,
  firstUser = 0,
): Promise<Pairs> {
  const hooks = freshHooks();
  const clients: BenchClient[] = [];
  const senders: Sender[] = [];
  for (let p = 0; p < config.pairs; p++) {
    const [a, b] = [firstUser + 2 * p, firstUser + 2 * p + 1];
    const [ca, cb] = await Promise.all([target.connect(a, hooks), target.connect(b, hooks)]);
    clients.push(ca, cb);
    senders.push({ client: ca, route: await target.direct(a, b) });
    senders.push({ client: cb, route: await target.direct(b, a) });
  }
  return { hooks, clients, senders };
}

/** The pairs at `rate` for `durationMs` (by default: 2 s of backlog at most, Letter's acks). */
export function pairRun(
  target: Target,
  pairs: Pairs,
  config: BenchConfig,
  rate: number,
  durationMs: number,
  options: { maxBacklogSeconds?: number; expectAcks?: boolean } = {},
): Promise<LoadResult> {
  return runOpenLoop({
    rate,
    durationMs,
    senders: pairs.senders,
    hooks: pairs.hooks,
    serverPid: target.pid,
    drainMs: config.drainMs,
    maxBacklogSeconds: options.maxBacklogSeconds ?? 2,
    expectAcks: options.expectAcks ?? target.name === 'letter',
  });
}

// ---------------------------------------------------------------- (a) 1:1 throughput

export interface Step {
  rate: number;
  deliveredPerSec: number;
  p99: number;
  lost: number;
  errors: number;
  aborted: string | undefined;
  generatorCpu: number;
  serverCpu: number;
  otherCpu: number;
  pass: boolean;
  /** Letter: store requests per transaction during this step. */
  rowsPerTransaction: number | undefined;
}

export interface ThroughputResult {
  /** Highest delivered msg/s of a passing step; 0 when none passed. */
  maxPerSec: number;
  best: LoadResult | undefined;
  steps: Step[];
  /** Rows per transaction at the step with the highest delivered rate (saturation). */
  rowsPerTransaction: number | undefined;
  /** False when the generator used more than ~90% of a core around the limit found. */
  valid: boolean;
}

export function rowsPerTransaction(
  before: Samples | undefined,
  after: Samples | undefined,
): number | undefined {
  const delta = (name: string) => {
    const a = after && sumOf(after, name);
    const b = before && sumOf(before, name);
    return a === undefined || b === undefined ? undefined : a - b;
  };
  const transactions = delta('letter_store_transactions_total');
  // Writes, not all requests: reads run outside write transactions and would inflate the ratio.
  const writes = delta('letter_store_writes_total');
  return transactions && writes !== undefined ? writes / transactions : undefined;
}

export async function measureThroughput(
  target: Target,
  pairs: Pairs,
  config: BenchConfig,
): Promise<ThroughputResult> {
  await pairRun(target, pairs, config, Math.min(config.startRate, 2000), config.warmupMs);
  await quiesce(pairs.hooks, 300, 15_000);

  const steps: Step[] = [];
  const results = new Map<number, LoadResult>();
  const step = async (rate: number): Promise<boolean> => {
    const before = target.name === 'letter' ? await target.metrics() : undefined;
    const r = await pairRun(target, pairs, config, rate, config.stepMs);
    const after = target.name === 'letter' ? await target.metrics() : undefined;
    const pass = r.lost === 0 && r.errors === 0 && !r.aborted && r.latency.p99 <= config.p99LimitMs;
    results.set(rate, r);
    steps.push({
      rate,
      deliveredPerSec: Math.round(r.deliveredPerSec),
      p99: r.latency.p99,
      lost: r.lost,
      errors: r.errors,
      aborted: r.aborted,
      generatorCpu: r.generatorCpu,
      serverCpu: r.serverCpu,
      otherCpu: r.otherCpu,
      pass,
      rowsPerTransaction: rowsPerTransaction(before, after),
    });
    // Let a saturated server work off its backlog before the next step starts.
    await quiesce(pairs.hooks, 300, 20_000);
    return pass;
  };

  let rate = config.startRate;
  let lo: number | undefined;
  let hi: number | undefined;
  while (steps.length < config.maxSteps && rate <= config.maxRate) {
    if (await step(rate)) {
      lo = rate;
      rate *= 2;
    } else {
      hi = rate;
      break;
    }
  }
  // Nothing passed at the start rate: walk down until something does.
  // (--quick: two at most; it proves the search runs, not where the limit is.)
  const walkDown = config.quick ? 2 : 5;
  while (
    lo === undefined &&
    hi !== undefined &&
    hi > 125 &&
    steps.length < config.maxSteps + walkDown
  ) {
    rate = Math.round(hi / 2);
    if (await step(rate)) lo = rate;
    else hi = rate;
  }
  for (
    let k = 0;
    k < config.refineSteps && lo !== undefined && hi !== undefined && hi - lo > lo * 0.05;
    k++
  ) {
    const mid = Math.round((lo + hi) / 2);
    if (await step(mid)) lo = mid;
    else hi = mid;
  }

  const passing = steps.filter((s) => s.pass);
  const bestStep = passing.reduce<Step | undefined>(
    (a, s) => (!a || s.deliveredPerSec > a.deliveredPerSec ? s : a),
    undefined,
  );
  const saturated = steps.reduce<Step | undefined>(
    (a, s) => (!a || s.deliveredPerSec > a.deliveredPerSec ? s : a),
    undefined,
  );
  const firstFail = hi !== undefined ? steps.find((s) => s.rate === hi) : undefined;
  const valid = [bestStep, firstFail].every((s) => !s || s.generatorCpu <= GENERATOR_CPU_LIMIT);
  return {
    maxPerSec: bestStep?.deliveredPerSec ?? 0,
    best: bestStep ? results.get(bestStep.rate) : undefined,
    steps,
    rowsPerTransaction: saturated?.rowsPerTransaction,
    valid,
  };
}

// ---------------------------------------------------------------- (b) + (c) fixed rate

export async function measureFixed(
  target: Target,
  pairs: Pairs,
  config: BenchConfig,
  positions?: readonly PositionKind[],
): Promise<LoadResult> {
  await quiesce(pairs.hooks, 300, 20_000);
  return runOpenLoop({
    rate: config.fixedRate,
    durationMs: config.fixedMs,
    senders: pairs.senders,
    hooks: pairs.hooks,
    serverPid: target.pid,
    drainMs: config.drainMs,
    maxBacklogSeconds: 5,
    expectAcks: target.name === 'letter',
    positions: target.name === 'letter' ? positions : undefined,
  });
}

// ---------------------------------------------------------------- (g) event-loop stall

export interface StallResult {
  rate: number;
  durationMs: number;
  /** Longest event-loop stall seen by the server during the run, ms; undefined: not exposed. */
  maxStallMs: number | undefined;
  metric: string | undefined;
  load: LoadResult;
}

export async function measureStall(
  target: Target,
  pairs: Pairs,
  config: BenchConfig,
  rate: number,
): Promise<StallResult> {
  await quiesce(pairs.hooks, 300, 20_000);
  // prom-client (and the relays) reset the max on every scrape: this one opens the window.
  const opening = await target.metrics();
  const metric = STALL_METRICS.find((name) => opening?.has(name));
  let maxStall: number | undefined;
  const read = async () => {
    const samples = await target.metrics();
    const value = samples && metric ? maxOf(samples, metric) : undefined;
    if (value !== undefined) maxStall = Math.max(maxStall ?? 0, value);
  };
  let running = true;
  const poller = (async () => {
    while (running) {
      await sleep(config.stallScrapeMs);
      if (running) await read();
    }
  })();
  const load = await runOpenLoop({
    rate,
    durationMs: config.stallMs,
    senders: pairs.senders,
    hooks: pairs.hooks,
    serverPid: target.pid,
    drainMs: config.drainMs,
    maxBacklogSeconds: 5,
    expectAcks: target.name === 'letter',
  });
  running = false;
  await poller;
  await read();
  return {
    rate,
    durationMs: config.stallMs,
    maxStallMs: maxStall === undefined ? undefined : maxStall * 1000,
    metric,
    load,
  };
}

// ---------------------------------------------------------------- (f) group fan-out

export interface GroupResult {
  members: number;
  load: LoadResult;
  /** Members whose first connection attempt failed and succeeded on retry. */
  connectRetries: number;
}

export async function measureGroup(
  target: Target,
  config: BenchConfig,
  members: number,
  /** Letter only: what each member answers every message with (see `LoadSpec.positions`). */
  positions?: readonly PositionKind[],
  positionsEveryMs?: number,
  positionsSpreadMs?: number,
  /** Start the measured run after a silence longer than the reporting interval. */
  cold = false,
): Promise<GroupResult> {
  const hooks = freshHooks();
  const memberIndexes = Array.from({ length: members }, (_, i) => i + 1);
  const { route, rooms } = await target.group(0, memberIndexes, `g${members}x${Date.now() % 1e6}`);
  const sender = await target.connect(0, hooks);
  const join = (i: number, timeoutMs?: number) =>
    target.connect(memberIndexes[i]!, hooks, { alias: `m${members}_${i}`, rooms, timeoutMs });
  const joined = await connectMany(members, 100, (i) => join(i), 120_000);
  // A server that tells every member about every other one coming online (presence) gets
  // slow to say `ready` in a big group; that is not what (f) measures, so retry patiently.
  const retried = await connectMany(
    joined.failed.length,
    20,
    (k) => join(joined.failed[k]!, 60_000),
    180_000,
  );
  joined.clients.push(...retried.clients);
  try {
    if (retried.failures > 0) {
      throw new Error(
        `${retried.failures} members could not connect: ${retried.reasons.join('; ')}`,
      );
    }
    const rate = Math.max(1, Math.round(config.groupDeliveriesPerSec / members));
    await runOpenLoop({
      rate,
      durationMs: Math.min(config.warmupMs, 1000),
      senders: [{ client: sender, route }],
      hooks,
      serverPid: target.pid,
      drainMs: config.drainMs,
      maxBacklogSeconds: 5,
      expectAcks: target.name === 'letter',
      positions,
      positionsEveryMs,
      positionsSpreadMs,
    });
    await quiesce(hooks, 300, 20_000);
    if (cold) await sleep(1.5 * (positionsEveryMs ?? 0) + (positionsSpreadMs ?? 0) + 100);
    const load = await runOpenLoop({
      rate,
      durationMs: config.groupMs,
      senders: [{ client: sender, route }],
      hooks,
      serverPid: target.pid,
      drainMs: config.drainMs,
      maxBacklogSeconds: 5,
      expectAcks: target.name === 'letter',
      positions,
      positionsEveryMs,
      positionsSpreadMs,
    });
    return { members, load, connectRetries: joined.failures };
  } finally {
    await closeAll([sender, ...joined.clients]);
  }
}

// ---------------------------------------------------------------- (d) RSS per idle connection

export interface IdlePoint {
  connections: number;
  rssBytes: number;
  bytesPerConnection: number;
}

export interface IdleResult {
  baselineRssBytes: number;
  points: IdlePoint[];
  failures: number;
  reasons: string[];
  /** Counts left out because this process may not open that many sockets. */
  skipped: number[];
}

/** Waits until RSS stops moving (GC and allocator settling), bounded; returns the last reading. */
async function settledRss(pid: number, maxWaitMs: number): Promise<number> {
  let last = processRssBytes(pid);
  for (let waited = 0; waited < maxWaitMs; waited += 500) {
    await sleep(500);
    const now = processRssBytes(pid);
    if (Math.abs(now - last) < last * 0.005) return now;
    last = now;
  }
  return last;
}

/** Run against a freshly started server, so earlier scenarios' garbage is not in the baseline. */
export async function measureIdle(
  target: Target,
  config: BenchConfig,
  users: number,
  fileLimit: number,
): Promise<IdleResult> {
  const hooks = freshHooks();
  const open = (i: number) => target.connect(i % users, hooks, { alias: `idle${i}` });
  await closeAll((await connectMany(50, 25, open, 30_000)).clients);
  const settleMs = config.quick ? 1500 : 5000;
  await sleep(config.quick ? 500 : 1000);
  const baseline = await settledRss(target.pid, settleMs);
  const clients: BenchClient[] = [];
  const points: IdlePoint[] = [];
  const skipped: number[] = [];
  const reasons: string[] = [];
  let failures = 0;
  try {
    for (const count of config.idleCounts) {
      // Leave room for the files node itself and the other scenarios' sockets use.
      if (count + 300 > fileLimit) {
        skipped.push(count);
        continue;
      }
      const offset = clients.length;
      const more = await connectMany(count - offset, 200, (i) => open(offset + i), 180_000);
      clients.push(...more.clients);
      failures += more.failures;
      reasons.push(...more.reasons.slice(0, 5 - reasons.length));
      const rss = await settledRss(target.pid, settleMs);
      points.push({
        connections: clients.length,
        rssBytes: rss,
        bytesPerConnection: clients.length > 0 ? (rss - baseline) / clients.length : NaN,
      });
    }
  } finally {
    await closeAll(clients, 15_000);
  }
  return { baselineRssBytes: baseline, points, failures, reasons, skipped };
}
