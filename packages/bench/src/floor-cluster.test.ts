/**
 * The cluster floor (relays/ws-pg.ts) does what row (h) says it does: every message stored in
 * PostgreSQL, each conversation's seqs without gaps, before its sender is answered and its
 * addressee has it, on the same node or across Redis, with two nodes appending to the same
 * conversations at once (a node that fails an append exits, and the test times out).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchClient, Hooks } from './clients.js';
import { FloorCluster } from './floor-cluster.js';
import type { Target } from './targets.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const pgUrl = process.env.LETTER_TEST_PG_URL;
const redisUrl = process.env.LETTER_TEST_REDIS_URL;

if (!pgUrl || !redisUrl) {
  describe('the cluster floor', () => {
    it.skip('needs LETTER_TEST_PG_URL and LETTER_TEST_REDIS_URL (CI sets both)', () => {});
  });
} else {
  describeFloor(pgUrl, redisUrl);
}

/** A client that keeps every frame it is sent, as text. */
async function client(target: Target, user: number): Promise<{ c: BenchClient; got: string[] }> {
  const got: string[] = [];
  const hooks: Hooks = {
    onDelivery: (data) => got.push(String(data)),
    onAck: () => {},
    onError: (text) => got.push(`error: ${text}`),
  };
  return { c: await target.connect(user, hooks), got };
}

async function until(done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function describeFloor(url: string, redis: string): void {
  describe('the cluster floor (relays/ws-pg.ts on PostgreSQL and Redis)', () => {
    const workDir = mkdtempSync(join(tmpdir(), 'letter-floor-test-'));
    const floor = new FloorCluster({
      repoRoot,
      workDir,
      serverCore: undefined,
      pgUrl: url,
      redisUrl: redis,
    });
    const db = new pg.Client({ connectionString: url });
    const clients: BenchClient[] = [];

    beforeAll(async () => {
      await db.connect();
      await floor.start();
    }, 60_000);

    afterAll(async () => {
      for (const c of clients) c.close();
      await floor.stop();
      await floor.dispose();
      await db.end();
      rmSync(workDir, { recursive: true, force: true });
    });

    /** Each conversation's seqs in the schema: 1 … its last_seq, none missing or twice. */
    async function seqs(schema: string): Promise<Map<string, number[]>> {
      const { rows } = await db.query<{ conversation_id: string; seq: number }>(
        `SELECT conversation_id, seq FROM ${schema}.messages ORDER BY conversation_id, seq`,
      );
      const by = new Map<string, number[]>();
      for (const row of rows)
        by.set(row.conversation_id, [...(by.get(row.conversation_id) ?? []), row.seq]);
      return by;
    }

    it('stores, answers and forwards across the two nodes, both appending to every conversation', async () => {
      const two = floor.two;
      // Pair p is users 2p (node A) and 2p + 1 (node B), as Letter's cluster places a pair across.
      const pairs = 20;
      const count = 50;
      const users = await Promise.all(Array.from({ length: 2 * pairs }, (_, u) => client(two, u)));
      clients.push(...users.map((u) => u.c));
      const routes = await Promise.all(users.map((_, u) => two.direct(u, u ^ 1)));
      for (let i = 0; i < count; i++) {
        // Every user in the same turns: each node's batches lock several conversations' rows
        // while the other node's lock the same ones. (Whether they would deadlock without the
        // ordered locking is a race this test is too short to lose; the bench's load lost it
        // within a minute: docs/performance.md, round twenty-six.)
        users.forEach(({ c }, u) => c.sendText(routes[u]!.frame('', `${u}-${i}`)));
      }
      const heard = (got: string[]) =>
        got
          .filter((t) => t.startsWith('{"from"'))
          .map((t) => JSON.parse(t) as { from: string; body: string });
      const oks = (got: string[]) => got.filter((t) => t.startsWith('{"type":"ok"')).length;
      await until(
        () => users.every(({ got }) => heard(got).length === count && oks(got) === count),
        'every message heard and answered',
      );
      users.forEach(({ got }, u) => {
        const peer = u ^ 1;
        // In the order sent, from the right sender.
        expect(heard(got)).toEqual(
          Array.from({ length: count }, (_, i) => ({ from: `u${peer}`, body: `${peer}-${i}` })),
        );
        expect(got.filter((t) => t.startsWith('error'))).toEqual([]);
      });

      const stored = await seqs(floor.schemas[1]!);
      expect([...stored.keys()].sort()).toEqual(
        Array.from({ length: pairs }, (_, p) => `u${2 * p}|u${2 * p + 1}`).sort(),
      );
      for (const list of stored.values())
        expect(list).toEqual(Array.from({ length: 2 * count }, (_, i) => i + 1));
    }, 60_000);

    it('a single node delivers locally and stores in its own schema', async () => {
      const [a, b] = [await client(floor.single, 2), await client(floor.single, 3)];
      clients.push(a.c, b.c);
      const route = await floor.single.direct(2, 3);
      for (let i = 0; i < 50; i++) a.c.sendText(route.frame('', `s-${i}`));
      await until(() => b.got.filter((t) => t.includes('"body":"s-')).length === 50, 'local');
      const stored = await seqs(floor.schemas[0]!);
      expect(stored.get('u2|u3')).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    }, 30_000);

    it('drops its schemas when disposed', async () => {
      const schemas = [...floor.schemas];
      const other = new FloorCluster({
        repoRoot,
        workDir,
        serverCore: undefined,
        pgUrl: url,
        redisUrl: redis,
      });
      await other.start();
      await other.stop();
      await other.dispose();
      const { rows } = await db.query(`SELECT nspname FROM pg_namespace WHERE nspname = ANY($1)`, [
        other.schemas,
      ]);
      expect(rows).toEqual([]);
      // The suite's own are still there until its afterAll.
      const mine = await db.query(`SELECT nspname FROM pg_namespace WHERE nspname = ANY($1)`, [
        schemas,
      ]);
      expect(mine.rows).toHaveLength(2);
    }, 60_000);
  });
}
