/**
 * The append path's plans and the search index's upkeep on PostgreSQL (docs/performance.md,
 * "PostgreSQL appends, round four"): the batch's idempotency probe uses the unique index even in
 * a schema that was never analyzed (autovacuum off), the export still has its index, and the
 * search index's pending list is merged by the store after its batches, not by them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresTestUrl } from '../../testing/services.js';
import {
  adminQuery,
  connectClient,
  openTestPostgresStore,
  type TestPostgresStore,
} from './testing.js';
import { APPEND_BATCH_SQL, CHECK_SQL, READS_SQL } from './append-batch.js';
import { POSITION_BATCH_SQL } from './position-batch.js';
import { createDb, createPool } from './db.js';
import { PendingListMerger } from './pending-list.js';
import { SuiteKit, T0 } from '../suite/helpers.js';
import { RECEIPT_EVERYONE_MAX } from '../shared/rules.js';

const url = postgresTestUrl();

/** The generic plan PostgreSQL caches for a named statement, as EXPLAIN prints it. */
async function genericPlan(schema: string, text: string, values: string[]): Promise<string> {
  const client = await connectClient(url!, schema);
  try {
    await client.query('SET plan_cache_mode = force_generic_plan');
    await client.query(`PREPARE probe AS ${text}`);
    const { rows } = await client.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN EXECUTE probe(${values.join(', ')})`,
    );
    return rows.map((row) => row['QUERY PLAN']).join('\n');
  } finally {
    await client.end();
  }
}

/** Pages the pending list still had (and now has not: the call merges them). */
const mergePending = async (schema: string): Promise<number> =>
  Number(
    (
      await adminQuery<{ pages: string }>(
        url!,
        `SELECT gin_clean_pending_list(to_regclass($1)) AS pages`,
        [`${schema}.messages_search`],
      )
    )[0]!.pages,
  );

if (!url) {
  describe('PostgreSQL append plans and search upkeep', () => {
    it.skip('needs LETTER_TEST_PG_URL (postgres://…): not set, so nothing ran', () => {});
  });
} else {
  describe('PostgreSQL append plans and search upkeep', () => {
    let opened: TestPostgresStore;
    const kit = new SuiteKit();
    beforeAll(async () => {
      opened = await openTestPostgresStore(url);
      kit.store = opened.store;
    });
    afterAll(() => opened.cleanup());

    it('probes clientMsgIds through the unique index in a never-analyzed schema', async () => {
      const plan = await genericPlan(opened.schema, CHECK_SQL, [
        `'{c}'`,
        `'{u}'`,
        `'{k}'`,
        `'{1}'`,
      ]);
      // Through the export index it read all of the sender's messages per append.
      expect(plan).toContain('messages_client_msg_key');
      expect(plan).toContain('Index Cond: ((client_msg_id = i.client) AND (sender_id = i.sender))');
      expect(plan).not.toContain('messages_by_sender');
      // And so as one part of the batch's one read statement.
      const reads = await genericPlan(opened.schema, READS_SQL, [
        `'{c}'`,
        `'{c}'`,
        `'{u}'`,
        `'{k}'`,
        `'{1}'`,
        `'{1}'`,
        `'{f}'`,
      ]);
      expect(reads).toContain(
        'Index Cond: ((client_msg_id = i.client) AND (sender_id = i.sender))',
      );
      expect(reads).not.toContain('messages_by_sender');
      const plain = await genericPlan(opened.schema, APPEND_BATCH_SQL.plainReads, [
        `'{c}'`,
        `'{c}'`,
        `'{u}'`,
        `'{k}'`,
      ]);
      expect(plain).toContain(
        'Index Cond: ((client_msg_id = i.client) AND (sender_id = i.sender))',
      );
      expect(plain).not.toContain('messages_by_sender');
    });

    it('plans every statement of an append or position batch with index probes, even for empty tables', async () => {
      // The append pool plans each statement once per connection (force_generic_plan), when a
      // fresh install's tables are empty; no plan may then scan a whole table for ever after.
      const statements = Object.entries({ ...APPEND_BATCH_SQL, ...POSITION_BATCH_SQL });
      expect(statements.length).toBe(10);
      for (const [name, text] of statements) {
        const count = Math.max(...[...text.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
        const plan = await genericPlan(opened.schema, text, Array<string>(count).fill('NULL'));
        expect(plan, name).toContain('Index');
        expect(plan, name).not.toContain('Seq Scan');
      }
    });

    it('pages the export through its index', async () => {
      const plan = await genericPlan(
        opened.schema,
        `SELECT id FROM messages WHERE sender_id = $1 AND (conversation_id, seq) > ($2, $3)
          AND deleted_at IS NULL ORDER BY conversation_id, seq LIMIT 100`,
        [`'u'`, `'c'`, '0'],
      );
      expect(plan).toContain('messages_by_sender_live');
      expect(plan).not.toContain('Sort');
    });

    it("dates a member's read by their next own message through the export index", async () => {
      // The shape of the receipts subquery (positions.ts): a send writes no position_log entry.
      const plan = await genericPlan(
        opened.schema,
        `SELECT created_at FROM messages WHERE sender_id = $1 AND conversation_id = $2
          AND seq > $3 AND deleted_at IS NULL ORDER BY seq LIMIT 1`,
        [`'u'`, `'c'`, '0'],
      );
      expect(plan).toContain('messages_by_sender_live');
      expect(plan).not.toContain('Sort');
    });

    it("reads a group's recent senders only for a group that uses them (over 32 members)", async () => {
      // Up to RECEIPT_EVERYONE_MAX members every member hears a move (rules.ts looksUpSenders):
      // the batch's window of 64 messages would be read for nothing.
      const [owner, ...others] = await kit.users(RECEIPT_EVERYONE_MAX + 1);
      const small = await kit.group(owner!, others.slice(0, RECEIPT_EVERYONE_MAX - 1));
      const large = await kit.group(owner!, others);
      const [alice, bob] = await kit.users(2);
      const direct = await kit.direct(alice!, bob!);
      for (const conversation of [small, large]) await kit.send(conversation, owner!, 'hi');
      await kit.send(direct, alice!, 'hi');
      const conversations = [small, large, direct].sort();
      const rows = await adminQuery<{ conversation_id: string }>(
        url,
        POSITION_BATCH_SQL.positionRecentSenders,
        [conversations, conversations.map(() => 100)],
        opened.schema,
      );
      expect(new Set(rows.map((row) => row.conversation_id))).toEqual(new Set([large]));
    });

    it('merges the pending list once enough appends were told, one merge at a time', async () => {
      const [alice, bob] = await kit.users(2);
      const direct = await kit.direct(alice!, bob!);
      await Promise.all(
        Array.from({ length: 40 }, (_, i) => kit.send(direct, alice!, `upkeep word${i}`, T0)),
      );
      const pool = createPool({ url, schema: opened.schema });
      const merger = new PendingListMerger(createDb(pool), 30);
      try {
        merger.noteAppended(29);
        await merger.idle();
        expect(merger.merges).toBe(0);
        merger.noteAppended(1);
        merger.noteAppended(30); // while the first runs: not a second one
        await merger.idle();
        expect(merger.merges).toBe(1);
        expect(await mergePending(opened.schema)).toBe(0);
        // Merged words are found as before.
        const hits = await kit.store.search(bob!.id, { text: 'word7', limit: 5 });
        expect(hits?.map((hit) => hit.message.body)).toEqual(['upkeep word7']);
      } finally {
        await pool.end();
      }
    });

    it('the store merges after its batches: closed, nothing is left pending', async () => {
      const store = await openTestPostgresStore(url);
      const own = new SuiteKit();
      own.store = store.store;
      try {
        const [carol, dave] = await own.users(2);
        const direct = await own.direct(carol!, dave!);
        // 2,000 appends (MERGE_EVERY) in one turn: two batches, then a merge; close waits for it.
        await Promise.all(
          Array.from({ length: 2000 }, (_, i) =>
            own.send(direct, i % 2 ? carol! : dave!, `note ${i}`, T0),
          ),
        );
        await store.store.close();
        expect(await mergePending(store.schema)).toBe(0);
      } finally {
        await store.cleanup();
      }
    });
  });
}
