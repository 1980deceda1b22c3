/** Sizes and durations of every scenario, full and `--quick`. */

export interface BenchConfig {
  quick: boolean;
  /** Authenticated 1:1 pairs chatting in scenarios (a), (b), (c), (g). */
  pairs: number;
  /** Unrecorded run before the step search, so JIT warm-up is not measured. */
  warmupMs: number;
  /** Length of each step of the throughput search (a). */
  stepMs: number;
  startRate: number;
  maxRate: number;
  /** Bisection steps between the last passing and first failing rate. */
  refineSteps: number;
  maxSteps: number;
  /** A step passes with p99 at or below this and nothing lost. */
  p99LimitMs: number;
  /** (b) and (c): the fixed rate and how long. */
  fixedRate: number;
  fixedMs: number;
  /**
   * (b′) Letter only, no target: the pairs at this rate with every recipient answering each
   * message with `delivered` and `read`, as the sdk does with the chat open, so the server also
   * moves positions and sends receipts. The rows' traffic is appends only; this tracks what a
   * real client's adds.
   */
  receiptsRate: number;
  receiptsMs: number;
  /** (g): how long to run at half the max rate, and how often to read the stall gauge. */
  stallMs: number;
  stallScrapeMs: number;
  /** (d): idle connections to hold, in increasing order. */
  idleCounts: number[];
  /** (d): Letter's idle sockets are spread over this many users. */
  idleUsers: number;
  /** (e): handshakes to complete, and how many in flight. */
  connectCount: number;
  /**
   * (e): handshakes made first, with the same concurrency, and reported apart as the cold rate:
   * the row's rate is the server's steady state, not its JIT warming up.
   */
  connectWarmup: number;
  connectConcurrency: number;
  /** (f): group sizes (recipients besides the sender) and the delivery rate to hold. */
  groupSizes: number[];
  groupDeliveriesPerSec: number;
  groupMs: number;
  /** After the last send: how long with no delivery at all before what is missing counts as lost. */
  drainMs: number;
  /** (h): two nodes vs one: the fixed rate and how long. */
  clusterRate: number;
  clusterMs: number;
  /**
   * (h): an unrecorded run at `clusterRate` first, on one node and on two alike: a fresh node
   * compiles its hot paths for seconds (V8's optimizing compiler took 8–20 % of the core in the
   * first ten seconds of load), and the one node had run the step search before while the two
   * started cold.
   */
  clusterWarmupMs: number;
  /**
   * (h): rounds, each one node, then two nodes with pairs across them, then two nodes with each
   * pair on one node, all three servers up together on the server core; the row judges the
   * medians. A single run's p99 at 2,000 msg/s swung from 18 to 150 ms on a shared 2-core
   * machine (PostgreSQL's checkpoints, stalls of the host), more than the row's 2 ms margin.
   */
  clusterRounds: number;
  /** (h): the unrecorded run before each round after the first (the servers are warm by then). */
  clusterRoundWarmupMs: number;
  /** (i): messages stored before the start-up, history and search figures, and samples of each. */
  storedMessages: number;
  storedSamples: number;
  /**
   * (i): untimed page + search pairs between the first timed round (reported as the cold
   * figure) and the timed one: a server fresh from start-up is still compiling its hot paths.
   */
  storedWarmup: number;
  /** (j): the size of the one large upload (issue 13: 200 MB). */
  uploadBytes: number;
  /** (k): members of the group an image goes to, images sent, and the gap between them. */
  imageGroupMembers: number;
  imageMessages: number;
  imageGapMs: number;
}

export const fullConfig: BenchConfig = {
  quick: false,
  pairs: 100,
  warmupMs: 3000,
  stepMs: 5000,
  startRate: 4000,
  maxRate: 256_000,
  refineSteps: 3,
  maxSteps: 14,
  p99LimitMs: 100,
  fixedRate: 5000,
  fixedMs: 10_000,
  receiptsRate: 2000,
  receiptsMs: 10_000,
  stallMs: 60_000,
  stallScrapeMs: 5000,
  idleCounts: [10_000, 19_500],
  idleUsers: 100,
  connectCount: 2000,
  connectConcurrency: 100,
  connectWarmup: 2000,
  // Issue 12: a group of 1,000 members at 20 msg/s.
  groupSizes: [1000],
  groupDeliveriesPerSec: 20_000,
  groupMs: 10_000,
  drainMs: 5000,
  clusterRate: 2000,
  clusterMs: 10_000,
  clusterWarmupMs: 10_000,
  clusterRounds: 3,
  clusterRoundWarmupMs: 3000,
  storedMessages: 1_000_000,
  storedSamples: 1000,
  storedWarmup: 1000,
  uploadBytes: 200 * 1024 * 1024,
  imageGroupMembers: 1000,
  imageMessages: 20,
  imageGapMs: 250,
};

export const quickConfig: BenchConfig = {
  quick: true,
  pairs: 10,
  warmupMs: 300,
  stepMs: 700,
  startRate: 2000,
  maxRate: 64_000,
  refineSteps: 0,
  maxSteps: 2,
  // A smoke test on whatever machine runs `npm test`, often a busy one: only a server that
  // cannot move messages at all should fail to find a rate here.
  p99LimitMs: 1000,
  fixedRate: 5000,
  fixedMs: 1000,
  receiptsRate: 500,
  receiptsMs: 1000,
  stallMs: 1000,
  stallScrapeMs: 500,
  idleCounts: [300],
  idleUsers: 10,
  connectCount: 200,
  connectConcurrency: 50,
  connectWarmup: 20,
  groupSizes: [20],
  groupDeliveriesPerSec: 400,
  groupMs: 1000,
  drainMs: 2000,
  clusterRate: 500,
  clusterMs: 1000,
  clusterWarmupMs: 300,
  clusterRounds: 1,
  clusterRoundWarmupMs: 300,
  storedMessages: 20_000,
  storedSamples: 50,
  storedWarmup: 20,
  uploadBytes: 8 * 1024 * 1024,
  imageGroupMembers: 20,
  imageMessages: 3,
  imageGapMs: 50,
};

/** Letter users the run needs: both ends of every pair, a sender plus the largest group, and
 * the owners of the idle sockets; registered once (argon2 is slow) and reused everywhere. */
export function usersNeeded(config: BenchConfig, scenarios: ReadonlySet<string>): number {
  const has = (s: string) => scenarios.has(s);
  return Math.max(
    2,
    has('a') || has('b') || has('g') ? 2 * config.pairs : 0,
    // (h): the pairs across both nodes, then as many pairs each on one node.
    has('h') ? 4 * config.pairs : 0,
    has('f') ? Math.max(...config.groupSizes) + 1 : 0,
    has('d') ? config.idleUsers : 0,
    has('k') ? config.imageGroupMembers + 1 : 0,
  );
}
