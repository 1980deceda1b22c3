/**
 * The open-loop load engine. Message i of a run is *intended* at t0 + i/rate, whatever
 * happened to earlier messages; latency is measured from that intended time, not from when
 * the generator got round to sending it. A stalled server therefore shows its stall in the
 * latencies of every message that should have gone out meanwhile (no coordinated omission).
 *
 * Every run is bounded: a fixed count of messages (rate × duration), a drain deadline, and
 * an early stop when the backlog shows the server cannot keep up.
 */
import * as hdr from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';
import { makeTag, parseTag } from './clients.js';
import type { BenchClient, Hooks, Tag } from './clients.js';
import type { Route } from './targets.js';
import { machineBusyMicros, processCpuMicros, processCpuSplitMicros } from './proc.js';

export interface Sender {
  client: BenchClient;
  route: Route;
}

export interface LoadSpec {
  /** Messages per second, spread round-robin over `senders`. */
  rate: number;
  durationMs: number;
  senders: Sender[];
  /** The shared hooks object every client of this run was connected with. */
  hooks: Hooks;
  serverPid: number;
  /**
   * After the last send, wait for deliveries until none has arrived for this long (a slow
   * server is not a lossy one); `DRAIN_CAP_MS` bounds the wait in any case.
   */
  drainMs: number;
  /** Stop sending when this many seconds' worth of deliveries are outstanding. */
  maxBacklogSeconds: number;
  /** Letter answers each send with an ok; count and time those too. */
  expectAcks: boolean;
  /**
   * Letter only: the positions a recipient reports for each message it receives, as the sdk does
   * (`delivered` on arrival, `read` with the chat open), one frame each. The bench's rows send
   * none; `loop-cpu.mjs` can (LOOP_CPU_POSITIONS), to measure traffic shaped like a real client's.
   */
  positions?: readonly PositionKind[];
  /**
   * With `positions`: a client reports at most once in this many ms, up to half as long again at
   * random (its first message after the interval, with the seq it carries), as the sdk reports a
   * busy conversation (0: every message).
   */
  positionsEveryMs?: number;
  /**
   * With `positionsEveryMs`: a report that would go out at once waits at random up to this many
   * ms, as the sdk's does in a group of more than `limits.receiptEveryoneMax` members (its
   * interval starts when it goes out).
   */
  positionsSpreadMs?: number;
}

export type PositionKind = 'delivered' | 'read';

/** Latency summary in milliseconds. */
export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

export interface LoadResult {
  rate: number;
  durationMs: number;
  sent: number;
  expectedDeliveries: number;
  delivered: number;
  lost: number;
  duplicates: number;
  errors: number;
  firstErrors: string[];
  /** Deliveries per second over the sending window. */
  deliveredPerSec: number;
  latency: LatencySummary;
  /** Time until the last recipient of a message had it (equals `latency` for 1:1). */
  completion: LatencySummary;
  ack: LatencySummary | undefined;
  /** Share of one core the generator used while sending (1 = a whole core). */
  generatorCpu: number;
  serverCpu: number;
  /** Cores' worth of CPU used by everything else on the machine while sending. */
  otherCpu: number;
  /** Server CPU µs (utime+stime, all threads) per delivered message, sending + drain. */
  serverCpuMicrosPerDelivery: number;
  /** Of it, in the kernel (stime): system calls (socket writes, fsync) and their interrupts. */
  serverSysMicrosPerDelivery: number;
  aborted: string | undefined;
  /** Deliveries of this run that arrived after the drain gave up (they are in `lost`). */
  late: number;
  /** The generator itself fell behind its schedule by more than 100 ms at some point. */
  generatorLagMs: number;
  /** With `positions`: position frames sent, and `receipt` events heard back by the senders. */
  positionsSent: number;
  receiptsHeard: number;
}

let runCounter = 0;
/** When each client may report positions again (`positionsEveryMs`): kept across runs, as a client keeps it. */
const nextReport = new WeakMap<BenchClient, number>();
const DRAIN_CAP_MS = 30_000;
const PAD_TO = 64;

function histogram(): Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 120e6,
    numberOfSignificantValueDigits: 3,
  });
}

export function summarize(h: Histogram): LatencySummary {
  const ms = (us: number) => Math.round(us) / 1000;
  return {
    count: h.totalCount,
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)),
    p999: ms(h.getValueAtPercentile(99.9)),
    max: ms(h.maxValue),
  };
}

const PAD = 'x'.repeat(PAD_TO);

/** A body that looks like a short chat message and starts with the tag. */
function bodyFor(tag: string): string {
  return tag.length >= PAD_TO ? tag : tag + PAD.slice(tag.length);
}

export async function runOpenLoop(spec: LoadSpec): Promise<LoadResult> {
  const run = ++runCounter;
  const total = Math.max(1, Math.round((spec.rate * spec.durationMs) / 1000));
  const interval = 1000 / spec.rate;
  const recipientsPerMessage = spec.senders.map((s) => s.route.recipients);
  const remaining = new Int32Array(total);
  const delivery = histogram();
  const completion = histogram();
  const ack = histogram();
  let sent = 0;
  let expected = 0;
  let delivered = 0;
  let acked = 0;
  let duplicates = 0;
  let errors = 0;
  let generatorLagMs = 0;
  let lastProgress = performance.now();
  const firstErrors: string[] = [];
  const tag: Tag = { run: 0, seq: 0, intendedMicros: 0 };

  const positions = spec.positions ?? [];
  let positionsSent = 0;
  const every = spec.positionsEveryMs ?? 0;
  const spread = spec.positionsSpreadMs ?? 0;
  /** When the client reports this message: ms from now, or null for not at all. */
  const due = (client: BenchClient, nowMs: number): number | null => {
    if (every === 0) return 0;
    if (nowMs < (nextReport.get(client) ?? -Infinity)) return null;
    const wait = Math.random() * spread;
    // Up to half as long again at random, as the sdk's interval (positions.ts).
    nextReport.set(client, nowMs + wait + every * (1 + Math.random() / 2));
    return wait;
  };
  let receiptsHeard = 0;
  spec.hooks.onReceipt = () => receiptsHeard++;
  spec.hooks.onDelivery = (data, client) => {
    const nowMicros = performance.now() * 1000;
    if (!parseTag(data, tag) || tag.run !== run || tag.seq >= total) return;
    const wait = client && positions.length > 0 ? due(client, nowMicros / 1000) : null;
    if (wait !== null) {
      const frames = positionFrames(data, positions);
      const report = () => {
        for (const frame of frames) client!.sendText(frame);
        positionsSent += frames.length;
      };
      if (wait === 0) report();
      else setTimeout(report, wait);
    }
    const left = --remaining[tag.seq]!;
    if (left < 0) {
      duplicates++;
      remaining[tag.seq] = 0;
      return;
    }
    delivered++;
    lastProgress = nowMicros / 1000;
    const latency = Math.max(1, Math.round(nowMicros - tag.intendedMicros));
    delivery.recordValue(latency);
    if (left === 0) completion.recordValue(latency);
  };
  spec.hooks.onAck = (data) => {
    const nowMicros = performance.now() * 1000;
    if (!parseTag(data, tag) || tag.run !== run) return;
    acked++;
    lastProgress = nowMicros / 1000;
    ack.recordValue(Math.max(1, Math.round(nowMicros - tag.intendedMicros)));
  };
  spec.hooks.onError = (text) => {
    errors++;
    if (firstErrors.length < 3) firstErrors.push(text.slice(0, 300));
  };

  const cpu0 = process.cpuUsage();
  // One read of /proc for both figures: the total and its kernel part from the same instant.
  const { user: serverUser0, sys: serverSys0 } = processCpuSplitMicros(spec.serverPid);
  const server0 = serverUser0 + serverSys0;
  const machine0 = machineBusyMicros();
  // Start a little ahead so the first batch is not already late.
  const t0 = performance.now() + 2;
  let aborted: string | undefined;
  const meanRecipients =
    recipientsPerMessage.reduce((a, b) => a + b, 0) / recipientsPerMessage.length;
  const backlogLimit = Math.max(1000, spec.rate * meanRecipients * spec.maxBacklogSeconds);

  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      const due = Math.min(total, Math.floor((now - t0) / interval) + 1);
      if (due > sent) generatorLagMs = Math.max(generatorLagMs, now - (t0 + sent * interval));
      while (sent < due) {
        const intended = t0 + sent * interval;
        const index = sent % spec.senders.length;
        const sender = spec.senders[index]!;
        const t = makeTag(run, sent, Math.round(intended * 1000));
        remaining[sent] = recipientsPerMessage[index]!;
        expected += recipientsPerMessage[index]!;
        sender.client.sendText(sender.route.frame(t, bodyFor(t)));
        sent++;
      }
      if (expected - delivered > backlogLimit) {
        aborted = `backlog over ${spec.maxBacklogSeconds} s of deliveries`;
      }
      if (sent >= total || aborted) return resolve();
      setTimeout(tick, Math.max(0, t0 + sent * interval - performance.now()));
    };
    tick();
  });

  const sendingMs = performance.now() - t0;
  const cpuSending = process.cpuUsage(cpu0);
  const serverSending = processCpuMicros(spec.serverPid);
  const machineSending = machineBusyMicros();
  const drainCap = performance.now() + DRAIN_CAP_MS;
  lastProgress = Math.max(lastProgress, performance.now());
  while (performance.now() < drainCap && performance.now() - lastProgress < spec.drainMs) {
    if (delivered >= expected && (!spec.expectAcks || acked >= sent)) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  const { user: serverUser1, sys: serverSys1 } = processCpuSplitMicros(spec.serverPid);
  const server1 = serverUser1 + serverSys1;

  const result: LoadResult = {
    rate: spec.rate,
    durationMs: spec.durationMs,
    sent,
    expectedDeliveries: expected,
    delivered,
    lost: expected - delivered,
    duplicates,
    errors,
    firstErrors,
    deliveredPerSec: delivered / ((aborted ? sendingMs : spec.durationMs) / 1000),
    latency: summarize(delivery),
    completion: summarize(completion),
    ack: spec.expectAcks ? summarize(ack) : undefined,
    generatorCpu: (cpuSending.user + cpuSending.system) / 1000 / sendingMs,
    serverCpu: (serverSending - server0) / 1000 / sendingMs,
    otherCpu: Math.max(
      0,
      (machineSending -
        machine0 -
        (serverSending - server0) -
        cpuSending.user -
        cpuSending.system) /
        1000 /
        sendingMs,
    ),
    serverCpuMicrosPerDelivery: delivered > 0 ? (server1 - server0) / delivered : NaN,
    serverSysMicrosPerDelivery: delivered > 0 ? (serverSys1 - serverSys0) / delivered : NaN,
    aborted,
    late: 0,
    generatorLagMs,
    positionsSent,
    receiptsHeard,
  };
  // Keep counting what still arrives for this run until the next run takes the hooks over:
  // a long stall looks like loss to the drain, and the report should say it was not.
  spec.hooks.onDelivery = (data) => {
    if (parseTag(data, tag) && tag.run === run) result.late++;
  };
  spec.hooks.onAck = () => {};
  spec.hooks.onReceipt = () => {};
  for (const h of [delivery, completion, ack]) h.destroy();
  return result;
}

const CONVERSATION_ID = Buffer.from('"conversationId":"');
const SEQ = Buffer.from('"seq":');

/**
 * The recipient's position frames answering a `message` frame, found without parsing it (none
 * when the frame has no conversation id or seq).
 */
function positionFrames(data: Buffer, kinds: readonly PositionKind[]): string[] {
  const idAt = data.indexOf(CONVERSATION_ID);
  const seqAt = data.indexOf(SEQ);
  if (idAt === -1 || seqAt === -1) return [];
  const idStart = idAt + CONVERSATION_ID.length;
  const conversationId = data.toString('latin1', idStart, data.indexOf(0x22 /* " */, idStart));
  let seq = 0;
  for (let i = seqAt + SEQ.length; data[i]! >= 0x30 && data[i]! <= 0x39; i++) {
    seq = seq * 10 + (data[i]! - 0x30);
  }
  return kinds.map(
    (kind) => `{"type":"${kind}","conversationId":"${conversationId}","seq":${seq}}`,
  );
}

/** Waits until the server has been quiet (no stray deliveries) for `quietMs`, bounded. */
export async function quiesce(hooks: Hooks, quietMs: number, maxMs: number): Promise<void> {
  let last = performance.now();
  const start = last;
  const { onDelivery, onAck } = hooks;
  hooks.onDelivery = (data) => {
    last = performance.now();
    onDelivery(data);
  };
  hooks.onAck = (data) => {
    last = performance.now();
    onAck(data);
  };
  while (performance.now() - last < quietMs && performance.now() - start < maxMs) {
    await new Promise((r) => setTimeout(r, 50));
  }
  hooks.onDelivery = onDelivery;
  hooks.onAck = onAck;
}
