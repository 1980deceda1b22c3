/**
 * Seqs the API accepts fit what both stores hold: PostgreSQL keeps seqs in `integer` columns,
 * so a seq past 2^31 - 1 must be refused by the schema (400 / an error frame), never reach
 * the database (where it was a 500 on PostgreSQL and fine on SQLite). Run on both engines.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { limits } from '@letter/protocol';
import { openTestPostgresStore, type TestPostgresStore } from '../src/store/postgres/testing.js';
import {
  api,
  directConversation,
  register,
  startServer,
  TestSocket,
  type TestServer,
  type TestUser,
} from '../src/testing/harness.js';
import { postgresTestUrl } from '../src/testing/services.js';

const HUGE = 2 ** 31; // one past PostgreSQL's integer
const SAFE_BUT_HUGE = Number.MAX_SAFE_INTEGER;

describeEngine('SQLite', async () => ({ server: await startServer(), cleanup: async () => {} }));
const pgUrl = postgresTestUrl();
if (pgUrl) {
  describeEngine('PostgreSQL', async () => {
    const pg: TestPostgresStore = await openTestPostgresStore(pgUrl);
    return { server: await startServer({ store: pg.store }), cleanup: () => pg.cleanup() };
  });
} else {
  describe('seq bounds on PostgreSQL', () => {
    it.skip('needs LETTER_TEST_PG_URL (CI sets it; there this suite must run)', () => {});
  });
}

function describeEngine(
  engine: string,
  start: () => Promise<{ server: TestServer; cleanup: () => Promise<void> }>,
): void {
  describe(`seq bounds on ${engine}`, () => {
    let server: TestServer;
    let cleanup: () => Promise<void>;
    let ana: TestUser;
    let ben: TestUser;
    let conversationId: string;
    let socket: TestSocket;

    beforeAll(async () => {
      ({ server, cleanup } = await start());
      ana = await register(server, 'ana');
      ben = await register(server, 'ben');
      conversationId = await directConversation(server, ana, ben);
      socket = await TestSocket.connect(server, ana.accessToken);
    });
    afterAll(async () => {
      socket?.close();
      await server?.stop();
      await cleanup?.();
    });

    it('the protocol says where seqs end', () => {
      expect(limits.maxSeq).toBe(2 ** 31 - 1);
    });

    it('REST: a seq past what the stores hold is a 400 naming the field, on every route', async () => {
      const base = `/api/conversations/${conversationId}`;
      for (const huge of [HUGE, SAFE_BUT_HUGE]) {
        const attempts: [string, string, object?][] = [
          ['GET', `${base}/messages?before=${huge}`],
          ['GET', `${base}/messages?after=${huge}`],
          ['POST', `${base}/read`, { seq: huge }],
          ['POST', `${base}/messages`, { clientMsgId: `r-${huge}`, body: 'hi', replyToSeq: huge }],
          ['PATCH', `${base}/messages/${huge}`, { body: 'edited' }],
          ['DELETE', `${base}/messages/${huge}`],
          ['PUT', `${base}/messages/${huge}/reactions`, { emoji: '👍' }],
          ['DELETE', `${base}/messages/${huge}/reactions`],
          ['GET', `${base}/messages/${huge}/receipts`],
        ];
        for (const [method, path, body] of attempts) {
          const result = await api(server, method, path, ana.accessToken, body);
          expect(result.status, `${method} ${path} with ${huge}`).toBe(400);
          expect(result.body.error.code).toBe('bad_request');
        }
      }
      // The largest seq both stores hold is still fine to name (nothing there yet).
      const edge = await api(
        server,
        'GET',
        `${base}/messages?after=${limits.maxSeq}`,
        ana.accessToken,
      );
      expect(edge).toMatchObject({ status: 200, body: { messages: [] } });
    });

    it('WebSocket: a huge seq in read, delivered, sync and send is an error frame, the socket stays', async () => {
      const frames = [
        { type: 'read', conversationId, seq: HUGE },
        { type: 'delivered', conversationId, seq: HUGE },
        { type: 'sync', cursors: { [conversationId]: HUGE } },
        { type: 'send', conversationId, clientMsgId: 'w-1', body: 'hi', replyToSeq: HUGE },
      ];
      for (const frame of frames) {
        const answer = await socket.request(frame);
        expect(answer, frame.type).toMatchObject({ type: 'error', code: 'bad_request' });
      }
      const ok = await socket.request({
        type: 'sync',
        cursors: { [conversationId]: limits.maxSeq },
      });
      expect(ok).toMatchObject({ type: 'ok' });
      expect(await socket.request({ type: 'ping' })).toMatchObject({ type: 'ok' });
    });
  });
}
