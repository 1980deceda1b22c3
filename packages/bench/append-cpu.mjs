/**
 * CPU per 1:1 append through the SQLite store's worker (docs/performance.md, "Round two: the
 * SQLite append path"): 100 direct conversations, their two members taking turns, `inFlight`
 * appends outstanding at any time (each answer sends the next). Reports the process's CPU time
 * (all threads: the main thread's posting and the worker's SQLite work, fsyncs included, and the
 * message's JSON for its frames) per append, which a busy machine inflates far less than wall-clock rates.
 * Run after `npx tsc -b`: node packages/bench/append-cpu.mjs [appends] [inFlight ...]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../server/dist/store/sqlite/worker-store.js';
import { messageJson } from '../server/dist/hub/hub.js';
import { pairMessage, seedPairs } from './append-pairs.mjs';

const total = Number(process.argv[2] ?? 40_000);
const windows = process.argv.slice(3).map(Number);

async function run(inFlight) {
  const dir = mkdtempSync(join(tmpdir(), 'letter-append-cpu-'));
  const store = await openSqliteStore({ file: join(dir, 'bench.db') });
  const pairs = await seedPairs(store);
  let next = 0;
  const send = (n) => store.appendMessage(pairMessage(pairs, n, `m${inFlight}_${n}`));
  const measure = async (count) => {
    const cpu = process.cpuUsage();
    const started = performance.now();
    const stop = next + count;
    // Each answer's message is serialized as the frames that carry it would be (messageJson).
    const lane = async () => {
      while (next < stop) messageJson((await send(next++)).message);
    };
    await Promise.all(Array.from({ length: inFlight }, lane));
    const used = process.cpuUsage(cpu);
    return {
      ms: performance.now() - started,
      user: used.user / count,
      system: used.system / count,
    };
  };
  await measure(Math.min(5000, total / 4)); // warm-up: JIT, caches
  const result = await measure(total);
  const stats = store.stats();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  const cpu = result.user + result.system;
  console.log(
    `in flight ${inFlight}: ${cpu.toFixed(1)} µs CPU/append (${result.user.toFixed(1)} user + ${result.system.toFixed(1)} sys), ` +
      `${Math.round((total / result.ms) * 1000)} appends/s, ${(stats.requests / stats.transactions).toFixed(1)} requests/commit`,
  );
}

for (const inFlight of windows.length > 0 ? windows : [20, 200]) await run(inFlight);
