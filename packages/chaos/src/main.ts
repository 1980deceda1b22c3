/**
 * `npm run chaos` (all scenarios, full length) and `npm run chaos -- --quick` (a few rounds each,
 * for `npm test`). Options: `--only=a,c` picks scenarios, `--out=file.json` writes the results.
 * Prints a table per round and the totals; exits 1 on any lost or duplicated message, seq gap,
 * stuck outbox, integrity failure or server exit we did not cause.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { killAllServers } from './proc.js';
import { scenarios, type Scenario, type Services } from './scenarios.js';
import type { RoundResult } from './world.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args
  .find((a) => a.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');
const out = args.find((a) => a.startsWith('--out='))?.slice('--out='.length);

/** In CI the PostgreSQL and Redis scenarios must run (as the server's suites do). */
function service(variable: string): string | undefined {
  const url = process.env[variable];
  if (url) return url;
  if (process.env.CI) throw new Error(`${variable} must be set in CI: the chaos scenarios need it`);
  return undefined;
}

const services: Services = {
  pgUrl: service('LETTER_TEST_PG_URL'),
  redisUrl: service('LETTER_TEST_REDIS_URL'),
};

const columns = [
  'scenario',
  'round',
  'fault',
  'inflight',
  'acked',
  'lost',
  'dup',
  'gaps',
  'stuck',
  'integrity',
  'exits',
];
const widths = [8, 5, 24, 8, 6, 5, 5, 5, 6, 10, 5];
const row = (cells: (string | number)[]) =>
  cells.map((c, i) => String(c).padEnd(widths[i]!)).join(' ');

const failed = (r: RoundResult) =>
  r.lost + r.duplicated + r.gaps + r.stuck + r.exits > 0 ||
  (r.integrity !== 'ok' && r.integrity !== '-');

interface Summary {
  scenario: string;
  title: string;
  status: 'ran' | 'skipped' | 'error';
  note?: string;
  rounds: RoundResult[];
}

async function main(): Promise<number> {
  const workDir = mkdtempSync(join(tmpdir(), 'letter-chaos-'));
  const runId = `x${randomBytes(3).toString('hex')}`;
  const summaries: Summary[] = [];
  const settings = {
    quick,
    sendIntervalMs: 100,
    maxPending: 50,
    // Longer than the sdk outbox's longest retry wait (30 s, full jitter) plus a request timeout:
    // a message still waiting after that is stuck, not slow.
    convergeTimeoutMs: 60_000,
  };
  console.log(`chaos ${quick ? '(quick)' : '(full)'}: work dir ${workDir}`);
  console.log(row(columns));
  let ok = true;
  const runOne = async (scenario: Scenario): Promise<void> => {
    const summary: Summary = {
      scenario: scenario.id,
      title: scenario.title,
      status: 'ran',
      rounds: [],
    };
    summaries.push(summary);
    const missing = scenario.needs.filter((n) => !services[n]);
    if (missing.length > 0) {
      summary.status = 'skipped';
      summary.note = `needs ${missing.map((m) => (m === 'pgUrl' ? 'LETTER_TEST_PG_URL' : 'LETTER_TEST_REDIS_URL')).join(', ')}`;
      console.log(`${scenario.id}: skipped (${summary.note})`);
      return;
    }
    try {
      await scenario.run({
        settings,
        services,
        workDir,
        runId,
        onRound: (result) => {
          summary.rounds.push(result);
          console.log(
            row([
              result.scenario,
              result.round,
              result.fault,
              result.inFlight,
              result.acked,
              result.lost,
              result.duplicated,
              result.gaps,
              result.stuck,
              result.integrity,
              result.exits,
            ]),
          );
          for (const detail of result.details.slice(0, 10)) console.log(`    ${detail}`);
          if (failed(result)) ok = false;
        },
      });
      if (summary.rounds.length !== scenario.rounds(quick)) throw new Error('rounds missing');
    } catch (error) {
      ok = false;
      summary.status = 'error';
      summary.note = error instanceof Error ? (error.stack ?? error.message) : String(error);
      console.log(`${scenario.id}: ERROR ${summary.note}`);
    }
  };
  const chosen = scenarios.filter((s) => !only || only.includes(s.id));
  // The quick run (inside `npm test`) runs the scenarios side by side to stay short; they share
  // nothing but the machine. The full run takes them one at a time.
  if (quick) await Promise.all(chosen.map(runOne));
  else for (const scenario of chosen) await runOne(scenario);
  summaries.sort((x, y) => x.scenario.localeCompare(y.scenario));

  console.log('\ntotals');
  console.log(
    row([
      'scenario',
      'rounds',
      'status',
      'inflight',
      'acked',
      'lost',
      'dup',
      'gaps',
      'stuck',
      'integrity',
      'exits',
    ]),
  );
  for (const s of summaries) {
    const sum = (pick: (r: RoundResult) => number) => s.rounds.reduce((n, r) => n + pick(r), 0);
    const integrity =
      s.rounds.find((r) => r.integrity !== 'ok' && r.integrity !== '-')?.integrity ??
      (s.rounds.some((r) => r.integrity === 'ok') ? 'ok' : '-');
    console.log(
      row([
        s.scenario,
        s.rounds.length,
        s.status,
        sum((r) => r.inFlight),
        sum((r) => r.acked),
        sum((r) => r.lost),
        sum((r) => r.duplicated),
        sum((r) => r.gaps),
        sum((r) => r.stuck),
        integrity,
        sum((r) => r.exits),
      ]),
    );
  }
  if (out) writeFileSync(out, JSON.stringify({ quick, ok, scenarios: summaries }, null, 2));
  if (ok) rmSync(workDir, { recursive: true, force: true });
  else console.log(`\nFAILED: server logs are in ${workDir}`);
  return ok ? 0 : 1;
}

process.on('SIGINT', () => {
  killAllServers();
  process.exit(130);
});
process.on('exit', killAllServers);

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
