/**
 * What a wake-up costs on this machine: CPU per unit of fixed work (three JSON round trips of
 * a 50-object array) in a process on core 0, each unit triggered by a UDP datagram from this
 * process on core 1, at several rates. At a low rate the core halts between units; on a
 * virtual machine every halt is an exit to the host, and the unit after it runs on cold
 * caches. `--spin` also runs a SCHED_IDLE busy loop on core 0 (via `chrt --idle 0`), which
 * keeps the core from halting and yields to anything else at once: the difference between the
 * two runs is the price of halting (docs/performance.md, round ten).
 *
 *   taskset -c 1 node packages/bench/wake-cost.mjs [--spin]
 */
import { execFileSync, fork, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { cpuUsage } from 'node:process';

const START = 0x53; // 'S': reset the counters
const END = 0x45; // 'E' + port: answer {units, micros per unit} to that port

if (process.argv[2] === 'worker') {
  const socket = dgram.createSocket('udp4');
  const work = {
    a: Array.from({ length: 50 }, (_, i) => ({ id: `x${i}`, n: i, s: `hello world ${i}` })),
  };
  let units = 0;
  let since = cpuUsage();
  socket.on('message', (m) => {
    if (m[0] === START) {
      since = cpuUsage();
      units = 0;
    } else if (m[0] === END) {
      const used = cpuUsage(since);
      const answer = JSON.stringify({ units, micros: (used.user + used.system) / units });
      socket.send(answer, Number(m.subarray(1).toString()), '127.0.0.1');
    } else {
      for (let i = 0; i < 3; i++) JSON.parse(JSON.stringify(work));
      units++;
    }
  });
  socket.bind(0, '127.0.0.1', () => process.send(socket.address().port));
} else {
  const spinner = process.argv.includes('--spin')
    ? spawn('chrt', ['--idle', '0', 'taskset', '-c', '0', 'sh', '-c', 'while :; do :; done'], {
        stdio: 'ignore',
      })
    : undefined;
  const child = fork(process.argv[1], ['worker']);
  execFileSync('taskset', ['-pc', '0', String(child.pid)], { stdio: 'ignore' });
  const port = await new Promise((resolve) => child.once('message', resolve));
  const socket = dgram.createSocket('udp4');
  await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const send = (bytes) => socket.send(bytes, port, '127.0.0.1');
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  /** `rate` units a second for `seconds`; the worker's CPU per unit. */
  const run = async (rate, seconds) => {
    send(Buffer.from([START]));
    await sleep(50);
    const started = performance.now();
    let sent = 0;
    while (performance.now() - started < seconds * 1000) {
      const due = Math.floor(((performance.now() - started) / 1000) * rate);
      for (; sent < due; sent++) send(Buffer.from('x'));
      await sleep(1);
    }
    await sleep(100);
    const answer = new Promise((resolve) =>
      socket.once('message', (m) => resolve(JSON.parse(m.toString()))),
    );
    send(Buffer.from(`E${socket.address().port}`));
    return answer;
  };
  await run(2000, 3); // warm up: the worker's code optimized
  for (const rate of [100, 250, 1000, 4000, 250, 4000]) {
    const { units, micros } = await run(rate, 4);
    console.log(`${rate}/s: ${units} units, ${micros.toFixed(1)} µs of CPU each`);
  }
  child.kill();
  spinner?.kill();
  process.exit(0);
}
