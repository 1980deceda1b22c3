/**
 * (h) of issue 12: one node against two nodes over PostgreSQL + Redis at `clusterRate`, in
 * interleaved rounds. The two nodes and a single node (its own schema, same PostgreSQL) are up
 * together on the server core, so each round measures the three arrangements minutes, not a
 * whole bench run, apart:
 *   - one node: the bench's 100 pairs on one node;
 *   - across: two nodes, each pair's users on different nodes (every delivery crosses Redis,
 *     and both nodes append to every conversation): the row's figure;
 *   - local: two nodes, both users of each pair on the same node (no delivery crosses, each
 *     conversation is appended by one node): what two processes sharing the core cost apart
 *     from routing and cross-node locking.
 * The row judges the medians of the rounds' p99s (docs/performance.md, round ten).
 */
import { closeAll } from './clients.js';
import type { BenchConfig } from './config.js';
import type { LetterClusterTarget } from './letter-targets.js';
import type { LoadResult } from './load.js';
import { processCpuMicros } from './proc.js';
import { connectPairs } from './scenarios.js';
import type { Pairs } from './scenarios.js';
import { measureFixedAt } from './scenarios-12.js';
import type { Target } from './targets.js';

export interface ClusterRun {
  load: LoadResult;
  /** CPU of every node of the arrangement per delivered message, µs. */
  cpuMicrosPerDelivery: number;
}

export interface ClusterRound {
  one: ClusterRun;
  across: ClusterRun;
  local: ClusterRun;
}

export type Arrangement = keyof ClusterRound;
export const arrangements: Arrangement[] = ['one', 'across', 'local'];

export interface ClusterResult {
  rounds: ClusterRound[];
  /** Per arrangement, the median over the rounds. */
  median: Record<Arrangement, { p99: number; cpuMicrosPerDelivery: number }>;
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** A finished run of an arrangement: an unrecorded warm-up first, CPU over the recorded run. */
async function runArrangement(
  target: Target,
  pids: number[],
  pairs: Pairs,
  config: BenchConfig,
  warmupMs: number,
): Promise<ClusterRun> {
  const rate = config.clusterRate;
  if (warmupMs > 0) await measureFixedAt(target, pairs, config, rate, warmupMs);
  const cpu = () => pids.reduce((sum, pid) => sum + processCpuMicros(pid), 0);
  const before = cpu();
  const load = await measureFixedAt(target, pairs, config, rate, config.clusterMs);
  const micros = cpu() - before;
  return { load, cpuMicrosPerDelivery: load.delivered > 0 ? micros / load.delivered : NaN };
}

/**
 * `across`: the cluster's pairs over users 0 … 2·pairs − 1 (each pair on both nodes), already
 * connected. Users 2·pairs … 4·pairs − 1 (registered by the caller) become the local pairs.
 */
export async function measureCluster(
  cluster: LetterClusterTarget,
  across: Pairs,
  config: BenchConfig,
  log: (line: string) => void,
): Promise<ClusterResult> {
  const single = cluster.singleNode();
  const firstLocal = 2 * config.pairs;
  let alone: Pairs | undefined;
  let local: Pairs | undefined;
  try {
    await single.start();
    await single.ensureUsers(2 * config.pairs);
    alone = await connectPairs(single, config);
    cluster.pairsOnOneNodeFrom = firstLocal;
    local = await connectPairs(cluster, config, firstLocal);
    const rounds: ClusterRound[] = [];
    for (let i = 0; i < config.clusterRounds; i++) {
      // The first round warms all three up; later ones only settle after the previous run.
      const warmupMs = i === 0 ? config.clusterWarmupMs : config.clusterRoundWarmupMs;
      log(`(h) round ${i + 1} of ${config.clusterRounds}`);
      const one = await runArrangement(single, [single.pid], alone, config, warmupMs);
      const crossing = await runArrangement(cluster, cluster.pids, across, config, warmupMs);
      const onOneNode = await runArrangement(cluster, cluster.pids, local, config, warmupMs);
      rounds.push({ one, across: crossing, local: onOneNode });
    }
    const summary = (a: Arrangement) => ({
      p99: median(rounds.map((r) => r[a].load.latency.p99)),
      cpuMicrosPerDelivery: median(rounds.map((r) => r[a].cpuMicrosPerDelivery)),
    });
    return {
      rounds,
      median: { one: summary('one'), across: summary('across'), local: summary('local') },
    };
  } finally {
    cluster.pairsOnOneNodeFrom = Number.POSITIVE_INFINITY;
    if (alone) await closeAll(alone.clients);
    if (local) await closeAll(local.clients);
    await single.stop();
    await single.dispose();
  }
}
