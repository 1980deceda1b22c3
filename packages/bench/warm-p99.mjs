/**
 * Is a server that has been pushed to its limit slower afterwards than a fresh one? The p99 and
 * the CPU per message at a fixed rate, on one server, in turn: fresh; after the `sqlite-max`
 * row's throughput search (as the bench runs `p99-5000` after it); after its clients reconnect
 * (new sockets, same process); after it idles; and after a restart on the same database (what
 * is left then is the database's size, not the process's state). Run it on the other core:
 *
 *   taskset -c 1 node packages/bench/warm-p99.mjs [rate=5000] [seconds=8] [rounds=2] [idle=5]
 *
 * The server's own environment passes through (LETTER_SQLITE_WRITER, LETTER_NODE_FLAGS: e.g.
 * `--single-threaded-gc --v8-pool-size=1 --trace-gc-nvp` puts each GC in /tmp/letter.log, and
 * the `MARK` lines printed here say which phase each belongs to). Round twenty-four of
 * docs/performance.md found with it what made the server slower after a search.
 */
import { LetterTarget } from './dist/targets.js';
import { connectPairs, measureFixed, measureThroughput } from './dist/scenarios.js';
import { killAll } from './dist/proc.js';
import { fullConfig } from './dist/config.js';

process.on('exit', killAll);
const [rate = '5000', seconds = '8', rounds = '2', idle = '5'] = process.argv.slice(2);
const config = {
  ...fullConfig,
  fixedRate: Number(rate),
  fixedMs: Number(seconds) * 1000,
  drainMs: 2000,
};
const target = new LetterTarget({ repoRoot: '.', workDir: '/tmp', serverCore: 0 });
const mark = (what) => console.log(`MARK ${Date.now()} ${what}`);
const warmUp = () => measureFixed(target, pairs, { ...config, fixedMs: 3000 });

await target.start();
await target.ensureUsers(2 * config.pairs);
let pairs = await connectPairs(target, config);
await warmUp();

async function phase(label) {
  const p99s = [];
  for (let i = 0; i < Number(rounds); i++) {
    mark(`${label} ${i}`);
    const r = await measureFixed(target, pairs, config);
    const cpu = (r.serverCpu * 1e6) / r.deliveredPerSec;
    p99s.push(r.latency.p99);
    console.log(
      `${label} ${i}: p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, ${cpu.toFixed(1)} µs/msg, lost ${r.lost}`,
    );
  }
  return p99s;
}

const results = { fresh: await phase('fresh') };
mark('search');
const search = await measureThroughput(target, pairs, config);
const steps = search.steps.map((s) => `${s.rate}${s.pass ? '' : ' ✗'}`).join(', ');
console.log(`search: max ${search.maxPerSec} msg/s; ${steps}`);
results['after the search'] = await phase('after-search');

for (const c of pairs.clients) c.close();
mark('reconnect');
pairs = await connectPairs(target, config);
await warmUp();
results['reconnected'] = await phase('reconnected');

mark('idle');
await new Promise((resolve) => setTimeout(resolve, Number(idle) * 1000));
results['after idling'] = await phase('after-idle');

for (const c of pairs.clients) c.close();
await target.stop();
await target.start();
mark('restarted');
await target.renewStale(0, target.users.length);
pairs = await connectPairs(target, config);
await warmUp();
results['restarted'] = await phase('restarted');

for (const [label, p99s] of Object.entries(results)) {
  console.log(`${label}: p99 ${p99s.map((p) => p.toFixed(1)).join(', ')} ms`);
}
for (const c of pairs.clients) c.close();
await target.stop();
await target.dispose();
process.exit(0);
