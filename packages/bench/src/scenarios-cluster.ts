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
 * The row judges the medians of the rounds' p99s (docs/performance.md, round ten). With a
 * `FloorCluster`, each round then runs the same three arrangements on the cluster floor
 * (relays/ws-pg.ts: the relay durable in PostgreSQL, routed through Redis, none of Letter's
 * code), so the report shows what the arrangement costs on the run's machine beside what Letter
 * costs (round twenty-six).
 */
import { closeAll } from './clients.js';
import type { BenchConfig } from './config.js';
import type { FloorCluster } from './floor-cluster.js';
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

/** One server's rounds and, per arrangement, the median over them. */
export interface ClusterSeries {
  rounds: ClusterRound[];
  median: Record<Arrangement, { p99: number; cpuMicrosPerDelivery: number }>;
}

/** Letter's series, and the cluster floor's from the same rounds when it ran. */
export interface ClusterResult extends ClusterSeries {
  floor?: ClusterSeries;
  /** Why the floor did not run (Letter's rounds ran all the same). */
  floorError?: string;
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** One server's three arrangements, connected: what a round runs. */
interface System {
  one: { target: Target; pids: () => number[]; pairs: Pairs };
  two: { target: Target; pids: () => number[] };
  across: Pairs;
  local: Pairs;
  /** Letter answers `ok`s the generator times; the floor's answers are not counted. */
  acks: boolean;
}

/** A finished run of an arrangement: an unrecorded warm-up first, CPU over the recorded run. */
async function runArrangement(
  target: Target,
  pids: number[],
  pairs: Pairs,
  config: BenchConfig,
  warmupMs: number,
  acks: boolean,
): Promise<ClusterRun> {
  const rate = config.clusterRate;
  if (warmupMs > 0) await measureFixedAt(target, pairs, config, rate, warmupMs, acks);
  const cpu = () => pids.reduce((sum, pid) => sum + processCpuMicros(pid), 0);
  const before = cpu();
  const load = await measureFixedAt(target, pairs, config, rate, config.clusterMs, acks);
  const micros = cpu() - before;
  return { load, cpuMicrosPerDelivery: load.delivered > 0 ? micros / load.delivered : NaN };
}

async function runRound(system: System, config: BenchConfig, warmupMs: number) {
  const { one, two, acks } = system;
  return {
    one: await runArrangement(one.target, one.pids(), one.pairs, config, warmupMs, acks),
    across: await runArrangement(two.target, two.pids(), system.across, config, warmupMs, acks),
    local: await runArrangement(two.target, two.pids(), system.local, config, warmupMs, acks),
  };
}

function series(rounds: ClusterRound[]): ClusterSeries {
  const summary = (a: Arrangement) => ({
    p99: median(rounds.map((r) => r[a].load.latency.p99)),
    cpuMicrosPerDelivery: median(rounds.map((r) => r[a].cpuMicrosPerDelivery)),
  });
  return {
    rounds,
    median: { one: summary('one'), across: summary('across'), local: summary('local') },
  };
}

/**
 * `across`: the cluster's pairs over users 0 … 2·pairs − 1 (each pair on both nodes), already
 * connected. Users 2·pairs … 4·pairs − 1 (registered by the caller) become the local pairs.
 * With `floor`, its nodes are started here, placed alike, and run right after Letter's each round.
 */
export async function measureCluster(
  cluster: LetterClusterTarget,
  across: Pairs,
  config: BenchConfig,
  log: (line: string) => void,
  floor?: FloorCluster,
): Promise<ClusterResult> {
  const single = cluster.singleNode();
  const firstLocal = 2 * config.pairs;
  const connected: Pairs[] = [];
  const connect = async (target: Target, first = 0) => {
    const pairs = await connectPairs(target, config, first);
    connected.push(pairs);
    return pairs;
  };
  try {
    await single.start();
    await single.ensureUsers(2 * config.pairs);
    const alone = await connect(single);
    cluster.pairsOnOneNodeFrom = firstLocal;
    const systems: System[] = [
      {
        one: { target: single, pids: () => [single.pid], pairs: alone },
        two: { target: cluster, pids: () => cluster.pids },
        across,
        local: await connect(cluster, firstLocal),
        acks: true,
      },
    ];
    let floorError: string | undefined;
    if (floor) {
      try {
        await floor.start();
        const floorAcross = await connect(floor.two);
        floor.two.pairsOnOneNodeFrom = firstLocal;
        systems.push({
          one: {
            target: floor.single,
            pids: () => [floor.single.pid],
            pairs: await connect(floor.single),
          },
          two: { target: floor.two, pids: () => floor.two.pids },
          across: floorAcross,
          local: await connect(floor.two, firstLocal),
          acks: false,
        });
      } catch (err) {
        // A baseline that cannot start must not cost the row Letter's own figures.
        floorError = (err as Error).message;
        log(`(h) the cluster floor did not start: ${floorError}`);
      }
    }
    const rounds: ClusterRound[][] = systems.map(() => []);
    for (let i = 0; i < config.clusterRounds; i++) {
      // The first round warms all three up; later ones only settle after the previous run.
      const warmupMs = i === 0 ? config.clusterWarmupMs : config.clusterRoundWarmupMs;
      log(`(h) round ${i + 1} of ${config.clusterRounds}`);
      for (const [k, system] of systems.entries())
        rounds[k]!.push(await runRound(system, config, warmupMs));
    }
    const [letter, floorRounds] = rounds as [ClusterRound[], ClusterRound[] | undefined];
    return {
      ...series(letter),
      ...(floorRounds ? { floor: series(floorRounds) } : {}),
      ...(floorError ? { floorError } : {}),
    };
  } finally {
    cluster.pairsOnOneNodeFrom = Number.POSITIVE_INFINITY;
    for (const pairs of connected) await closeAll(pairs.clients);
    await single.stop();
    await single.dispose();
    if (floor) {
      await floor.stop();
      await floor.dispose();
    }
  }
}
