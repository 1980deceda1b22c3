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

    const byName = (name: string) => report.results.find((x) => x.name === name);
    const ran = (name: string) => {
      const r = byName(name);
      expect(r, name).toBeDefined();
      expect(r!.status, `${name}: ${r!.notes.join('; ')}`).toBe('ok');
      return { r: r!, where: `${name}: ${r!.notes.join('; ')}` };
    };
    const letters = letterBuilt ? ['letter'] : [];
    // PostgreSQL and Redis rows run when the test services are there (CI sets them), and
    // otherwise report `not run` with the reason.
    const services = process.env.LETTER_TEST_PG_URL && process.env.LETTER_TEST_REDIS_URL;
    const cluster = letterBuilt && services ? ['letter-pg', 'letter-cluster'] : [];
    for (const name of ['letter-pg', 'letter-cluster'].filter((n) => !cluster.includes(n))) {
      if (letterBuilt) expect(byName(name)?.status, name).toBe('not run');
    }

    // (a) step search: Letter, the ws + SQLite relay and Letter's floor; Letter on PostgreSQL too.
    for (const name of [...letters, 'ws-sqlite', 'letter-floor', ...cluster.slice(0, 1)]) {
      const { r, where } = ran(name);
      expect(r.throughput!.steps.length, where).toBeGreaterThan(0);
      if (r.throughput!.best) expect(r.throughput!.best.lost, where).toBe(0);
    }
    // (b), (c): Letter, bare ws, ws + SQLite, Letter's floor.
    for (const name of [...letters, 'ws', 'ws-sqlite', 'letter-floor']) {
      const { r, where } = ran(name);
      const fixed = r.fixed!;
      expect(fixed.delivered, where).toBeGreaterThan(0);
      expect(fixed.lost, where).toBe(0);
      for (const v of [fixed.latency.p50, fixed.latency.p99, fixed.latency.max]) {
        expect(Number.isFinite(v) && v > 0, where).toBe(true);
      }
      expect(fixed.serverCpuMicrosPerDelivery, where).toBeGreaterThan(0);
      // The kernel's share, a part of it (the cpu row shows it for Letter and the relay).
      expect(fixed.serverSysMicrosPerDelivery, where).toBeGreaterThanOrEqual(0);
      expect(fixed.serverSysMicrosPerDelivery, where).toBeLessThanOrEqual(
        fixed.serverCpuMicrosPerDelivery,
      );
    }
    // (b′): Letter's recipients answered every message with delivered + read, and the senders
    // heard receipts back (a position refused would have come back as an error frame).
    for (const name of letters) {
      const { r, where } = ran(name);
      const receipts = r.receipts!;
      expect(receipts.delivered, where).toBeGreaterThan(0);
      expect(receipts.lost, where).toBe(0);
      expect(receipts.errors, where).toBe(0);
      expect(receipts.positionsSent, where).toBe(2 * receipts.delivered);
      expect(receipts.receiptsHeard, where).toBeGreaterThan(0);
    }
    // (f′): Letter's largest group again, its members answering as the sdk does.
    for (const name of letters) {
      const { r, where } = ran(name);
      const answering = r.answering!.load;
      expect(answering.delivered, where).toBeGreaterThan(0);
      expect(answering.lost, where).toBe(0);
      expect(answering.errors, where).toBe(0);
      expect(answering.positionsSent, where).toBeGreaterThan(0);
      expect(answering.receiptsHeard, where).toBeGreaterThan(0);
    }
    // (d), (e), (f): Letter and bare ws.
    for (const name of [...letters, 'ws']) {
      const { r, where } = ran(name);
      expect(r.connect!.connected, where).toBeGreaterThan(0);
      expect(r.connect!.perSec, where).toBeGreaterThan(0);
      // Raw-socket runs report their warm-up apart, as the cold rate.
      expect(r.connect!.cold?.perSec, where).toBeGreaterThan(0);
      // CPU comes from /proc in 10 ms clock ticks: a quick run's 20 cold handshakes on bare ws
      // can take less than one, so only the figure's presence is checked.
      expect(r.connect!.cold?.serverCpuMicros, where).toBeGreaterThanOrEqual(0);
      expect(r.groups.length, where).toBe(report.config.groupSizes.length);
      for (const g of r.groups) {
        expect(g.load.delivered, where).toBeGreaterThan(0);
        expect(g.load.lost, where).toBe(0);
        expect(Number.isFinite(g.load.completion.p99), where).toBe(true);
      }
      const idle = r.idle!.points[0]!;
      expect(idle.connections, where).toBe(report.config.idleCounts[0]);
      expect(idle.rssBytes, where).toBeGreaterThan(0);
    }
    // (h): one node and two deliver, and nothing goes missing without an error frame (a
    // PostgreSQL timeout on a crowded machine answers `unavailable`; it is never a silent loss).
    // The cluster target runs the rounds itself, its own single node among them.
    for (const name of cluster.filter((n) => n === 'letter-cluster')) {
      const { r, where } = ran(name);
      expect(r.cluster!.rounds.length, where).toBe(report.config.clusterRounds);
      for (const round of r.cluster!.rounds) {
        for (const { load, cpuMicrosPerDelivery } of [round.one, round.across, round.local]) {
          expect(load.delivered, where).toBeGreaterThan(0);
          expect(load.lost, where).toBeLessThanOrEqual(load.errors);
          expect(cpuMicrosPerDelivery, where).toBeGreaterThanOrEqual(0);
        }
      }
      expect(r.cluster!.median.across.p99, where).toBeGreaterThan(0);
      // The cluster floor ran the same rounds; it has no error frames, so nothing may be lost.
      const floor = r.cluster!.floor!;
      expect(floor.rounds.length, where).toBe(report.config.clusterRounds);
      for (const round of floor.rounds) {
        for (const { load } of [round.one, round.across, round.local]) {
          expect(load.delivered, where).toBeGreaterThan(0);
          expect(load.lost, where).toBe(0);
        }
      }
    }
    const clusterRow = report.evaluations.find((e) => e.target.startsWith('two nodes + Redis'))!;
    if (cluster.length > 0) expect(clusterRow.note).toMatch(/cluster floor in the same rounds/);
    // (i): the database filled, Letter started on it, pages and searches timed.
    for (const name of letters) {
      const { r, where } = ran(name);
      const stored = r.stored!;
      expect(stored.messages, where).toBe(report.config.storedMessages);
      expect(stored.startupMs, where).toBeGreaterThan(0);
      expect(stored.history.samples, where).toBe(report.config.storedSamples);
      expect(Number.isFinite(stored.history.p99) && Number.isFinite(stored.search.p99)).toBe(true);
    }
    // (j), (k) of issue 13: the upload streams, the image reaches every member signed for them.
    for (const name of letters) {
      const { r, where } = ran(name);
      expect(r.upload!.bytes, where).toBe(report.config.uploadBytes);
      expect(r.upload!.mbPerSec, where).toBeGreaterThan(0);
      expect(Number.isFinite(r.upload!.rssGrowthBytes), where).toBe(true);
      expect(r.imageFanout!.image.lost, where).toBe(0);
      expect(r.imageFanout!.image.deliveries, where).toBe(
        report.config.imageGroupMembers * report.config.imageMessages,
      );
      expect(r.imageFanout!.signedPerRecipient, where).toBe(true);
    }
    // Every row of issues 12 and 13 reports, and a quick run judges none of them.
    expect(report.evaluations.length).toBe(12);
    const cpuRow = report.evaluations.find((e) => e.target.startsWith('server CPU per message'))!;
    expect(cpuRow.value.match(/in the kernel/g)).toHaveLength(2);
    // Letter's floor is reported beside the two rows it explains, not judged.
    const maxRow = report.evaluations.find((e) => e.target.startsWith('SQLite 1:1 durable max'))!;
    for (const row of [cpuRow, maxRow]) expect(row.note, row.target).toMatch(/Letter's floor \d/);
    for (const e of report.evaluations) expect(e.status, e.target).toBe('n/a');
  });
});
