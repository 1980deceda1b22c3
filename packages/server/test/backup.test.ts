/**
 * `npm run backup` / `npm run restore` as README tells an operator to run them, against a real
 * server process: the backup runs while sends keep being acknowledged; the restored data dir
 * holds every message acknowledged before the backup began, passes integrity_check, and keeps
 * the JWT secret (a token issued before the backup works on the restored server).
 * Run `npx tsc -b` first: the server and the scripts run compiled code.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import {
  TestSocket,
  api,
  directConversation,
  register,
  type TestUser,
} from '../src/testing/harness.js';
import { backupDataDir } from '../src/ops/backup.js';
import { latestVersion } from '../src/store/sqlite/migrations.js';
import { cleanUp, scratchDir, startChild } from './child.js';

afterAll(cleanUp);

const root = fileURLToPath(new URL('../../../', import.meta.url));

interface Run {
  code: number | null;
  output: string;
}

/** `npm run <script> -- args` in the repository, with only the given LETTER_* variables. */
function npmRun(script: string, args: string[], env: Record<string, string>): Promise<Run> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('LETTER_')),
  );
  const child = spawn('npm', ['run', '--silent', script, '--', ...args], {
    cwd: root,
    env: { ...inherited, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, output })));
}

async function history(
  server: { url: string },
  user: TestUser,
  conversationId: string,
): Promise<string[]> {
  const ids: string[] = [];
  for (let after = 0; ;) {
    const page = await api(
      server,
      'GET',
      `/api/conversations/${conversationId}/messages?after=${after}&limit=200`,
      user.accessToken,
    );
    expect(page.status).toBe(200);
    const messages = page.body.messages as { seq: number; clientMsgId: string }[];
    ids.push(...messages.map((m) => m.clientMsgId));
    after = messages.at(-1)?.seq ?? after;
    if (!page.body.hasMore) return ids;
  }
}

describe('npm run backup / restore', () => {
  it('snapshots a serving Letter; the restore has every acknowledged message and the same secret', async () => {
    const dataDir = scratchDir('letter-backup-live-');
    // No LETTER_JWT_SECRET: the secret is the data dir's own file, which the backup must carry.
    const server = await startChild(dataDir, { LETTER_JWT_SECRET: '' });
    const alice = await register(server, 'bk_alice');
    const bob = await register(server, 'bk_bob');
    const conversationId = await directConversation(server, alice, bob);
    const socket = await TestSocket.connect(server, alice.accessToken);

    const acked: string[] = [];
    const failures: unknown[] = [];
    let sending = true;
    let n = 0;
    const sender = async (): Promise<void> => {
      while (sending) {
        const clientMsgId = `bk_${++n}`;
        const answer = await socket.request({
          type: 'send',
          conversationId,
          clientMsgId,
          body: `message ${n} ${'x'.repeat(200)}`,
        });
        if (answer.type === 'ok') acked.push(clientMsgId);
        else failures.push(answer);
      }
    };
    const senders = [sender(), sender(), sender(), sender()];
    while (acked.length < 300) await new Promise((resolve) => setTimeout(resolve, 20));

    const out = join(scratchDir('letter-backup-out-'), 'letter.tar.gz');
    const ackedBefore = [...acked];
    const backup = await npmRun('backup', ['--out', out], { LETTER_DATA_DIR: dataDir });
    const ackedDuring = acked.length - ackedBefore.length;
    sending = false;
    await Promise.all(senders);
    expect(backup.output).toMatch(/^backup: wrote /);
    expect(backup.code).toBe(0);
    expect(failures).toEqual([]);
    // Letter kept acknowledging sends while the backup process ran.
    expect(ackedDuring).toBeGreaterThan(0);
    socket.close();
    await server.stop();

    const restored = join(scratchDir('letter-backup-restored-'), 'data');
    const restore = await npmRun('restore', [out, '--data-dir', restored], {});
    expect(restore.output).toMatch(/^restore: /);
    expect(restore.code).toBe(0);
    expect(readFileSync(join(restored, 'jwt-secret'), 'utf8')).toBe(
      readFileSync(join(dataDir, 'jwt-secret'), 'utf8'),
    );
    const db = new Database(join(restored, 'letter.db'), { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();

    const again = await startChild(restored, { LETTER_JWT_SECRET: '' });
    // alice's access token from before the backup is still valid: the same secret signs.
    const ids = new Set(await history(again, alice, conversationId));
    expect(ackedBefore.filter((id) => !ids.has(id))).toEqual([]);
    const chat = await TestSocket.connect(again, bob.accessToken);
    const answer = await chat.request({
      type: 'send',
      conversationId,
      clientMsgId: 'after-restore',
      body: 'still here',
    });
    expect(answer.type).toBe('ok');
    chat.close();
    await again.stop();
  }, 120_000);

  it('backs up the data dir a killed server left behind, WAL and all', async () => {
    const dataDir = scratchDir('letter-backup-killed-');
    const server = await startChild(dataDir, { LETTER_JWT_SECRET: '' });
    const alice = await register(server, 'bk_killed_a');
    const bob = await register(server, 'bk_killed_b');
    const conversationId = await directConversation(server, alice, bob);
    const socket = await TestSocket.connect(server, alice.accessToken);
    const acked: string[] = [];
    for (let i = 1; i <= 50; i++) {
      const answer = await socket.request({
        type: 'send',
        conversationId,
        clientMsgId: `k${i}`,
        body: `before the crash ${i}`,
      });
      if (answer.type === 'ok') acked.push(`k${i}`);
    }
    socket.close();
    await server.stop('SIGKILL');
    const out = join(scratchDir('letter-backup-out-'), 'killed.tar.gz');
    expect((await npmRun('backup', ['--out', out], { LETTER_DATA_DIR: dataDir })).code).toBe(0);
    const restored = join(scratchDir('letter-backup-restored-'), 'data');
    expect((await npmRun('restore', [out, '--data-dir', restored], {})).code).toBe(0);
    const again = await startChild(restored, { LETTER_JWT_SECRET: '' });
    expect(await history(again, alice, conversationId)).toEqual(acked);
    await again.stop();
  }, 60_000);

  it('restores only into an empty directory, and leaves nothing behind from a bad archive', async () => {
    const dataDir = scratchDir('letter-backup-small-');
    const server = await startChild(dataDir, { LETTER_JWT_SECRET: '' });
    await register(server, 'bk_small');
    const out = join(scratchDir('letter-backup-out-'), 'small.tar.gz');
    expect((await npmRun('backup', ['--out', out], { LETTER_DATA_DIR: dataDir })).code).toBe(0);
    await server.stop();
    // Never overwrites a backup.
    const twice = await npmRun('backup', ['--out', out], { LETTER_DATA_DIR: dataDir });
    expect(twice.code).toBe(1);
    expect(twice.output).toContain('exists already');

    const busy = scratchDir('letter-backup-busy-');
    writeFileSync(join(busy, 'notes.txt'), 'mine');
    const refused = await npmRun('restore', [out, '--data-dir', busy], {});
    expect(refused.code).toBe(1);
    expect(refused.output).toContain('is not empty');
    expect(readdirSync(busy)).toEqual(['notes.txt']);

    const truncated = join(scratchDir('letter-backup-bad-'), 'cut.tar.gz');
    writeFileSync(truncated, readFileSync(out).subarray(0, 600));
    const target = join(scratchDir('letter-backup-empty-'), 'data');
    const bad = await npmRun('restore', [truncated, '--data-dir', target], {});
    expect(bad.code).toBe(1);
    expect(existsSync(target) ? readdirSync(target) : []).toEqual([]);
  }, 60_000);

  it('refuses to restore a database newer than this code', async () => {
    const newer = scratchDir('letter-backup-newer-');
    const db = new Database(join(newer, 'letter.db'));
    // Just enough for a backup: a messages table to count.
    db.exec('CREATE TABLE messages (x)');
    db.pragma(`user_version = ${latestVersion + 1}`);
    db.close();
    const out = join(scratchDir('letter-backup-out-'), 'newer.tar.gz');
    await backupDataDir(newer, out);
    const target = join(scratchDir('letter-backup-target-'), 'data');
    const run = await npmRun('restore', [out, '--data-dir', target], {});
    expect(run.code).toBe(1);
    expect(run.output).toContain(`is newer than this code (${latestVersion})`);
    expect(readdirSync(target)).toEqual([]);
  });

  it('on PostgreSQL says to use pg_dump and exits non-zero', async () => {
    const out = join(scratchDir('letter-backup-pg-'), 'pg.tar.gz');
    const run = await npmRun('backup', ['--out', out], {
      LETTER_DATABASE_URL: 'postgres://letter@127.0.0.1:5432/letter',
    });
    expect(run.code).toBe(2);
    expect(run.output).toContain('pg_dump --format=custom');
    expect(run.output).toContain('pg_restore');
    expect(existsSync(out)).toBe(false);
  });
});
