/**
 * What only a PostgreSQL deployment has, end to end. Every integration suite runs on PostgreSQL
 * too (vitest.config.ts: the chat, sync, health and restart scenarios once repeated here by hand
 * are theirs now); this file keeps a node started from LETTER_DATABASE_URL alone (node.ts picks
 * the store) seeing another node's data, `kill -9` of a node process right after a burst of
 * acknowledged sends losing none of them, and, with Redis too, two nodes with a pool each
 * exchanging a message, as a real deployment does. Every run works in a schema of its own,
 * dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisBus } from '../src/bus/redis.js';
import {
  adminQuery,
  dropSchema,
  freshSchemaName,
  openTestPostgresStore,
  type TestPostgresStore,
} from '../src/store/postgres/testing.js';
import { openPostgresStore } from '../src/store/postgres/open.js';
import type { Store } from '../src/store/store.js';
import {
  api,
  directConversation,
  register,
  startServer,
  tempDir,
  TestSocket,
  type TestServer,
  type TestUser,
} from '../src/testing/harness.js';
import { postgresTestUrl, redisTestUrl } from '../src/testing/services.js';
import { killChildren, startChild } from './child.js';

const pgUrl = postgresTestUrl();
const redisUrl = pgUrl ? redisTestUrl() : undefined;

if (!pgUrl) {
  describe('a node on PostgreSQL', () => {
    it.skip('needs LETTER_TEST_PG_URL (CI sets it; there this suite must run)', () => {});
  });
} else {
  describeOnePostgresNode(pgUrl);
  describeKill(pgUrl);
  if (redisUrl) describeTwoNodes(pgUrl, redisUrl);
  else {
    describe('two nodes on PostgreSQL and Redis', () => {
      it.skip('needs LETTER_TEST_REDIS_URL as well (CI sets it)', () => {});
    });
  }
}

function describeOnePostgresNode(url: string): void {
  describe('a node on PostgreSQL', () => {
    let pg: TestPostgresStore;
    let server: TestServer;
    let ana: TestUser;
    let ben: TestUser;
    let conversationId: string;
    let socket: TestSocket;

    beforeAll(async () => {
      pg = await openTestPostgresStore(url);
      server = await startServer({ store: pg.store });
      ana = await register(server, 'ana');
      ben = await register(server, 'ben');
      conversationId = await directConversation(server, ana, ben);
      socket = await TestSocket.connect(server, ana.accessToken);
      for (let i = 1; i <= 5; i++) {
        const sent = await socket.request({
          type: 'send',
          conversationId,
          clientMsgId: `pg-${i}`,
          body: `message ${i}`,
        });
        if (sent.type !== 'ok') throw new Error(`send failed: ${JSON.stringify(sent)}`);
      }
    });
    afterAll(async () => {
      socket?.close();
      await server?.stop();
      await pg?.cleanup();
    });

    it('starts from LETTER_DATABASE_URL alone and serves the same data', async () => {
      // node.ts opens the store from the URL; the search path in the URL keeps it in our schema.
      const schemaUrl = new URL(url);
      schemaUrl.searchParams.set('options', `-c search_path=${pg.schema}`);
      const other = await startServer({ config: { databaseUrl: schemaUrl.toString() } });
      try {
        const login = await api(other, 'POST', '/api/auth/login', undefined, {
          username: ana.user.username,
          password: 'correct horse battery',
        });
        expect(login.status).toBe(200);
        const page = await api(
          other,
          'GET',
          `/api/conversations/${conversationId}/messages?limit=1`,
          login.body.accessToken,
        );
        expect(page.body.messages.map((m: { seq: number }) => m.seq)).toEqual([5]);
      } finally {
        await other.stop();
      }
    });
  });
}

function describeKill(url: string): void {
  describe('kill -9 of a node on PostgreSQL', () => {
    const schema = freshSchemaName();
    let dir: string;
    afterAll(async () => {
      await killChildren();
      if (dir) rmSync(dir, { recursive: true, force: true });
      await dropSchema(url, schema);
    });

    it('loses no acknowledged message', { timeout: 120_000 }, async () => {
      // The child knows only LETTER_DATABASE_URL; its search path keeps it in our schema.
      await adminQuery(url, `CREATE SCHEMA "${schema}"`);
      const databaseUrl = new URL(url);
      databaseUrl.searchParams.set('options', `-c search_path=${schema}`);
      dir = tempDir('letter-pg-kill-');
      const child = await startChild(dir, { LETTER_DATABASE_URL: databaseUrl.toString() });
      const ana = await register(child, 'kill_a');
      const ben = await register(child, 'kill_b');
      const conversationId = await directConversation(child, ana, ben);
      const socket = await TestSocket.connect(child, ana.accessToken);
      const acknowledged: number[] = [];
      const sends = Array.from({ length: 50 }, (_v, i) =>
        socket
          .request({ type: 'send', conversationId, clientMsgId: `k${i}`, body: `burst ${i}` })
          .then((answer) => {
            if (answer.type === 'ok') acknowledged.push(answer.message.seq as number);
          }),
      );
      await Promise.all(sends);
      expect(acknowledged).toHaveLength(50);
      await child.stop('SIGKILL');

      const store = await openPostgresStore({ url, schema, maxConnections: 2 });
      try {
        const page = await store.history(conversationId, ben.user.id, { after: 0, limit: 200 });
        expect(page!.messages.map((m) => m.seq)).toEqual([...acknowledged].sort((a, b) => a - b));
        expect(page!.messages.map((m) => m.seq)).toEqual(
          Array.from({ length: 50 }, (_v, i) => i + 1),
        );
      } finally {
        await store.close();
      }
    });
  });
}

function describeTwoNodes(url: string, redis: string): void {
  describe('two nodes on PostgreSQL and Redis', () => {
    const schema = freshSchemaName();
    const prefix = `letter-pg-${randomBytes(6).toString('hex')}:`;
    const stores: Store[] = [];
    const buses: RedisBus[] = [];
    const nodes: TestServer[] = [];
    const sockets: TestSocket[] = [];

    beforeAll(async () => {
      for (let i = 0; i < 2; i++) {
        // A pool and a bus per node, one schema and one Redis prefix between them.
        const store = await openPostgresStore({ url, schema, maxConnections: 4 });
        const bus = new RedisBus(redis, prefix);
        stores.push(store);
        buses.push(bus);
        nodes.push(
          await startServer({
            store,
            bus,
            config: { jwtSecret: 'pg-redis-secret-0123456789abcdef0123' },
          }),
        );
      }
    });
    afterAll(async () => {
      for (const socket of sockets) socket.close();
      for (const node of nodes) await node.stop();
      await Promise.all(buses.map((bus) => bus.close()));
      await Promise.all(stores.map((store) => store.close()));
      await dropSchema(url, schema);
    });

    it('delivers a message sent on one node to a socket on the other', async () => {
      const ana = await register(nodes[0]!, 'ana');
      const ben = await register(nodes[1]!, 'ben');
      const conversationId = await directConversation(nodes[1]!, ana, ben);
      const anaOn0 = await TestSocket.connect(nodes[0]!, ana.accessToken);
      const benOn1 = await TestSocket.connect(nodes[1]!, ben.accessToken);
      sockets.push(anaOn0, benOn1);

      const sent = await anaOn0.request({
        type: 'send',
        conversationId,
        clientMsgId: 'across',
        body: 'across nodes, through PostgreSQL and Redis',
      });
      expect(sent.type).toBe('ok');
      const received = await benOn1.waitFor((f) => f.type === 'message');
      expect(received.message).toEqual(sent.message);
      const rows = await adminQuery<{ count: string }>(
        url,
        `SELECT count(*) FROM "${schema}".messages WHERE conversation_id = $1`,
        [conversationId],
      );
      expect(Number(rows[0]!.count)).toBe(1);
    });
  });
}
