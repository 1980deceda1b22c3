/**
 * A group's fan-out with members that answer every message with position frames, as the sdk
 * does (`delivered` on arrival, `read` with the chat open), for one or more builds of Letter in
 * turn: how many `receipt` events the run made, and what the server paid. The bench's (f) row
 * sends appends only. Run it on the generator's core, after `npx tsc -b`:
 *
 *   taskset -c 1 node packages/bench/group-positions.mjs <members> <deliveries/s> <seconds> <kinds>[@ms] <root>[=label] …
 *
 * `kinds`: `delivered`, `read`, `delivered,read`, or `none`; `@1000`: each member reports at most
 * once a second (its first message after the second), as the sdk does, instead of every message;
 * `@1000+500`: and a report that would go out at once waits at random up to 500 ms, as the sdk's
 * does in a group of more than 32 members.
 *
 * GROUP_COLD=1: the measured run starts after a silence longer than the interval, so every
 * member's first report is due at once (the first message after a quiet spell).
 */
import { LetterTarget } from './dist/targets.js';
import { measureGroup } from './dist/scenarios.js';
import { killAll } from './dist/proc.js';
import { fullConfig } from './dist/config.js';

const [members = '200', perSec = '4000', seconds = '10', kinds = 'delivered', ...roots] =
  process.argv.slice(2);
if (roots.length === 0)
  throw new Error('usage: group-positions.mjs members perSec seconds kinds root[=label]…');
process.on('exit', killAll);
const [kindList, timing = '0'] = kinds.split('@');
const [everyMs, spreadMs = '0'] = timing.split('+');
const cold = process.env.GROUP_COLD === '1';
const positions = kindList === 'none' ? [] : kindList.split(',');
const config = {
  ...fullConfig,
  groupDeliveriesPerSec: Number(perSec),
  groupMs: Number(seconds) * 1000,
  drainMs: 3000,
};
for (const spec of roots) {
  const [repoRoot, label = repoRoot] = spec.split('=');
  const target = new LetterTarget({ repoRoot, workDir: '/tmp', serverCore: 0 });
  await target.start();
  await target.ensureUsers(Number(members) + 1);
  try {
    const { load } = await measureGroup(
      target,
      config,
      Number(members),
      positions,
      Number(everyMs),
      Number(spreadMs),
      cold,
    );
    const per = (n) => (n / Math.max(1, load.sent)).toFixed(0);
    console.log(
      `${label}: ${load.sent} messages to ${members} members, delivered ${load.delivered}, lost ${load.lost}, errors ${load.errors}${load.firstErrors[0] ? ` (${load.firstErrors[0].slice(0, 120)})` : ''}, ` +
        `completion p99 ${load.completion.p99} ms, server ${load.serverCpuMicrosPerDelivery.toFixed(1)} µs per delivery, ` +
        `positions sent ${load.positionsSent} (${per(load.positionsSent)} a message), receipts heard ${load.receiptsHeard} (${per(load.receiptsHeard)} a message)${load.aborted ? `, stopped: ${load.aborted}` : ''}`,
    );
  } catch (error) {
    console.log(`${label}: failed: ${error.message}`);
  } finally {
    await target.stop();
    await target.dispose();
  }
}
process.exit(0);
