/**
 * The target rows of issue 12, each a named scenario (`npm run bench -- --scenario <name>`):
 * which servers run which scenario letters for it, and how its figure is judged PASS/FAIL
 * against its target, with the ratio to its baseline.
 */
import type { BenchConfig } from './config.js';
import type { Evaluation } from './report.js';
import type { LoadResult } from './load.js';
import type { Scenario, TargetResult } from './run.js';
import { GENERATOR_CPU_LIMIT } from './scenarios.js';
import type { TargetName } from './targets.js';

export interface Row {
  name: string;
  /** The row of the table. */
  figure: string;
  target: string;
  plan: Partial<Record<TargetName, Scenario[]>>;
  judge(get: Getter, config: BenchConfig): Omit<Evaluation, 'target'>;
}

type Getter = (name: TargetName) => TargetResult | undefined;

const fmt = (v: number) =>
  v.toLocaleString('en-US', { maximumFractionDigits: Math.abs(v) >= 100 ? 0 : 2 });
const times = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}×` : '–');
const signed = (v: number) => (v >= 0 ? `+${fmt(v)}` : `−${fmt(-v)}`);

function missing(what: string): Omit<Evaluation, 'target'> {
  return { value: 'n/a', status: 'n/a', invalid: false, note: `missing: ${what}` };
}

function verdict(
  pass: boolean,
  value: string,
  invalid = false,
  notes: (string | undefined)[] = [],
): Omit<Evaluation, 'target'> {
  const note = [
    ...notes,
    invalid ? `generator above ${GENERATOR_CPU_LIMIT * 100}% of a core` : undefined,
  ]
    .filter(Boolean)
    .join('; ');
  return { value, status: pass ? 'PASS' : 'FAIL', invalid, ...(note ? { note } : {}) };
}

export const rows: Row[] = [
  {
    name: 'sqlite-max',
    figure: 'SQLite 1:1 durable max (p99 ≤ 100 ms, 0 lost)',
    target: '≥ 25,000 msg/s and ≥ 0.5 × ws + SQLite group-commit relay',
    plan: { letter: ['a'], 'ws-sqlite': ['a'], 'letter-floor': ['a'] },
    judge(get) {
      const l = get('letter')?.throughput;
      const r = get('ws-sqlite')?.throughput;
      if (!l || !r) return missing('(a) of Letter and of ws + SQLite');
      // Not judged: what the same relay reaches doing Letter's durable work (its schema, the
      // ok and the event, corked) with none of Letter's code. A reference, not a bound: its
      // fsyncs and index catch-ups stall its one loop, so its p99 limits it before its CPU
      // does; its CPU per message (the cpu row) is the floor (docs/performance.md, round 21).
      const f = get('letter-floor')?.throughput;
      const floor = f
        ? `Letter's floor ${fmt(f.maxPerSec)} msg/s${f.valid ? '' : ' (generator-bound)'}, Letter ${times(l.maxPerSec, f.maxPerSec)} it`
        : undefined;
      return verdict(
        l.maxPerSec >= 25_000 && l.maxPerSec >= 0.5 * r.maxPerSec,
        `${fmt(l.maxPerSec)} msg/s; ${times(l.maxPerSec, r.maxPerSec)} ws + SQLite (${fmt(r.maxPerSec)})`,
        !l.valid || !r.valid,
        [floor],
      );
    },
  },
  {
    name: 'p99-5000',
    figure: 'p99 at 5,000 msg/s',
    target: '≤ 5 ms and ≤ 2 × bare ws p99 + 1 ms',
    plan: { letter: ['b'], ws: ['b'] },
    judge(get) {
      const l = get('letter')?.fixed;
      const w = get('ws')?.fixed;
      if (!l || !w) return missing('(b) of Letter and of bare ws');
      const bound = Math.min(5, 2 * w.latency.p99 + 1);
      const lost = l.lost > 0 ? `${l.lost} lost` : l.aborted ? `stopped: ${l.aborted}` : undefined;
      return verdict(
        l.latency.p99 <= bound && !lost,
        `${fmt(l.latency.p99)} ms vs ≤ ${fmt(bound)} ms; ${times(l.latency.p99, w.latency.p99)} bare ws (${fmt(w.latency.p99)} ms)`,
        [l, w].some((x) => x.generatorCpu > GENERATOR_CPU_LIMIT),
        [lost],
      );
    },
  },
  {
    name: 'cpu',
    figure: 'server CPU per message (during the 5,000 msg/s run)',
    target: '≤ 2 × ws + SQLite group-commit relay',
    plan: { letter: ['b'], 'ws-sqlite': ['b'], 'letter-floor': ['b'] },
    judge(get) {
      const lf = get('letter')?.fixed;
      const rf = get('ws-sqlite')?.fixed;
      const ff = get('letter-floor')?.fixed;
      if (!lf || !rf) return missing('(c) of Letter and of ws + SQLite');
      const [l, r] = [lf.serverCpuMicrosPerDelivery, rf.serverCpuMicrosPerDelivery];
      // The kernel's share: the relay commits per event-loop turn, Letter per batch, so a host
      // whose fsync and socket calls are cheap moves the ratio (docs/performance.md, round twenty).
      const sys = (x: LoadResult) =>
        Number.isFinite(x.serverSysMicrosPerDelivery)
          ? `, of it ${fmt(x.serverSysMicrosPerDelivery)} in the kernel`
          : '';
      // Not judged: the relay doing Letter's durable work with none of Letter's code (sqlite-max).
      const floor = ff
        ? `Letter's floor ${fmt(ff.serverCpuMicrosPerDelivery)} µs${sys(ff)}, Letter ${times(l, ff.serverCpuMicrosPerDelivery)} it`
        : undefined;
      return verdict(
        l <= 2 * r,
        `${fmt(l)} µs${sys(lf)}; ${times(l, r)} ws + SQLite (${fmt(r)} µs${sys(rf)})`,
        false,
        [floor],
      );
    },
  },
  {
    name: 'pg-max',
    figure: 'PostgreSQL 1:1 durable max, PostgreSQL on the same box',
    target: '≥ 8,000 msg/s (synchronous_commit on)',
    plan: { 'letter-pg': ['a'] },
    judge(get) {
      const p = get('letter-pg')?.throughput;
      if (!p) return missing('(a) of Letter on PostgreSQL (needs --pg-url or LETTER_TEST_PG_URL)');
      return verdict(p.maxPerSec >= 8000, `${fmt(p.maxPerSec)} msg/s`, !p.valid);
    },
  },
  {
    name: 'cluster',
    figure: 'two nodes + Redis, clients spread over both',
    target: 'p99 at 2,000 msg/s ≤ single node + 2 ms',
    plan: { 'letter-cluster': ['h'] },
    judge(get, config) {
      const cluster = get('letter-cluster')?.cluster;
      if (!cluster) return missing('(h) of one and two Letter nodes (needs PostgreSQL and Redis)');
      const { one, across, local } = cluster.median;
      const runs = cluster.rounds.flatMap((r) => [r.one.load, r.across.load, r.local.load]);
      // The cluster floor's own two nodes against its one, same rounds: the arrangement's cost.
      const f = cluster.floor?.median;
      const floor = f
        ? `cluster floor in the same rounds: two nodes across ${fmt(f.across.p99)} ms vs one ` +
          `node ${fmt(f.one.p99)} ms (${signed(f.across.p99 - f.one.p99)} ms; each pair on one ` +
          `node: ${fmt(f.local.p99)} ms)`
        : cluster.floorError && `cluster floor not run: ${cluster.floorError}`;
      const lostCount = runs.reduce((n, load) => n + load.lost, 0);
      const lost = lostCount > 0 ? `${lostCount} lost` : undefined;
      const rounds = cluster.rounds.length;
      return verdict(
        across.p99 <= one.p99 + 2 && !lost,
        `${fmt(across.p99)} ms vs one node ${fmt(one.p99)} ms at ${fmt(config.clusterRate)} msg/s ` +
          `(median of ${rounds} interleaved round${rounds === 1 ? '' : 's'}; ` +
          `two nodes with each pair on one node: ${fmt(local.p99)} ms)`,
        runs.some((x) => x.generatorCpu > GENERATOR_CPU_LIMIT),
        [lost, floor, 'routing only to nodes with a recipient: server test/cluster.test.ts'],
      );
    },
  },
  {
    name: 'group-1000',
    figure: 'group of 1,000 members, 20 msg/s',
    target: "every member's p99 ≤ 50 ms; server CPU per delivery ≤ 1.5 × bare ws",
    plan: { letter: ['f'], ws: ['f'] },
    judge(get, config) {
      const size = Math.max(...config.groupSizes);
      const l = get('letter')?.groups.find((g) => g.members === size)?.load;
      const w = get('ws')?.groups.find((g) => g.members === size)?.load;
      if (!l || !w) return missing(`(f) group of ${size} of Letter and of bare ws`);
      // No member's p99 exceeds the p99 of "the last member had it": it bounds them all.
      const cpu = l.serverCpuMicrosPerDelivery;
      const wcpu = w.serverCpuMicrosPerDelivery;
      const lost = l.lost > 0 ? `${l.lost} lost` : undefined;
      return verdict(
        l.completion.p99 <= 50 && cpu <= 1.5 * wcpu && !lost,
        `last-member p99 ${fmt(l.completion.p99)} ms; CPU ${fmt(cpu)} µs/delivery, ${times(cpu, wcpu)} bare ws (${fmt(wcpu)} µs)`,
        [l, w].some((x) => x.generatorCpu > GENERATOR_CPU_LIMIT),
        [lost],
      );
    },
  },
  {
    name: 'connect',
    figure: 'connect + auth (raw-socket generator)',
    target: '≥ 3,000/s, generator not the limit',
    plan: { letter: ['e'], ws: ['e'] },
    judge(get) {
      const l = get('letter')?.connect;
      if (!l) return missing('(e) of Letter');
      const w = get('ws')?.connect;
      return verdict(
        l.perSec >= 3000 && l.generatorCpu <= GENERATOR_CPU_LIMIT,
        `${fmt(l.perSec)}/s (generator ${Math.round(l.generatorCpu * 100)}% of a core` +
          (l.serverCpuMicros === undefined
            ? ')'
            : `, server ${fmt(l.serverCpuMicros)} µs CPU each)`) +
          (l.cold
            ? `; cold (the warm-up) ${fmt(l.cold.perSec)}/s, ${fmt(l.cold.serverCpuMicros)} µs`
            : '') +
          (w
            ? `; ${times(l.perSec, w.perSec)} bare ws (${fmt(w.perSec)}/s` +
              (w.serverCpuMicros === undefined ? ')' : `, ${fmt(w.serverCpuMicros)} µs CPU each)`)
            : ''),
        l.generatorCpu > GENERATOR_CPU_LIMIT,
      );
    },
  },
  {
    name: 'idle',
    figure: 'idle authenticated connection',
    target: '≤ 8 KiB RSS at 19,500',
    plan: { letter: ['d'], ws: ['d'] },
    judge(get) {
      const l = get('letter')?.idle?.points.at(-1);
      if (!l) return missing('(d) of Letter');
      const w = get('ws')?.idle?.points.find((p) => p.connections === l.connections);
      const kib = l.bytesPerConnection / 1024;
      return verdict(
        kib <= 8 && l.connections >= 19_500,
        `${fmt(kib)} KiB at ${fmt(l.connections)}` +
          (w ? `; ${times(l.bytesPerConnection, w.bytesPerConnection)} bare ws` : ''),
        false,
        [l.connections < 19_500 ? `only ${l.connections} connections` : undefined],
      );
    },
  },
  {
    name: 'stored-1m',
    figure: '1,000,000 stored messages',
    target: 'history page p99 ≤ 5 ms, search p99 ≤ 50 ms, start-up ≤ 3 s',
    plan: { letter: ['i'] },
    judge(get) {
      const s = get('letter')?.stored;
      if (!s) return missing('(i) of Letter');
      return verdict(
        s.history.p99 <= 5 && s.search.p99 <= 50 && s.startupMs <= 3000 && s.messages >= 1e6,
        `history p99 ${fmt(s.history.p99)} ms, search p99 ${fmt(s.search.p99)} ms, ` +
          `start-up ${fmt(s.startupMs / 1000)} s (${fmt(s.messages)} messages; the first ` +
          `${fmt(s.cold.history.samples)} after start: history p99 ${fmt(s.cold.history.p99)} ms, ` +
          `search p99 ${fmt(s.cold.search.p99)} ms)`,
        false,
        [s.messages < 1e6 ? `only ${fmt(s.messages)} messages` : undefined],
      );
    },
  },
  // Issue 13 (files).
  {
    name: 'upload-rss',
    figure: 'one 200 MB upload: server RSS growth',
    target: '≤ 30 MB (the upload streams to the blob store)',
    plan: { letter: ['j'] },
    judge(get) {
      const u = get('letter')?.upload;
      if (!u) return missing('(j) of Letter');
      const mb = u.rssGrowthBytes / 1024 / 1024;
      return verdict(
        mb <= 30 && u.bytes >= 200 * 1024 * 1024,
        `+${fmt(mb)} MB RSS (${fmt(u.baselineRssBytes / 1024 / 1024)} → ${fmt(u.peakRssBytes / 1024 / 1024)} MB) over ${fmt(u.bytes / 1024 / 1024)} MB`,
      );
    },
  },
  {
    name: 'upload-speed',
    figure: 'one 200 MB upload: MB/s over loopback',
    target: 'reported (issue 13 sets no figure)',
    plan: { letter: ['j'] },
    judge(get) {
      const u = get('letter')?.upload;
      if (!u) return missing('(j) of Letter');
      return {
        value: `${fmt(u.mbPerSec)} MB/s (${fmt(u.bytes / 1e6)} MB in ${fmt(u.seconds)} s)`,
        status: 'n/a',
        invalid: false,
        note: 'no target: a figure to compare runs by',
      };
    },
  },
  {
    name: 'image-fanout',
    figure: 'an image message to a group of 1,000 members',
    target: 'delivery p99 ≤ 50 ms (as group-1000), 0 lost, URLs signed for each recipient',
    plan: { letter: ['k'] },
    judge(get) {
      const k = get('letter')?.imageFanout;
      if (!k) return missing('(k) of Letter');
      const lost = k.image.lost > 0 ? `${k.image.lost} lost` : undefined;
      return verdict(
        k.image.p99 <= 50 && !lost && k.signedPerRecipient && k.members >= 1000,
        `p99 ${fmt(k.image.p99)} ms (text ${fmt(k.text.p99)} ms); CPU ${fmt(k.image.serverCpuMicrosPerDelivery)} µs/delivery (text ${fmt(k.text.serverCpuMicrosPerDelivery)}): signing +${fmt(k.signingMicrosPerRecipient)} µs per recipient`,
        false,
        [lost, k.signedPerRecipient ? undefined : 'a URL signed for someone else'],
      );
    },
  },
];

/** Every row's verdict, in the order. */
export function evaluateRows(
  results: TargetResult[],
  config: BenchConfig,
  selected: Row[],
): Evaluation[] {
  const get: Getter = (name) => results.find((r) => r.name === name);
  return selected.map((row) => {
    const verdict = row.judge(get, config);
    const target = `${row.figure}: ${row.target}`;
    // A --quick run proves each row runs and reports; its sizes are too small to judge.
    if (!config.quick || verdict.status === 'n/a') return { target, ...verdict };
    const note = ['quick run: not judged', verdict.note].filter(Boolean).join('; ');
    return { target, ...verdict, status: 'n/a', note };
  });
}

/** Which scenarios each server runs for `selected` rows. */
export function planFor(selected: Row[]): Map<TargetName, Set<Scenario>> {
  const plan = new Map<TargetName, Set<Scenario>>();
  for (const row of selected) {
    for (const [name, scenarios] of Object.entries(row.plan) as [TargetName, Scenario[]][]) {
      let set = plan.get(name);
      if (!set) plan.set(name, (set = new Set()));
      for (const s of scenarios) set.add(s);
    }
  }
  return plan;
}
