/**
 * One target, every scenario, in an order that keeps them from disturbing each other:
 * connect rate first (fresh server), then the pairs' runs, then groups; RSS per idle
 * connection last, on a restarted server so earlier garbage is not in its baseline.
 */
import { limits } from '@letter/protocol';
import type { BenchConfig } from './config.js';
import { usersNeeded } from './config.js';
import { closeAll } from './clients.js';
import type { LoadResult } from './load.js';
import {
  connectPairs,
  measureConnect,
  measureFixed,
  measureGroup,
  measureIdle,
  measureStall,
  measureThroughput,
} from './scenarios.js';
import type {
  ConnectResult,
  GroupResult,
  IdleResult,
  Pairs,
  StallResult,
  ThroughputResult,
} from './scenarios.js';
import { measureRawConnect, measureStored } from './scenarios-12.js';
import type { StoredResult } from './scenarios-12.js';
import { measureImageFanout, measureUpload } from './scenarios-13.js';
import { FloorCluster } from './floor-cluster.js';
import { measureCluster } from './scenarios-cluster.js';
import type { ClusterResult } from './scenarios-cluster.js';
import { LetterClusterTarget } from './letter-targets.js';
import type { ImageFanoutResult, UploadResult } from './scenarios-13.js';
import { LetterTarget } from './targets.js';
import type { Target, TargetName } from './targets.js';

export interface TargetResult {
  name: TargetName;
  label: string;
  /** `ok`: every scenario ran; `partial`: some failed (see notes); `not run`: never started. */
  status: 'ok' | 'partial' | 'not run';
  notes: string[];
  setupMs?: number;
  connect?: ConnectResult;
  throughput?: ThroughputResult;
  fixed?: LoadResult;
  /** (b′) Letter only: the recipients answer every message with `delivered` and `read`. */
  receipts?: LoadResult;
  stall?: StallResult;
  groups: GroupResult[];
  /**
   * (f′) Letter only, no target: the largest group again, its members answering as the sdk does
   * (`delivered` and `read`, each at most once every 1–1.5 s, the first after a quiet spell
   * spread over a second: sdk positions.ts), from a silence.
   */
  answering?: GroupResult;
  idle?: IdleResult;
  /** (h) the pairs at `clusterRate`: one node, two nodes across, two nodes each pair local. */
  cluster?: ClusterResult;
  /** (i) 1,000,000 stored messages. */
  stored?: StoredResult;
  /** (j) one large upload: MB/s and the server's RSS growth (issue 13). */
  upload?: UploadResult;
  /** (k) image messages fanned out to a big group, against text ones (issue 13). */
  imageFanout?: ImageFanoutResult;
}

/**
 * Scenario letters of issue 5, (c) measured during (b); (h) and (i) of issue 12. Which target
 * runs which is chosen per row of issue 12 (rows.ts).
 */
export type Scenario = 'a' | 'b' | 'd' | 'e' | 'f' | 'g' | 'h' | 'i' | 'j' | 'k';
export const allScenarios: Scenario[] = ['a', 'b', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k'];

export interface RunContext {
  config: BenchConfig;
  scenarios: Set<Scenario>;
  fileLimit: number;
  log(line: string): void;
}

export function notRun(
  target: Target | { name: TargetName; label: string },
  reason: string,
): TargetResult {
  return { name: target.name, label: target.label, status: 'not run', notes: [reason], groups: [] };
}

export async function runTarget(target: Target, ctx: RunContext): Promise<TargetResult> {
  const { config, log } = ctx;
  const result: TargetResult = {
    name: target.name,
    label: target.label,
    status: 'ok',
    notes: [],
    groups: [],
  };
  const attempt = async <T>(scenario: string, fn: () => Promise<T>): Promise<T | undefined> => {
    log(`${target.label}: ${scenario}`);
    try {
      return await fn();
    } catch (err) {
      result.status = 'partial';
      result.notes.push(`${scenario}: ${(err as Error).message}`);
      log(`${target.label}: ${scenario} failed: ${(err as Error).message}`);
      return undefined;
    }
  };
  const letter = target instanceof LetterTarget ? target : undefined;
  const renew = async (count: number) => {
    if (letter) await letter.renewStale(0, count);
  };
  const want = (s: Scenario) => ctx.scenarios.has(s);
  const users = usersNeeded(config, ctx.scenarios);

  try {
    await target.start();
  } catch (err) {
    return notRun(target, `could not start: ${(err as Error).message}`);
  }
  result.notes.push(...(target.setupNotes ?? []));
  try {
    const setupStarted = performance.now();
    const setup = await attempt(
      `setup (${letter ? `registering ${users} users` : 'no users to register'})`,
      async () => {
        await target.ensureUsers(users);
        return true;
      },
    );
    result.setupMs = Math.round(performance.now() - setupStarted);
    if (!setup) return result;

    if (want('e')) {
      // Raw sockets for Letter and the bare ws baseline alike: the ws client would be the limit
      // (issue 12), and a baseline measured through it is the generator's rate, not ws's.
      result.connect = await attempt('(e) connect + auth rate', () =>
        letter
          ? measureRawConnect(letter, config, users)
          : target.name === 'ws'
            ? measureRawConnect(target, config, users)
            : measureConnect(target, config, users),
      );
    }

    await renew(users);
    const pairs: Pairs | undefined =
      want('a') || want('b') || want('g') || want('h')
        ? await attempt(`connecting ${config.pairs} pairs`, () => connectPairs(target, config))
        : undefined;
    if (pairs) {
      try {
        if (want('a')) {
          result.throughput = await attempt('(a) 1:1 throughput step search', () =>
            measureThroughput(target, pairs, config),
          );
          log(`${target.label}: max ${result.throughput?.maxPerSec ?? 0} msg/s`);
        }
        if (want('b')) {
          result.fixed = await attempt(`(b, c) fixed ${config.fixedRate} msg/s`, () =>
            measureFixed(target, pairs, config),
          );
          if (target.name === 'letter') {
            const at = { ...config, fixedRate: config.receiptsRate, fixedMs: config.receiptsMs };
            result.receipts = await attempt(
              `(b′) ${config.receiptsRate} msg/s answered with delivered + read`,
              () => measureFixed(target, pairs, at, ['delivered', 'read']),
            );
          }
        }
        if (want('h')) {
          // The cluster target starts its own single node to compare with, round by round.
          if (target instanceof LetterClusterTarget) {
            // The cluster floor in the same rounds: what the arrangement costs on this machine.
            result.cluster = await attempt(`(h) fixed ${config.clusterRate} msg/s`, () =>
              measureCluster(target, pairs, config, log, new FloorCluster(target.targetEnv)),
            );
          } else result.notes.push('(h) runs on letter-cluster, which starts its own one node');
        }
        const max = result.throughput?.maxPerSec ?? 0;
        const half = max > 0 ? Math.round(max / 2) : Math.round(config.startRate / 2);
        if (want('g')) {
          if (max === 0)
            result.notes.push(`(g) ran at ${half} msg/s: no passing throughput step to halve`);
          result.stall = await attempt(`(g) event-loop stall at ${half} msg/s`, () =>
            measureStall(target, pairs, config, half),
          );
        }
      } finally {
        await closeAll(pairs.clients);
      }
    }

    for (const members of want('f') ? config.groupSizes : []) {
      await renew(users);
      const group = await attempt(`(f) group fan-out to ${members}`, () =>
        measureGroup(target, config, members),
      );
      if (group) result.groups.push(group);
      if (target.name === 'letter' && members === Math.max(...config.groupSizes)) {
        await renew(users);
        result.answering = await attempt(
          `(f′) group fan-out to ${members}, members answering as the sdk does`,
          () =>
            measureGroup(
              target,
              config,
              members,
              ['delivered', 'read'],
              limits.positionIntervalMs,
              members > limits.receiptEveryoneMax ? limits.positionSpreadMs : 0,
              true,
            ),
        );
      }
    }
    // (j) before (k): its RSS baseline is not a thousand sockets' garbage.
    if (want('j') && letter) {
      await renew(users);
      result.upload = await attempt('(j) one large upload', () => measureUpload(letter, config));
    }
    if (want('k') && letter) {
      await renew(users);
      result.imageFanout = await attempt(`(k) image fan-out to ${config.imageGroupMembers}`, () =>
        measureImageFanout(letter, config),
      );
    }
  } finally {
    await target.stop();
  }

  // (d) on a fresh process: same data dir for Letter, so the users are still there.
  if (want('d')) await idle();
  // (i) last: it fills the database with a million messages and restarts the server.
  if (want('i') && letter) {
    result.stored = await attempt(
      `(i) ${config.storedMessages.toLocaleString('en-US')} stored messages`,
      () => measureStored(letter, config),
    );
  }
  return result;

  async function idle(): Promise<void> {
    const restarted = await attempt('restart for (d)', async () => {
      await target.start();
      return true;
    });
    if (restarted) {
      try {
        await renew(config.idleUsers);
        const idleUsers = letter ? Math.min(config.idleUsers, users) : users;
        result.idle = await attempt('(d) RSS per idle connection', () =>
          measureIdle(target, config, idleUsers, ctx.fileLimit),
        );
      } finally {
        await target.stop();
      }
    }
  }
}
