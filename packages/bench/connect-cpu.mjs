/**
 * Server CPU per WebSocket handshake (connect + auth to `ready`) and RSS per idle authenticated
 * connection, for one or more builds interleaved (docs/performance.md, "Handshake and idle
 * connections"). Each build's server runs as the bench runs it (SQLite, core 0 when taskset
 * exists, rate limits off, 100 users); handshakes come from raw sockets (the bench's (e)).
 *
 * Per build and round: `connects` handshakes with 100 in flight, server CPU (utime + stime of all
 * its threads, by thread name, from /proc) per handshake, then the same sockets closed (CPU per
 * close); then, on a fresh server, `idle` sockets held: RSS per connection at each step.
 *
 * Run after `npx tsc -b`:
 *   node packages/bench/connect-cpu.mjs [--connects=N] [--idle=N] [--rounds=N] [--users=N]
 *     [--warmup=N] <root>[=label] …
 * A root is a checkout with built dist/ (e.g. a base extracted with `git archive` into /tmp).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, mkdtempSync, rmSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LetterTarget } from './dist/targets.js';
import { canPin, clockTicks, processRssBytes, sleep } from './dist/proc.js';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const hit = args.find((a) => a.startsWith(`--${name}=`));
  return hit ? Number(hit.split('=')[1]) : fallback;
};
const connects = opt('connects', 4000);
const idle = opt('idle', 19_500);
const rounds = opt('rounds', 2);
/** With --heap=N: heap snapshots of each server before and after N idle sockets (in cwd). */
const heap = opt('heap', 0);
/** Users (one session each) the handshakes cycle through; the full bench run has ~1,000. */
const users = opt('users', 100);
/** Handshakes before the measured ones (JIT, lazy modules); the bench's row makes 20. */
const warmup = opt('warmup', 500);
/** Extra node flags for the servers, e.g. --server-flags='--cpu-prof --cpu-prof-dir=/tmp/p'. */
const serverFlags = (args.find((a) => a.startsWith('--server-flags='))?.slice(15) ?? '')
  .split(' ')
  .filter(Boolean);
class Server extends LetterTarget {
  argv() {
    const [node, ...rest] = super.argv();
    return [node, ...serverFlags, ...rest];
  }
}
const builds = args
  .filter((a) => !a.startsWith('--'))
  .map((a) => {
    const [root, label] = a.split('=');
    return { root, label: label ?? root };
  });

/**
 * CPU µs of the server's threads, grouped by what they are. Node starts them in a fixed order:
 * the main thread, a helper, V8's four platform workers (GC helpers, `gc`), another helper,
 * libuv's pool of four (`pool`), then the SQLite worker thread (`worker`), once the modules are
 * loaded.
 */
function threadCpu(pid) {
  const out = {};
  const tids = readdirSync(`/proc/${pid}/task`)
    .map(Number)
    .sort((a, b) => a - b);
  tids.forEach((tid, index) => {
    let stat;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      return;
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const micros = ((Number(fields[11]) + Number(fields[12])) * 1e6) / clockTicks;
    const key =
      index === 0
        ? 'main'
        : index <= 5 && index >= 2
          ? 'gc'
          : index >= 7 && index <= 10
            ? 'pool'
            : index >= 11
              ? 'worker'
              : 'other';
    out[key] = (out[key] ?? 0) + micros;
  });
  return out;
}
const diff = (a, b) => Object.fromEntries(Object.keys(b).map((k) => [k, b[k] - (a[k] ?? 0)]));
const total = (o) => Object.values(o).reduce((s, v) => s + v, 0);

function rawHandshake(port, token) {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, '127.0.0.1');
    let seen = '';
    socket.setNoDelay(true);
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`closed before ready: ${JSON.stringify(seen)}`)));
    socket.on('data', (chunk) => {
      seen += chunk.toString('latin1');
      if (seen.includes('"type":"ready"')) {
        socket.removeAllListeners('data');
        resolve(socket);
      } else if (/^HTTP\/1\.1 [45]/.test(seen)) {
        socket.destroy();
        reject(new Error(seen.split('\r\n')[0]));
      }
    });
    socket.write(
      `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
        `Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n` +
        `Authorization: Bearer ${token}\r\n\r\n`,
    );
  });
}

/** Milliseconds from writing each upgrade to seeing its `ready`, of the last openMany. */
let latencies = [];

async function openMany(target, from, count, concurrency) {
  const port = Number(new URL(target.baseUrl).port);
  const sockets = [];
  latencies = [];
  let next = from;
  const end = from + count;
  const lane = async () => {
    while (next < end) {
      const i = next++;
      const started = performance.now();
      sockets.push(await rawHandshake(port, target.user(i % users).accessToken));
      latencies.push(performance.now() - started);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return sockets;
}

const quantile = (values, q) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
};

async function closeMany(sockets) {
  await Promise.all(
    sockets.map(
      (s) =>
        new Promise((resolve) => {
          s.once('close', resolve);
          s.destroy();
        }),
    ),
  );
}

async function freshTarget(root) {
  const workDir = mkdtempSync(join(tmpdir(), 'letter-connect-cpu-'));
  const target = new Server({ repoRoot: root, workDir, serverCore: canPin ? 0 : undefined });
  await target.start();
  await target.ensureUsers(users);
  return { target, workDir };
}

async function measureConnects(root) {
  const { target, workDir } = await freshTarget(root);
  try {
    if (warmup > 0) await closeMany(await openMany(target, 0, warmup, 50)); // JIT, lazy modules
    await sleep(500);
    const pid = target.pid;
    const cpu0 = threadCpu(pid);
    const gen0 = process.cpuUsage();
    const started = performance.now();
    const sockets = await openMany(target, 0, connects, 100);
    const ms = performance.now() - started;
    const gen = process.cpuUsage(gen0);
    const p50 = quantile(latencies, 0.5);
    await sleep(200); // GC helpers finishing what the handshakes left
    const cpu1 = threadCpu(pid);
    await closeMany(sockets);
    await sleep(500);
    const cpu2 = threadCpu(pid);
    const open = diff(cpu0, cpu1);
    const per = (v) => (v / connects).toFixed(1);
    return {
      perSec: Math.round(connects / (ms / 1000)),
      generator: (gen.user + gen.system) / 1000 / ms,
      open: per(total(open)),
      threads: Object.entries(open)
        .filter(([, v]) => v > 0)
        .map(([k, v]) => `${k} ${per(v)}`)
        .join(', '),
      close: per(total(diff(cpu1, cpu2))),
      p50,
    };
  } finally {
    await target.stop();
    await target.dispose();
    rmSync(workDir, { recursive: true, force: true });
  }
}

function anonBytes(pid) {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  return Number(/^Anonymous:\s+(\d+) kB/m.exec(text)?.[1] ?? NaN) * 1024;
}

async function settled(pid) {
  let last = processRssBytes(pid);
  for (let waited = 0; waited < 5000; waited += 500) {
    await sleep(500);
    const now = processRssBytes(pid);
    if (Math.abs(now - last) < last * 0.005) return now;
    last = now;
  }
  return last;
}

async function measureIdle(root) {
  const { target, workDir } = await freshTarget(root);
  // As the bench: a restart, so the baseline holds no registration garbage.
  await target.stop();
  await target.start();
  try {
    await closeMany(await openMany(target, 0, 50, 25));
    await sleep(1000);
    const pid = target.pid;
    const base = await settled(pid);
    const baseAnon = anonBytes(pid);
    const sockets = [];
    const points = [];
    for (const count of [Math.min(10_000, idle), idle]) {
      sockets.push(...(await openMany(target, sockets.length, count - sockets.length, 200)));
      const rss = await settled(pid);
      points.push(
        `${count}: ${((rss - base) / count / 1024).toFixed(2)} KiB RSS, ` +
          `${((anonBytes(pid) - baseAnon) / count / 1024).toFixed(2)} KiB anon`,
      );
    }
    await closeMany(sockets);
    return points.join('; ');
  } finally {
    await target.stop();
    await target.dispose();
    rmSync(workDir, { recursive: true, force: true });
  }
}

async function snapshot(pid, dir) {
  const before = new Set(readdirSync(dir));
  process.kill(pid, 'SIGUSR2');
  for (;;) {
    await sleep(500);
    const made = readdirSync(dir).find((f) => !before.has(f) && f.endsWith('.heapsnapshot'));
    if (!made) continue;
    // Written in pieces: done once it ends as a snapshot's JSON does.
    const file = join(dir, made);
    while (!readFileSync(file).subarray(-2).equals(Buffer.from(']}'))) await sleep(500);
    return join(dir, made);
  }
}

async function heapSnapshots(root, label) {
  const { target, workDir } = await freshTarget(root);
  await target.stop();
  await target.start();
  try {
    await closeMany(await openMany(target, 0, 50, 25));
    await sleep(1000);
    const before = await snapshot(target.pid, process.cwd());
    const sockets = await openMany(target, 0, heap, 100);
    await sleep(1000);
    const after = await snapshot(target.pid, process.cwd());
    console.log(`${label} heap: ${before} ${after} (${sockets.length} sockets)`);
    await closeMany(sockets);
  } finally {
    await target.stop();
    await target.dispose();
    rmSync(workDir, { recursive: true, force: true });
  }
}

if (heap > 0) {
  serverFlags.push('--heapsnapshot-signal=SIGUSR2');
  for (const { root, label } of builds) await heapSnapshots(root, label);
}

for (let round = 0; round < rounds; round++) {
  for (const { root, label } of builds) {
    if (connects > 0) {
      const c = await measureConnects(root);
      console.log(
        `${label} connect: ${c.open} µs server CPU/handshake (${c.threads}); close ${c.close} µs; ` +
          `${c.perSec}/s (p50 ${c.p50.toFixed(1)} ms with 100 in flight), ` +
          `generator ${(c.generator * 100).toFixed(0)}% of a core`,
      );
    }
    if (idle > 0) console.log(`${label} idle: ${await measureIdle(root)}`);
  }
}
