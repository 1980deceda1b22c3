/**
 * The PostgreSQL store when PostgreSQL goes away, through a fault proxy (the real server is never
 * touched): a connection lost under a running call, a database refusing connections, a silent
 * (black-holed) path. Each call answers `unavailable` and stores nothing, nothing ends the process
 * (an 'error' event without a listener would), and the next call after the restore works.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FaultProxy } from '../../testing/fault-proxy.js';
import { postgresTestUrl } from '../../testing/services.js';
import { isUnavailableError } from './db.js';
import { openTestPostgresStore, type TestPostgresStore } from './testing.js';
import { SuiteKit, T0, expectCode } from '../suite/helpers.js';

const url = postgresTestUrl();

describe('isUnavailableError', () => {
  it('reads connection loss, refusals and timeouts as unavailable, everything else not', () => {
    const coded = (code: string) => Object.assign(new Error('x'), { code });
    for (const error of [
      coded('ECONNREFUSED'),
      coded('ECONNRESET'),
      coded('57P01'),
      coded('08006'),
      coded('57014'),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
      new Error('Query read timeout'),
      new AggregateError([coded('ECONNREFUSED')]),
    ]) {
      expect(isUnavailableError(error), String(error)).toBe(true);
    }
    for (const error of [coded('23505'), coded('42P01'), new Error('boom'), null, 'text']) {
      expect(isUnavailableError(error), String(error)).toBe(false);
    }
  });
});

if (!url) {
  describe('PostgreSQL faults', () => {
    it.skip('needs LETTER_TEST_PG_URL (postgres://…): not set, so nothing ran', () => {});
  });
} else {
  describe('PostgreSQL faults', () => {
    let proxy: FaultProxy;
    let opened: TestPostgresStore;
    const kit = new SuiteKit();
    const errors: Error[] = [];

    const open = async (options: { statementTimeoutMs?: number } = {}) => {
      proxy = await FaultProxy.forUrl(url);
      opened = await openTestPostgresStore(proxy.urlFor(url), {
        connectTimeoutMs: 1000,
        onConnectionError: (error) => errors.push(error),
        ...options,
      });
      kit.store = opened.store;
    };

    /** Six users in three direct conversations: users 2i and 2i + 1 in conversation i. */
    const threePairs = async () => {
      const users = await kit.users(6);
      const conversations = [
        await kit.direct(users[0]!, users[1]!),
        await kit.direct(users[2]!, users[3]!),
        await kit.direct(users[4]!, users[5]!),
      ];
      return { users, conversations };
    };

    afterEach(async () => {
      proxy.restore();
      await opened.cleanup();
      await proxy.close();
      errors.length = 0;
    });

    it('a connection lost under a running transaction: unavailable, nothing stored, the next call works', async () => {
      await open();
      const [alice, bob] = [await kit.user(), await kit.user()];
      const conversationId = await kit.direct(alice, bob);
      await kit.send(conversationId, alice, 'kept');
      // The send's connection is checked out (kysely holds it for the transaction) when the
      // path goes silent and is then reset: pg emits 'error' on that client.
      proxy.blackhole();
      const lost = kit.send(conversationId, alice, 'lost', T0 + 1);
      await new Promise((resolve) => setTimeout(resolve, 100));
      proxy.cut();
      await expectCode(lost, 'unavailable');
      expect(errors.map((error) => error.message)).toContain('read ECONNRESET');
      proxy.restore();
      await kit.send(conversationId, alice, 'after', T0 + 2);
      const page = await kit.store.history(conversationId, alice.id, { limit: 50 });
      expect(page!.messages.map((m) => m.body)).toEqual(['kept', 'after']);
    });

    it('a connection lost under a batch of appends: every one answers unavailable, none is stored', async () => {
      await open();
      const { users, conversations } = await threePairs();
      await kit.send(conversations[0]!, users[0]!, 'kept');
      const before = kit.store.stats!().transactions;
      proxy.blackhole();
      // One turn: one batch, on one connection.
      const lost = users.map((user, i) =>
        kit.send(conversations[i >> 1]!, user, `lost ${i}`, T0 + 1),
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      proxy.cut();
      for (const send of lost) await expectCode(send, 'unavailable');
      expect(kit.store.stats!().transactions).toBe(before);
      proxy.restore();
      await kit.send(conversations[1]!, users[2]!, 'after', T0 + 2);
      const bodies = async (conversationId: string, viewer: { id: string }) =>
        (await kit.store.history(conversationId, viewer.id, { limit: 50 }))!.messages.map(
          (m) => m.body,
        );
      expect(await bodies(conversations[0]!, users[0]!)).toEqual(['kept']);
      expect(await bodies(conversations[1]!, users[2]!)).toEqual(['after']);
      expect(await bodies(conversations[2]!, users[4]!)).toEqual([]);
    });

    it('a link whose latency keeps changing: every send is stored once, in order, none refused', async () => {
      // Pipelined connections have several answers on the way at once; were the proxy to let a
      // later one overtake them (it once did, as a delay ended), one statement would read
      // another's answer: a batch whose reads read the lock's answer refused every send
      // (`not_found`).
      await open();
      const { users, conversations } = await threePairs();
      let flicker = true;
      const flickering = (async () => {
        for (let i = 0; flicker; i++) {
          proxy.delay(i % 2 === 0 ? 20 : 0);
          await new Promise((resolve) => setTimeout(resolve, 1 + (i % 7)));
        }
        proxy.delay(0);
      })();
      const outcomes: string[] = [];
      for (let round = 0; round < 40; round++) {
        const sends = users.map((user, i) =>
          kit.send(conversations[i >> 1]!, user, `r${round} u${i}`, T0 + round).then(
            () => 'ok',
            (error: unknown) => (error as { code?: string }).code ?? String(error),
          ),
        );
        outcomes.push(...(await Promise.all(sends)));
      }
      flicker = false;
      await flickering;
      expect(outcomes.filter((outcome) => outcome !== 'ok')).toEqual([]);
      // A misread answer fails its batch (`COMMIT answered SELECT`), whose sends then run one by
      // one and still succeed: a slow link alone never makes a batch fall back.
      expect(kit.store.stats!().batchFallbacks).toBe(0);
      for (const [c, conversationId] of conversations.entries()) {
        const page = await kit.store.history(conversationId, users[c * 2]!.id, { limit: 100 });
        const bodies = page!.messages.map((m) => m.body);
        expect(bodies).toHaveLength(80);
        expect(page!.messages.map((m) => m.seq)).toEqual(
          [...page!.messages.keys()].map((i) => page!.messages[0]!.seq + i),
        );
        for (const u of [c * 2, c * 2 + 1]) {
          const mine = bodies.filter((body) => body.endsWith(` u${u}`));
          expect(mine).toEqual(Array.from({ length: 40 }, (_, r) => `r${r} u${u}`));
        }
      }
    });

    it('a database that refuses connections: every call answers unavailable until it is back', async () => {
      await open();
      const alice = await kit.user();
      proxy.cut();
      await expectCode(kit.store.getUser(alice.id), 'unavailable');
      await expectCode(kit.user(), 'unavailable');
      await expectCode(kit.store.ping(), 'unavailable');
      proxy.restore();
      await kit.store.ping();
      expect((await kit.store.getUser(alice.id))?.id).toBe(alice.id);
    });

    it('a black-holed path: calls answer unavailable within the timeouts, then recover', async () => {
      await open({ statementTimeoutMs: 300 });
      const alice = await kit.user();
      proxy.blackhole();
      // Both kinds of wait end: a pooled connection's query (query_timeout), a new connection
      // (connectionTimeoutMillis).
      const calls = Array.from({ length: 3 }, () => kit.store.getUser(alice.id));
      for (const call of calls) await expectCode(call, 'unavailable');
      proxy.restore();
      expect((await kit.store.getUser(alice.id))?.id).toBe(alice.id);
    });
  });
}
