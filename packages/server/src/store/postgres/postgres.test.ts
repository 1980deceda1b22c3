/**
 * The PostgreSQL store: the shared conformance suite, plus what only PostgreSQL has — migrations
 * racing between nodes, data across reopen, and two stores (two nodes' pools) writing the same
 * rows at once. Needs LETTER_TEST_PG_URL (skipped locally without it, required in CI); every
 * store gets a schema of its own, dropped afterwards.
 */
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { LetterError, type User } from '@letter/protocol';
import { postgresTestUrl } from '../../testing/services.js';
import { pgLatestVersion, pgMigrations } from './migrations.js';
import { adminQuery, dropSchema, freshSchemaName, openTestPostgresStore } from './testing.js';
import { openPostgresStore } from './open.js';
import type { Store } from '../store.js';
import { describeStore } from '../suite/suite.js';
import { T0, expectCode, range } from '../suite/helpers.js';

const url = postgresTestUrl();

if (!url) {
  describe('PostgreSQL store', () => {
    it.skip('needs LETTER_TEST_PG_URL (postgres://…): not set, so nothing ran', () => {});
  });
} else {
  describeStore('postgres', () => openTestPostgresStore(url));
  // As every node of a cluster opens it: append batches read without locks and write in one
  // statement that takes them (append-batch.ts).
  describeStore('postgres, unlocked reads', () =>
    openTestPostgresStore(url, { appendReads: 'unlocked' }),
  );
  describePostgresOnly(url);
}

function describePostgresOnly(url: string): void {
  describe('PostgreSQL only', () => {
    const schemas: string[] = [];
    const stores: Store[] = [];
    // Each test's stores go when it ends: pools held to the end of the file would add up to more
    // connections than a default server allows (100) while other files run too.
    afterEach(async () => {
      await Promise.all(stores.splice(0).map((store) => store.close()));
      await Promise.all(schemas.splice(0).map((schema) => dropSchema(url, schema)));
    });

    /** A store on `schema` (a fresh one by default), closed and dropped after the test. */
    const open = async (schema = freshSchemaName(), migrate = true): Promise<Store> => {
      if (!schemas.includes(schema)) schemas.push(schema);
      const store = await openPostgresStore({ url, schema, migrate, maxConnections: 4 });
      stores.push(store);
      return store;
    };

    const applied = (schema: string) =>
      adminQuery<{ version: number; name: string }>(
        url,
        `SELECT version, name FROM "${schema}".schema_migrations ORDER BY version`,
      );

    let n = 0;
    const user = async (store: Store): Promise<User> => {
      const id = `u_pg_${++n}`;
      return store.createUser({
        id,
        username: `pg${n}_${Date.now()}`,
        displayName: `Person ${n}`,
        passwordHash: 'h',
        createdAt: T0,
      });
    };

    describe('PostgreSQL store: schema and migrations', () => {
      it('migrates idempotently, one row per version', async () => {
        const schema = freshSchemaName();
        const store = await open(schema, false);
        await store.migrate();
        await store.migrate();
        expect(await applied(schema)).toEqual(
          pgMigrations.map((m) => ({ version: m.version, name: m.name })),
        );
        expect(pgLatestVersion).toBe(pgMigrations.length);
      });

      it('lets two nodes migrate one schema at the same time', async () => {
        const schema = freshSchemaName();
        const [a, b, c] = await Promise.all([
          open(schema, false),
          open(schema, false),
          open(schema, false),
        ]);
        await Promise.all([a.migrate(), b.migrate(), c.migrate(), a.migrate()]);
        expect((await applied(schema)).map((row) => row.version)).toEqual(
          pgMigrations.map((m) => m.version),
        );
        // Both see one schema: a user created through one is found through the other.
        const created = await user(a);
        expect((await b.getUser(created.id))?.username).toBe(created.username);
      });

      it('refuses a schema name that is not a plain identifier', async () => {
        await expect(
          openPostgresStore({ url, schema: 'x"; DROP TABLE users; --' }),
        ).rejects.toThrow(/schema must match/);
      });

      it('keeps its own schema when the URL carries options of its own', async () => {
        const schema = freshSchemaName();
        schemas.push(schema);
        const withOptions = new URL(url);
        withOptions.searchParams.set('options', '-c search_path=public -c statement_timeout=60000');
        const store = await openPostgresStore({ url: withOptions.toString(), schema });
        stores.push(store);
        const created = await user(store);
        const rows = await adminQuery<{ id: string }>(url, `SELECT id FROM "${schema}".users`);
        expect(rows.map((row) => row.id)).toEqual([created.id]);
      });

      it('keeps data across close and reopen', async () => {
        const schema = freshSchemaName();
        const first = await openPostgresStore({ url, schema });
        schemas.push(schema);
        const [a, b] = [await user(first), await user(first)];
        const { conversation } = await first.openDirect('c_reopen', a.id, b.id, T0);
        const sent = await first.appendMessage({
          id: 'm_reopen',
          conversationId: conversation.id,
          senderId: a.id,
          clientMsgId: 'cm_reopen',
          body: 'still here after a restart',
          replyToSeq: null,
          createdAt: T0 + 1,
        });
        await first.close();
        await expect(first.getUser(a.id)).rejects.toThrow(/closed/);

        const second = await open(schema);
        expect(await second.getMessage(conversation.id, 1)).toEqual(sent.message);
        expect((await second.getConversation(conversation.id, b.id))?.unreadCount).toBe(1);
        expect(await second.findDirect(b.id, a.id)).toBe(conversation.id);
      });

      // Version 6 dropped the foreign keys of messages and position_log (checked on every
      // append); their cascades live on as triggers.
      it('still deletes a removed member’s position log, and a deleted conversation’s messages', async () => {
        const schema = freshSchemaName();
        const store = await open(schema);
        const [a, b, c] = [await user(store), await user(store), await user(store)];
        const group = await store.createGroup({
          id: 'g_cascade',
          title: 'cascade',
          creatorId: a.id,
          memberIds: [b.id, c.id],
          createdAt: T0,
          systemMessageId: 'm_cascade_0',
        });
        for (const i of range(0, 2)) {
          await store.appendMessage({
            id: `m_cascade_${i + 1}`,
            conversationId: group.id,
            senderId: a.id,
            clientMsgId: `cm_cascade_${i}`,
            body: `message ${i}`,
            replyToSeq: null,
            createdAt: T0 + i + 1,
          });
        }
        for (const who of [b, c]) {
          await store.advancePosition(group.id, who.id, 'delivered', 2, T0 + 10);
          await store.advancePosition(group.id, who.id, 'read', 3, T0 + 11);
        }
        const logged = (userId: string) =>
          adminQuery<{ n: number }>(
            url,
            `SELECT count(*)::int AS n FROM "${schema}".position_log WHERE user_id = $1`,
            [userId],
          );
        expect((await logged(b.id))[0]?.n).toBe(2);

        await store.removeMember({
          conversationId: group.id,
          actorId: a.id,
          now: T0 + 20,
          messageIds: ['m_cascade_r', 'm_cascade_h'],
          userId: b.id,
        });
        expect((await logged(b.id))[0]?.n).toBe(0);
        expect((await logged(c.id))[0]?.n).toBe(2);

        await adminQuery(url, `DELETE FROM "${schema}".conversations WHERE id = $1`, [group.id]);
        const left = await adminQuery<{ n: number }>(
          url,
          `SELECT (SELECT count(*) FROM "${schema}".messages)
            + (SELECT count(*) FROM "${schema}".members)
            + (SELECT count(*) FROM "${schema}".position_log) AS n`,
        );
        expect(Number(left[0]?.n)).toBe(0);
      });
    });

    describe('PostgreSQL store: two nodes writing at once', () => {
      it('agrees on one direct conversation and gap-free seqs across pools', async () => {
        const schema = freshSchemaName();
        const [one, two] = [await open(schema), await open(schema)];
        const [a, b, c] = [await user(one), await user(one), await user(one)];
        const opened = await Promise.all(
          range(1, 6).map((i) =>
            (i % 2 ? one : two).openDirect(
              `c_race_${i}`,
              i % 3 ? a.id : b.id,
              i % 3 ? b.id : a.id,
              T0,
            ),
          ),
        );
        expect(new Set(opened.map((o) => o.conversation.id)).size).toBe(1);
        expect(opened.filter((o) => o.created)).toHaveLength(1);

        const group = await one.createGroup({
          id: 'c_race_group',
          title: 'Race',
          creatorId: a.id,
          memberIds: [b.id, c.id],
          createdAt: T0,
          systemMessageId: 'm_race_created',
        });
        const senders = [a, b, c];
        const results = await Promise.all(
          range(1, 40).map((i) =>
            (i % 2 ? one : two).appendMessage({
              id: `m_race_${i}`,
              conversationId: group.id,
              senderId: senders[i % 3]!.id,
              clientMsgId: `cm_race_${i}`,
              body: `m${i}`,
              replyToSeq: null,
              createdAt: T0 + i,
            }),
          ),
        );
        expect(results.map((r) => r.message.seq).sort((x, y) => x - y)).toEqual(range(2, 41));
        expect((await two.getConversation(group.id, c.id))?.lastSeq).toBe(41);
      });

      it('returns the identical original to concurrent repeats sent through both pools', async () => {
        const schema = freshSchemaName();
        const [one, two] = [await open(schema), await open(schema)];
        const [a, b] = [await user(one), await user(one)];
        const { conversation } = await one.openDirect('c_dup', a.id, b.id, T0);
        const results = await Promise.all(
          range(1, 10).map((i) =>
            (i % 2 ? one : two).appendMessage({
              id: `m_dup_${i}`,
              conversationId: conversation.id,
              senderId: a.id,
              clientMsgId: 'same',
              body: `attempt ${i}`,
              replyToSeq: null,
              createdAt: T0 + i,
            }),
          ),
        );
        expect(results.filter((r) => r.created)).toHaveLength(1);
        for (const result of results) expect(result.message).toEqual(results[0]!.message);
        expect((await two.getConversation(conversation.id, a.id))?.lastSeq).toBe(1);
      });

      it('rotates a refresh token once; the concurrent second presentation is reuse', async () => {
        const schema = freshSchemaName();
        const [one, two] = [await open(schema), await open(schema)];
        const a = await user(one);
        await one.createSession({
          id: 's_race',
          userId: a.id,
          refreshHash: 'r0',
          createdAt: T0,
          expiresAt: T0 + 60_000,
        });
        const outcomes = await Promise.all([
          one.rotateRefreshToken('r0', 'r1', T0 + 1, T0 + 90_000),
          two.rotateRefreshToken('r0', 'r2', T0 + 1, T0 + 90_000),
        ]);
        expect(outcomes.map((o) => o.kind).sort()).toEqual(['reuse', 'rotated']);
        expect((await two.getSession('s_race'))?.revokedAt).toBe(T0 + 1);
      });

      it('never moves a position back when moves race', async () => {
        const schema = freshSchemaName();
        const [one, two] = [await open(schema), await open(schema)];
        const [a, b] = [await user(one), await user(one)];
        const { conversation } = await one.openDirect('c_pos', a.id, b.id, T0);
        for (const i of range(1, 20)) {
          await one.appendMessage({
            id: `m_pos_${i}`,
            conversationId: conversation.id,
            senderId: a.id,
            clientMsgId: `cm_pos_${i}`,
            body: `m${i}`,
            replyToSeq: null,
            createdAt: T0 + i,
          });
        }
        await Promise.all(
          range(1, 20).map((seq) =>
            (seq % 2 ? one : two).advancePosition(conversation.id, b.id, 'read', seq, T0 + 100),
          ),
        );
        const view = await one.getConversation(conversation.id, b.id);
        expect(view).toMatchObject({ readSeq: 20, unreadCount: 0 });
      });
    });

    describe('PostgreSQL store: everything at once', () => {
      it('keeps seqs gap-free and every group with an admin under mixed concurrent writers', async () => {
        const schema = freshSchemaName();
        const [one, two] = [await open(schema), await open(schema)];
        const people: User[] = [];
        for (const _ of range(1, 10)) people.push(await user(one));
        const groups: string[] = [];
        for (const g of range(1, 3)) {
          const group = await one.createGroup({
            id: `c_mix_${g}`,
            title: 'Mixed',
            creatorId: people[0]!.id,
            memberIds: people.slice(1, 7).map((p) => p.id),
            createdAt: T0,
            systemMessageId: `m_mix_created_${g}`,
          });
          groups.push(group.id);
        }
        // A fixed pseudo-random sequence, so a failure can be replayed.
        let state = 0x2545f491;
        const random = () => {
          state = (state * 1103515245 + 12345) % 2 ** 31;
          return state / 2 ** 31;
        };
        const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)]!;
        const seq = () => 1 + Math.floor(random() * 15);
        const unexpected: unknown[] = [];
        const operations = range(1, 240).map((i) => {
          const store = i % 2 ? one : two;
          const conversationId = pick(groups);
          const [actor, other] = [pick(people), pick(people)];
          const base = { conversationId, actorId: actor.id, now: T0 + i };
          const messageIds: [string, string] = [`m_mix_${i}_a`, `m_mix_${i}_b`];
          const target = { conversationId, userId: actor.id, now: T0 + i };
          const r = random();
          const run = (): Promise<unknown> => {
            if (r < 0.4) {
              return store.appendMessage({
                id: `m_mix_${i}`,
                conversationId,
                senderId: actor.id,
                clientMsgId: `cm_mix_${i % 60}`,
                body: `message ${i}`,
                replyToSeq: null,
                createdAt: T0 + i,
              });
            }
            if (r < 0.5) return store.addMembers({ ...base, messageIds, userIds: [other.id] });
            if (r < 0.6) return store.removeMember({ ...base, messageIds, userId: other.id });
            if (r < 0.65) {
              return store.setMemberRole({ ...base, messageIds, userId: other.id, role: 'member' });
            }
            if (r < 0.72)
              return store.setReaction({ ...target, seq: seq(), emoji: pick(['👍', '🎉']) });
            if (r < 0.78) return store.editMessage({ ...target, seq: seq(), body: `edit ${i}` });
            if (r < 0.82) return store.deleteMessage({ ...target, seq: seq() });
            if (r < 0.92)
              return store.advancePosition(conversationId, actor.id, 'read', seq(), T0 + i);
            if (r < 0.95) {
              return store.deleteUser({
                userId: actor.id,
                now: T0 + i,
                messageIdPrefix: `m_del_${i}`,
              });
            }
            return store.openDirect(`c_mix_d_${i}`, actor.id, other.id, T0 + i);
          };
          // Refusals (not a member any more, not an admin, a deleted account…) are answers.
          return run().catch((error: unknown) => {
            if (!(error instanceof LetterError)) unexpected.push(error);
          });
        });
        await Promise.all(operations);
        expect(unexpected).toEqual([]);

        for (const conversationId of groups) {
          const [conversation] = await adminQuery<{ last_seq: number }>(
            url,
            `SELECT last_seq FROM "${schema}".conversations WHERE id = $1`,
            [conversationId],
          );
          const seqs = await adminQuery<{ seq: number }>(
            url,
            `SELECT seq FROM "${schema}".messages WHERE conversation_id = $1 ORDER BY seq`,
            [conversationId],
          );
          expect(seqs.map((row) => row.seq)).toEqual(range(1, conversation!.last_seq));
          const [roles] = await adminQuery<{ members: string; admins: string }>(
            url,
            `SELECT count(*) AS members, count(*) FILTER (WHERE role = 'admin') AS admins
             FROM "${schema}".members WHERE conversation_id = $1`,
            [conversationId],
          );
          expect(Number(roles!.admins) > 0).toBe(Number(roles!.members) > 0);
        }
      });
    });

    describe('PostgreSQL store: text PostgreSQL cannot hold', () => {
      it('answers bad_request for U+0000 in a message body', async () => {
        const store = await open();
        const [a, b] = [await user(store), await user(store)];
        const { conversation } = await store.openDirect('c_nul', a.id, b.id, T0);
        await expectCode(
          store.appendMessage({
            id: 'm_nul',
            conversationId: conversation.id,
            senderId: a.id,
            clientMsgId: 'cm_nul',
            body: 'a\u0000b',
            replyToSeq: null,
            createdAt: T0,
          }),
          'bad_request',
        );
        expect((await store.getConversation(conversation.id, a.id))?.lastSeq).toBe(0);
      });
    });

    describe('PostgreSQL store: search', () => {
      it('stops a search at its statement timeout and answers bad_request, not a crash', async () => {
        const schema = freshSchemaName();
        schemas.push(schema);
        const store = await openPostgresStore({
          url,
          schema,
          maxConnections: 2,
          searchTimeoutMs: 200,
        });
        stores.push(store);
        const [a, b] = [await user(store), await user(store)];
        await store.openDirect('c_slow', a.id, b.id, T0);
        // A lock the search's SELECT must wait for: the wait counts against its timeout, so the
        // timeout fires every time, however fast the machine.
        const locker = new pg.Client({ connectionString: url });
        await locker.connect();
        try {
          await locker.query('BEGIN');
          await locker.query(`LOCK TABLE "${schema}".messages IN ACCESS EXCLUSIVE MODE`);
          const error = await store.search(a.id, { text: 'anything', limit: 5 }).then(
            () => null,
            (caught: unknown) => caught,
          );
          expect(error).toBeInstanceOf(LetterError);
          expect(error).toMatchObject({ code: 'bad_request', message: /took too long/ });
        } finally {
          await locker.query('ROLLBACK');
          await locker.end();
        }
        // The timeout was the search's own (SET LOCAL): the next call on the pool is not bound by it.
        expect(await store.search(a.id, { text: 'anything', limit: 5 })).toEqual([]);
      });
    });
  });
}
