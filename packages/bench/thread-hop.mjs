/**
 * What one round trip between the main thread and a helper thread costs, on the core this runs
 * on: a MessagePort message each way (as the SQLite worker and the WAL syncer use), against
 * Atomics (`notify` one way, `waitAsync` back). The helper does nothing else, so the figures are
 * the hand-off alone. Run it pinned, as the bench's server is: `taskset -c 0 node
 * packages/bench/thread-hop.mjs [round trips]`.
 */
import { Worker } from 'node:worker_threads';

const trips = Number(process.argv[2] ?? 20_000);
const cpuMicros = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

async function timed(run) {
  const wall = performance.now();
  const cpu = cpuMicros();
  await run();
  return { wall: ((performance.now() - wall) * 1000) / trips, cpu: (cpuMicros() - cpu) / trips };
}

async function overPort() {
  const worker = new Worker(
    `const { parentPort } = require('node:worker_threads');
     parentPort.on('message', () => parentPort.postMessage({ type: 'synced', error: null }));`,
    { eval: true },
  );
  await new Promise((resolve) => worker.once('online', resolve));
  const figures = await timed(async () => {
    for (let i = 0; i < trips; i++) {
      await new Promise((resolve) => {
        worker.once('message', resolve);
        worker.postMessage({ type: 'sync' });
      });
    }
  });
  await worker.terminate();
  return figures;
}

async function overAtomics() {
  const shared = new Int32Array(new SharedArrayBuffer(8));
  const worker = new Worker(
    `const { workerData } = require('node:worker_threads');
     const shared = new Int32Array(workerData);
     for (let seen = 0; ; ) {
       Atomics.wait(shared, 0, seen);
       seen = Atomics.load(shared, 0);
       if (seen < 0) break;
       Atomics.store(shared, 1, seen);
       Atomics.notify(shared, 1);
     }`,
    { eval: true, workerData: shared.buffer },
  );
  await new Promise((resolve) => worker.once('online', resolve));
  const figures = await timed(async () => {
    for (let i = 1; i <= trips; i++) {
      Atomics.store(shared, 0, i);
      Atomics.notify(shared, 0, 1);
      const answer = Atomics.waitAsync(shared, 1, i - 1);
      if (answer.async) await answer.value;
    }
  });
  Atomics.store(shared, 0, -1);
  Atomics.notify(shared, 0);
  await worker.terminate();
  return figures;
}

const show = ({ wall, cpu }) => `${wall.toFixed(1)} µs wall, ${cpu.toFixed(1)} µs CPU`;
for (let round = 0; round < 3; round++) {
  const port = await overPort();
  const atomics = await overAtomics();
  console.log(`round ${round}: MessagePort ${show(port)}; Atomics ${show(atomics)} per round trip`);
}
