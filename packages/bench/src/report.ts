/**
 * Turns the per-target results into figures, ratios to the baselines, and the issue's
 * targets marked PASS/FAIL; renders them as Markdown (and the same data as JSON).
 */
import type { BenchConfig } from './config.js';
import type { TargetResult } from './run.js';
import { GENERATOR_CPU_LIMIT } from './scenarios.js';
import { arrangements } from './scenarios-cluster.js';
import type { Arrangement, ClusterSeries } from './scenarios-cluster.js';
import type { TargetName } from './targets.js';
import { describeProbe } from './probe.js';
import type { ProbeFigures } from './probe.js';

export interface Meta {
  timestamp: string;
  node: string;
  cpus: number;
  pinned: string;
  fileLimit: number;
  commit: string;
  quick: boolean;
  durationSec: number;
  loadAverageAtStart: number;
  /** The Node flags packages/server/bin/letter chose for the Letter servers. */
  letterFlags: string;
  /** The same for the Letter nodes on PostgreSQL (`letter-pg`, `letter-cluster`). */
  letterPgFlags?: string;
  /** Where Letter's SQLite writer ran: `thread` or `inline` (the main thread). */
  letterWriter?: string;
  /** The machine probe on the server core before the first target and after the last. */
  probe?: { start: ProbeFigures | null; end: ProbeFigures | null };
}

/** The most CPU (in cores) other processes used during any load run of the report. */
export function busiestOther(results: TargetResult[]): number {
  const loads = results.flatMap((r) => [
    r.fixed,
    r.receipts,
    r.stall?.load,
    ...r.groups.map((g) => g.load),
    r.answering?.load,
  ]);
  const steps = results.flatMap((r) => r.throughput?.steps ?? []);
  return Math.max(0, ...loads.map((l) => l?.otherCpu ?? 0), ...steps.map((s) => s.otherCpu));
}

type PerTarget = Partial<Record<TargetName, number>>;

export interface Figure {
  label: string;
  unit: string;
  values: PerTarget;
  /** Letter's value divided by each baseline's. */
  ratios: { ws?: number; socketio?: number };
  /** Targets whose run for this figure had the generator above the CPU limit. */
  invalid: TargetName[];
}

export interface Evaluation {
  target: string;
  value: string;
  status: 'PASS' | 'FAIL' | 'n/a';
  invalid: boolean;
  note?: string;
}

export interface Report {
  meta: Meta;
  config: BenchConfig;
  results: TargetResult[];
  figures: Figure[];
  evaluations: Evaluation[];
}

type Pick = (r: TargetResult) => { value: number | undefined; generatorCpu?: number } | undefined;

function figure(results: TargetResult[], label: string, unit: string, pick: Pick): Figure {
  const values: PerTarget = {};
  const invalid: TargetName[] = [];
  for (const r of results) {
    const picked = pick(r);
    if (picked?.value === undefined || !Number.isFinite(picked.value)) continue;
    values[r.name] = picked.value;
    if ((picked.generatorCpu ?? 0) > GENERATOR_CPU_LIMIT) invalid.push(r.name);
  }
  const ratio = (base: number | undefined) =>
    values.letter !== undefined && base !== undefined && base !== 0
      ? values.letter / base
      : undefined;
  return {
    label,
    unit,
    values,
    ratios: { ws: ratio(values.ws), socketio: ratio(values.socketio) },
    invalid,
  };
}

const arrangementLabels: Record<Arrangement, string> = {
  one: 'one node',
  across: 'two nodes, pairs across them',
  local: 'two nodes, each pair on one',
};

/** Letter's (h) series, or the cluster floor's (in the same rounds; shown in Letter's column). */
const seriesOf = (r: TargetResult, floor: boolean): ClusterSeries | undefined =>
  floor ? r.cluster?.floor : r.cluster;

/** (h): per arrangement, the median over the rounds of its p99 and of its nodes' CPU. */
function clusterFigures(results: TargetResult[], config: BenchConfig): Figure[] {
  const rate = config.clusterRate.toLocaleString('en-US');
  const busiest = (s: ClusterSeries, a: Arrangement) =>
    Math.max(...s.rounds.map((round) => round[a].load.generatorCpu));
  return [false, true].flatMap((floor) => {
    const who = floor ? 'cluster floor: ' : '';
    return arrangements.flatMap((a) => [
      figure(
        results,
        `(h) ${who}p99 at ${rate} msg/s, ${arrangementLabels[a]} (median)`,
        'ms',
        (r) => {
          const s = seriesOf(r, floor);
          return s ? { value: s.median[a].p99, generatorCpu: busiest(s, a) } : undefined;
        },
      ),
      figure(
        results,
        `(h) ${who}server CPU per delivery, ${arrangementLabels[a]} (median)`,
        'µs',
        (r) => {
          const s = seriesOf(r, floor);
          return s ? { value: s.median[a].cpuMicrosPerDelivery } : undefined;
        },
      ),
    ]);
  });
}

/** (h) round by round, in the order they ran. */
function clusterRounds(results: TargetResult[]): string[] {
  const lines: string[] = [];
  for (const r of results) {
    for (const floor of [false, true]) {
      const series = seriesOf(r, floor);
      if (series)
        lines.push(...seriesRounds(floor ? `${r.label}, cluster floor` : r.label, series));
    }
  }
  return lines;
}

function seriesRounds(label: string, series: ClusterSeries): string[] {
  const lines = [
    `## (h) rounds: ${label}`,
    '',
    '| round | arrangement | p50 ms | p99 ms | ok p99 ms | lost | server CPU per delivery µs | rest of machine |',
    '|---:|---|---:|---:|---:|---:|---:|---:|',
  ];
  series.rounds.forEach((round, i) => {
    for (const a of arrangements) {
      const { load, cpuMicrosPerDelivery } = round[a];
      lines.push(
        `| ${i + 1} | ${arrangementLabels[a]} | ${formatNumber(load.latency.p50)} | ` +
          `${formatNumber(load.latency.p99)} | ${formatNumber(load.ack?.p99)} | ${load.lost} | ` +
          `${formatNumber(cpuMicrosPerDelivery)} | ${Math.round(load.otherCpu * 100)}% |`,
      );
    }
  });
  lines.push('');
  return lines;
}

/** RSS per connection at the largest count every target reached. */
function idleCount(results: TargetResult[]): number[] {
  const counts = new Set<number>();
  for (const r of results) for (const p of r.idle?.points ?? []) counts.add(p.connections);
  return [...counts].sort((a, b) => a - b);
}

export function buildFigures(results: TargetResult[], config: BenchConfig): Figure[] {
  const rate = config.fixedRate.toLocaleString('en-US');
  const f = (label: string, unit: string, pick: Pick) => figure(results, label, unit, pick);
  const figures: Figure[] = [
    f(
      `(a) 1:1 max delivered msg/s (p99 ≤ ${config.p99LimitMs} ms, 0 lost)`,
      'msg/s',
      (r) =>
        r.throughput && {
          value: r.throughput.maxPerSec,
          generatorCpu: r.throughput.valid ? 0 : 1,
        },
    ),
    f('(a) rows per store transaction at saturation', 'rows/tx', (r) => ({
      value: r.throughput?.rowsPerTransaction,
    })),
  ];
  for (const [key, label] of [
    ['p50', 'p50'],
    ['p99', 'p99'],
    ['max', 'max'],
  ] as const) {
    figures.push(
      f(
        `(b) ${label} latency at ${rate} msg/s`,
        'ms',
        (r) => r.fixed && { value: r.fixed.latency[key], generatorCpu: r.fixed.generatorCpu },
      ),
    );
  }
  figures.push(
    f(`(b) lost at ${rate} msg/s`, 'msgs', (r) => r.fixed && { value: r.fixed.lost }),
    f(
      `(b) Letter send→ok p99 at ${rate} msg/s`,
      'ms',
      (r) => r.fixed?.ack && { value: r.fixed.ack.p99 },
    ),
    f(
      '(c) server CPU per delivered message',
      'µs',
      (r) =>
        r.fixed && {
          value: r.fixed.serverCpuMicrosPerDelivery,
          generatorCpu: r.fixed.generatorCpu,
        },
    ),
  );
  const receiptsRate = config.receiptsRate.toLocaleString('en-US');
  const receipts = `at ${receiptsRate} msg/s, recipients answering delivered + read (no target)`;
  figures.push(
    f(
      `(b′) p99 latency ${receipts}`,
      'ms',
      (r) => r.receipts && { value: r.receipts.latency.p99, generatorCpu: r.receipts.generatorCpu },
    ),
    f(`(b′) lost ${receipts}`, 'msgs', (r) => r.receipts && { value: r.receipts.lost }),
    f(
      `(c′) server CPU per delivered message ${receipts}`,
      'µs',
      (r) =>
        r.receipts && {
          value: r.receipts.serverCpuMicrosPerDelivery,
          generatorCpu: r.receipts.generatorCpu,
        },
    ),
  );
  for (const count of idleCount(results)) {
    figures.push(
      f(`(d) RSS per idle connection at ${count.toLocaleString('en-US')}`, 'KiB', (r) => {
        const point = r.idle?.points.find((p) => p.connections === count);
        return point && { value: point.bytesPerConnection / 1024 };
      }),
    );
  }
  figures.push(
    f(
      '(e) connect + auth rate',
      'conn/s',
      (r) => r.connect && { value: r.connect.perSec, generatorCpu: r.connect.generatorCpu },
    ),
  );
  for (const members of config.groupSizes) {
    const g = (r: TargetResult) => r.groups.find((x) => x.members === members)?.load;
    figures.push(
      f(`(f) group ${members}: delivery p50`, 'ms', (r) => {
        const load = g(r);
        return load && { value: load.latency.p50, generatorCpu: load.generatorCpu };
      }),
      f(`(f) group ${members}: delivery p99`, 'ms', (r) => {
        const load = g(r);
        return load && { value: load.latency.p99, generatorCpu: load.generatorCpu };
      }),
      f(`(f) group ${members}: last member p99`, 'ms', (r) => {
        const load = g(r);
        return load && { value: load.completion.p99, generatorCpu: load.generatorCpu };
      }),
      f(`(f) group ${members}: deliveries/s`, '1/s', (r) => {
        const load = g(r);
        return load && { value: load.deliveredPerSec };
      }),
      f(`(f) group ${members}: lost deliveries`, '', (r) => {
        const load = g(r);
        return load && { value: load.lost };
      }),
      f(`(f) group ${members}: server CPU per delivery`, 'µs', (r) => {
        const load = g(r);
        return load && { value: load.serverCpuMicrosPerDelivery };
      }),
    );
  }
  const largest = Math.max(...config.groupSizes);
  const answering = `(f′) group ${largest}, members answering as the sdk does (no target)`;
  figures.push(
    f(`${answering}: last member p99`, 'ms', (r) =>
      r.answering
        ? { value: r.answering.load.completion.p99, generatorCpu: r.answering.load.generatorCpu }
        : undefined,
    ),
    f(`${answering}: server CPU per delivery`, 'µs', (r) =>
      r.answering ? { value: r.answering.load.serverCpuMicrosPerDelivery } : undefined,
    ),
    f(`${answering}: receipts per message`, '', (r) =>
      r.answering
        ? { value: r.answering.load.receiptsHeard / Math.max(1, r.answering.load.sent) }
        : undefined,
    ),
    f(`${answering}: lost deliveries`, '', (r) =>
      r.answering ? { value: r.answering.load.lost } : undefined,
    ),
  );
  figures.push(
    ...clusterFigures(results, config),
    f(`(i) history page p99, ${config.storedMessages.toLocaleString('en-US')} stored`, 'ms', (r) =>
      r.stored ? { value: r.stored.history.p99 } : undefined,
    ),
    f(`(i) search p99, ${config.storedMessages.toLocaleString('en-US')} stored`, 'ms', (r) =>
      r.stored ? { value: r.stored.search.p99 } : undefined,
    ),
    f(`(i) start-up, ${config.storedMessages.toLocaleString('en-US')} stored`, 's', (r) =>
      r.stored ? { value: r.stored.startupMs / 1000 } : undefined,
    ),
  );
  figures.push(
    f(
      `(g) longest event-loop stall, ${config.stallMs / 1000} s at half max rate`,
      'ms',
      (r) => r.stall && { value: r.stall.maxStallMs, generatorCpu: r.stall.load.generatorCpu },
    ),
    f('(g) lost during the stall run', 'msgs', (r) => r.stall && { value: r.stall.load.lost }),
  );
  return figures;
}

export function formatNumber(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  const abs = Math.abs(v);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

function ratio(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? '–' : `${v.toFixed(2)}×`;
}

export function renderMarkdown(report: Report): string {
  const { meta, results, figures, evaluations } = report;
  const lines: string[] = [];
  lines.push(
    `# Letter benchmark ${meta.timestamp}${meta.quick ? ' (quick: sanity only, not comparable)' : ''}`,
    '',
  );
  lines.push(
    `Node ${meta.node}, ${meta.cpus} cores, ${meta.pinned}, open-file limit ${meta.fileLimit}, ` +
      `commit ${meta.commit}, ${Math.round(meta.durationSec)} s. Letter started by ` +
      `packages/server/bin/letter as \`node ${meta.letterFlags || '(no flags)'}\`` +
      (meta.letterPgFlags !== undefined && meta.letterPgFlags !== meta.letterFlags
        ? ` (on PostgreSQL: \`node ${meta.letterPgFlags || '(no flags)'}\`)`
        : '') +
      (meta.letterWriter
        ? `, its SQLite writer ${meta.letterWriter === 'inline' ? 'on the main thread (inline)' : 'on a thread of its own'}.`
        : '.'),
    '',
  );
  if (meta.probe) lines.push(describeProbe(meta.probe.start, meta.probe.end), '');
  const other = busiestOther(results);
  if (other > 0.25) {
    lines.push(
      `⚠ The rest of the machine used up to ${other.toFixed(2)} cores during the runs (load average ` +
        `${meta.loadAverageAtStart.toFixed(1)} at start): figures are depressed and noisy.`,
      '',
    );
  }
  const ran = results.map((r) => r.name);
  lines.push(
    `| Figure | ${results.map((r) => r.label).join(' | ')} | Letter / ws | Letter / Socket.IO |`,
  );
  lines.push(`|---|${ran.map(() => '---:|').join('')}---:|---:|`);
  for (const f of figures) {
    if (ran.every((t) => f.values[t] === undefined)) continue;
    const cell = (t: TargetName) =>
      `${formatNumber(f.values[t])}${f.invalid.includes(t) ? ' ⚠' : ''}`;
    const unit = f.unit ? ` (${f.unit})` : '';
    lines.push(
      `| ${f.label}${unit} | ${ran.map(cell).join(' | ')} | ${ratio(f.ratios.ws)} | ${ratio(f.ratios.socketio)} |`,
    );
  }
  lines.push(
    '',
    '⚠ = the load generator used more than 90% of a core during that run: invalid.',
    '',
  );
  lines.push(
    '## Targets (issues 12 and 13)',
    '',
    '| Figure: target | Letter (ratio to its baseline) | Result |',
    '|---|---|---|',
  );
  for (const e of evaluations) {
    const status = e.invalid ? `${e.status} (invalid)` : e.status;
    lines.push(`| ${e.target} | ${e.value} | ${status}${e.note ? ` — ${e.note}` : ''} |`);
  }
  lines.push('', '## Throughput steps', '');
  for (const r of results) {
    if (!r.throughput) continue;
    lines.push(
      `**${r.label}**`,
      '',
      '| rate | delivered/s | p99 ms | lost | server CPU | generator CPU | rest of machine | pass |',
      '|---:|---:|---:|---:|---:|---:|---:|---|',
    );
    for (const s of r.throughput.steps) {
      lines.push(
        `| ${formatNumber(s.rate)} | ${formatNumber(s.deliveredPerSec)} | ${formatNumber(s.p99)} | ${s.lost} | ` +
          `${Math.round(s.serverCpu * 100)}% | ${Math.round(s.generatorCpu * 100)}% | ` +
          `${Math.round(s.otherCpu * 100)}% | ${s.pass ? 'yes' : (s.aborted ?? 'no')} |`,
      );
    }
    lines.push('');
  }
  lines.push(...clusterRounds(results));
  lines.push('## Notes', '');
  for (const r of results) {
    const extra = [...r.notes];
    if (r.connect && r.connect.failures > 0)
      extra.push(`(e) ${r.connect.failures} handshakes failed: ${r.connect.reasons.join('; ')}`);
    if (r.idle && r.idle.failures > 0)
      extra.push(`(d) ${r.idle.failures} idle connections failed: ${r.idle.reasons.join('; ')}`);
    if (r.idle && r.idle.skipped.length > 0)
      extra.push(`(d) skipped ${r.idle.skipped.join(', ')}: open-file limit ${meta.fileLimit}`);
    for (const [name, load] of [
      ['(b)', r.fixed],
      ['(b′)', r.receipts],
      ['(f′)', r.answering?.load],
    ] as const) {
      if (load && load.errors > 0)
        extra.push(`${name} ${load.errors} error frames, e.g. ${load.firstErrors[0] ?? ''}`);
    }
    const runs = [
      ['(b)', r.fixed],
      ['(b′)', r.receipts],
      ['(g)', r.stall?.load],
      ...r.groups.map((g) => [`(f) group ${g.members}`, g.load] as const),
      ...(r.answering ? [[`(f′) group ${r.answering.members}`, r.answering.load] as const] : []),
    ] as const;
    for (const [name, load] of runs) {
      if (load?.late)
        extra.push(`${name} ${load.late} of the lost deliveries arrived after the drain`);
      if (load?.aborted) extra.push(`${name} stopped early: ${load.aborted}`);
    }
    for (const g of r.groups) {
      if (g.connectRetries > 0)
        extra.push(
          `(f) group ${g.members}: ${g.connectRetries} members needed a second connection attempt`,
        );
    }
    if (r.stall?.metric === undefined && r.stall)
      extra.push('(g) no event-loop metric in /metrics');
    if (r.stored)
      extra.push(
        `(i) filled ${r.stored.messages} messages directly in ${Math.round(r.stored.fillMs / 1000)} s; ` +
          `${r.stored.history.samples} history pages and searches timed after a cold round of ` +
          `${r.stored.cold.history.samples} and ${report.config.storedWarmup} untimed`,
      );
    if (r.setupMs !== undefined && r.name === 'letter')
      extra.push(`setup (register users) took ${Math.round(r.setupMs / 1000)} s`);
    lines.push(`- ${r.label}: ${r.status}${extra.length ? `; ${extra.join('; ')}` : ''}`);
  }
  lines.push('');
  return lines.join('\n');
}
