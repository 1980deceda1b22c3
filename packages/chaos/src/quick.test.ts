/**
 * `npm run chaos -- --quick` end to end inside `npm test`: a few rounds of every scenario
 * (kill -9 on SQLite, PostgreSQL and Redis outages, two nodes with one killed), which must read
 * 0 lost, 0 duplicated, no gaps, nothing stuck, integrity ok and no server exiting by itself.
 * The PostgreSQL/Redis scenarios need LETTER_TEST_PG_URL / LETTER_TEST_REDIS_URL (required in CI).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const outDir = mkdtempSync(join(tmpdir(), 'letter-chaos-test-'));

interface Round {
  acked: number;
  lost: number;
  duplicated: number;
  gaps: number;
  stuck: number;
  integrity: string;
  exits: number;
  details: string[];
}

interface Result {
  ok: boolean;
  scenarios: { scenario: string; status: string; note?: string; rounds: Round[] }[];
}

function runQuick(out: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolveRun) => {
    const child = spawn(
      process.execPath,
      [join(repoRoot, 'packages/chaos/dist/main.js'), '--quick', `--out=${out}`],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += String(chunk)));
    child.stderr.on('data', (chunk: Buffer) => (output += String(chunk)));
    // Bounded: a hung run fails the test instead of hanging the suite (SIGTERM lets it clean up).
    const timer = setTimeout(() => child.kill('SIGINT'), 150_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolveRun({ code, output });
    });
  });
}

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe('npm run chaos -- --quick', () => {
  it(
    'loses nothing, duplicates nothing and never exits by itself',
    { timeout: 180_000 },
    async () => {
      // The suite runs from dist; build it (a no-op when `npm test` already did).
      execFileSync(
        process.execPath,
        [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-b', 'packages/chaos'],
        { cwd: repoRoot, stdio: 'inherit' },
      );
      const out = join(outDir, 'chaos.json');
      const { code, output } = await runQuick(out);
      expect(code, output).toBe(0);
      const result = JSON.parse(readFileSync(out, 'utf8')) as Result;
      expect(result.ok, output).toBe(true);
      const ran = result.scenarios.filter((s) => s.status === 'ran').map((s) => s.scenario);
      const expected = process.env.LETTER_TEST_PG_URL
        ? process.env.LETTER_TEST_REDIS_URL
          ? ['a', 'b', 'c', 'd']
          : ['a', 'b']
        : ['a'];
      expect(ran, output).toEqual(expected);
      for (const scenario of result.scenarios.filter((s) => s.status === 'ran')) {
        expect(scenario.rounds.length, output).toBeGreaterThan(0);
        for (const round of scenario.rounds) {
          expect(round.acked, output).toBeGreaterThan(0);
          expect(round, output).toMatchObject({
            lost: 0,
            duplicated: 0,
            gaps: 0,
            stuck: 0,
            exits: 0,
          });
          expect(['ok', '-'], output).toContain(round.integrity);
        }
      }
      // The SQLite scenario checks the database after every kill.
      const sqlite = result.scenarios.find((s) => s.scenario === 'a')!;
      expect(
        sqlite.rounds.every((r) => r.integrity === 'ok'),
        output,
      ).toBe(true);
    },
  );
});
