/**
 * `npm run bench -- --quick` end to end: it runs, every target produces sane numbers, and the
 * report files are written. Never a timing threshold: this machine may be busy with anything.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { Report } from './report.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const outDir = mkdtempSync(join(tmpdir(), 'letter-bench-test-'));
const letterBuilt = existsSync(join(repoRoot, 'packages/server/dist/main.js'));

function runQuick(): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolveRun) => {
    const child = spawn(
      process.execPath,
      [join(repoRoot, 'packages/bench/dist/main.js'), '--quick', `--out=${outDir}`],
      {
        cwd: repoRoot,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += String(chunk)));
    // Bounded: a hung run fails the test instead of hanging the suite.
    const timer = setTimeout(() => child.kill('SIGTERM'), 170_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolveRun({ code, stderr });
    });
  });
}

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe('npm run bench -- --quick', () => {
  it('runs every target and reports sane numbers', { timeout: 200_000 }, async () => {
    // The harness runs from dist; build it (a no-op when `npm test` already did).
    execFileSync(
      process.execPath,
      [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-b', 'packages/bench'],
      {
        cwd: repoRoot,
        stdio: 'inherit',
      },
    );
    const { code, stderr } = await runQuick();
    expect(code, stderr).toBe(0);

    const files = readdirSync(outDir);
    const json = files.find((f) => f.endsWith('.json'));
    expect(json, `report files: ${files.join(', ')}`).toBeDefined();
    expect(files).toContain(json!.replace(/\.json$/, '.md'));
    const report = JSON.parse(readFileSync(join(outDir, json!), 'utf8')) as Report;

    const expected = letterBuilt ? ['letter', 'ws', 'socketio'] : ['ws', 'socketio'];
    for (const name of expected) {
      const r = report.results.find((x) => x.name === name);
      expect(r, name).toBeDefined();
      const where = `${name}: ${r!.notes.join('; ')}`;
      expect(r!.status, where).toBe('ok');

      expect(r!.connect!.connected, where).toBeGreaterThan(0);
      expect(r!.connect!.perSec, where).toBeGreaterThan(0);

      expect(r!.throughput!.maxPerSec, where).toBeGreaterThan(0);
      expect(r!.throughput!.best!.lost, where).toBe(0);

      const fixed = r!.fixed!;
      expect(fixed.delivered, where).toBeGreaterThan(0);
      expect(fixed.lost, where).toBe(0);
      for (const v of [fixed.latency.p50, fixed.latency.p99, fixed.latency.max]) {
        expect(Number.isFinite(v) && v > 0, where).toBe(true);
      }
      expect(fixed.serverCpuMicrosPerDelivery, where).toBeGreaterThan(0);

      for (const g of r!.groups) {
        expect(g.load.delivered, where).toBeGreaterThan(0);
        expect(g.load.lost, where).toBe(0);
        expect(Number.isFinite(g.load.completion.p99), where).toBe(true);
      }
      expect(r!.groups.length, where).toBe(report.config.groupSizes.length);

      expect(r!.stall!.load.lost, where).toBe(0);
      expect(r!.stall!.maxStallMs, where).toBeGreaterThanOrEqual(0);

      const idle = r!.idle!.points[0]!;
      expect(idle.connections, where).toBe(report.config.idleCounts[0]);
      expect(idle.rssBytes, where).toBeGreaterThan(0);
    }
    expect(report.evaluations.length).toBeGreaterThan(0);
  });
});
