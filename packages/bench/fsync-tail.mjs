/**
 * How long this machine's `fdatasync` takes under a write load like a SQLite WAL's, and how
 * often it takes long (docs/performance.md, round eighteen). No SQLite, no Letter: a log file
 * appended 4 KiB page by page and synced `syncs` times a second, optionally with a checkpoint's
 * load beside it (the same pages copied to random places of a database file, which is synced every
 * 100 ms, on a second thread, as Letter's checkpointer does).
 *
 *   taskset -c 0 node packages/bench/fsync-tail.mjs <rounds> <seconds> <pages:syncs[:ckpt]> …
 *
 * Each setting (log pages a second, syncs a second, and the checkpoint's pages a second, or
 * `ckpt` for as many as the log's) runs in turn, `rounds` times, e.g.
 * `… 3 10 1000:400 10800:200:3300 10800:200:ckpt`. (Letter at 5,000 msg/s: its writer thread
 * wrote ~10,800 pages a second, its checkpointer ~3,300, per `/proc/<pid>/task/<tid>/io`.)
 * Prints, per setting and round, the fdatasync's p50 / p99 / p99.9 / max and how many took over
 * 5 ms.
 */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const PAGE = Buffer.alloc(4096, 7);
const sleeper = new Int32Array(new SharedArrayBuffer(4));

if (!isMainThread) {
  // The checkpoint: pages to random places of the database file, synced every 100 ms.
  const { file, pagesPerSecond } = workerData;
  const fd = openSync(file, 'w');
  const span = 50_000;
  let stop = false;
  parentPort.on('message', () => (stop = true));
  const started = performance.now();
  let written = 0;
  while (!stop) {
    const due = Math.floor(((performance.now() - started) / 1000) * pagesPerSecond);
    for (; written < due; written++)
      writeSync(fd, PAGE, 0, PAGE.length, Math.floor(Math.random() * span) * 4096);
    fdatasyncSync(fd);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  closeSync(fd);
  parentPort.postMessage('done');
} else {
  const [rounds = '3', seconds = '10', ...settings] = process.argv.slice(2);
  const dir = mkdtempSync(join(tmpdir(), 'letter-fsync-tail-'));
  const q = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  try {
    for (let round = 0; round < Number(rounds); round++) {
      for (const setting of settings) {
        const [pages, syncs, ckpt] = setting.split(':');
        const ckptPages = ckpt === 'ckpt' ? Number(pages) : Number(ckpt);
        const log = openSync(join(dir, 'log'), 'w');
        const checkpointer =
          ckpt === undefined
            ? null
            : new Worker(new URL(import.meta.url), {
                workerData: { file: join(dir, 'db'), pagesPerSecond: ckptPages },
              });
        const times = [];
        const started = performance.now();
        let written = 0;
        let offset = 0;
        for (let sync = 1; performance.now() - started < Number(seconds) * 1000; sync++) {
          const at = started + (sync * 1000) / Number(syncs);
          // Sleeps without spinning (the checkpoint thread shares the core).
          const wait = at - performance.now();
          if (wait > 0) Atomics.wait(sleeper, 0, 0, wait);
          const due = Math.floor(((performance.now() - started) / 1000) * Number(pages));
          for (; written < due; written++, offset += 4096)
            writeSync(log, PAGE, 0, PAGE.length, offset);
          // A log that restarts, as SQLite's does after a checkpoint: ~4,000 pages.
          if (offset >= 4000 * 4096) offset = 0;
          const before = performance.now();
          fdatasyncSync(log);
          times.push(performance.now() - before);
        }
        if (checkpointer) {
          const done = new Promise((resolve) => checkpointer.once('message', resolve));
          checkpointer.postMessage('stop');
          await done;
          await checkpointer.terminate();
        }
        closeSync(log);
        times.sort((a, b) => a - b);
        const long = times.filter((t) => t > 5).length;
        console.log(
          `${setting} round ${round}: ${times.length} syncs, p50 ${q(times, 0.5).toFixed(2)} p99 ${q(times, 0.99).toFixed(2)} p99.9 ${q(times, 0.999).toFixed(2)} max ${times.at(-1).toFixed(2)} ms, over 5 ms: ${long}`,
        );
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
