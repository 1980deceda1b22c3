/**
 * README's cluster recipe: two nodes on one PostgreSQL and one Redis, behind nginx with both in
 * its upstream block (round robin, no sticky sessions). Sockets of one user land on different
 * nodes, and every request and socket works whichever node nginx picks: the store is the truth
 * and the bus carries events.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisBus } from '../src/bus/redis.js';
import { loadConfig } from '../src/config.js';
import { openPostgresStore } from '../src/store/postgres/open.js';
import { dropSchema, freshSchemaName } from '../src/store/postgres/testing.js';
import type { Store } from '../src/store/store.js';
import { TestSocket, startServer, type TestServer } from '../src/testing/harness.js';
import { proxyCall, startProxy, type CallOptions, type Proxy } from '../src/testing/nginx.js';
import { postgresTestUrl, redisTestUrl } from '../src/testing/services.js';

const pgUrl = postgresTestUrl();
const redisUrl = redisTestUrl();

if (!pgUrl || !redisUrl) {
  describe('a cluster behind nginx', () => {
    it.skip('needs LETTER_TEST_PG_URL and LETTER_TEST_REDIS_URL (CI sets both)', () => {});
  });
} else {
  describeCluster(pgUrl, redisUrl);
}

function describeCluster(url: string, redis: string): void {
  describe('a cluster behind nginx (two nodes, PostgreSQL, Redis)', () => {
    const schema = freshSchemaName();
    const prefix = `letter-proxy-${randomBytes(6).toString('hex')}:`;
    const stores: Store[] = [];
    const buses: RedisBus[] = [];
    const nodes: TestServer[] = [];
    const sockets: TestSocket[] = [];
    let proxy: Proxy;

    beforeAll(async () => {
      const config = {
        jwtSecret: 'proxy-cluster-secret-0123456789abcdef0123',
        trustProxy: loadConfig({ LETTER_TRUST_PROXY: '127.0.0.1' }).trustProxy,
      };
      for (let i = 0; i < 2; i++) {
        const store = await openPostgresStore({ url, schema, maxConnections: 4 });
        const bus = new RedisBus(redis, prefix);
        stores.push(store);
        buses.push(bus);
        nodes.push(await startServer({ store, bus, config }));
      }
      proxy = await startProxy(nodes.map((node) => new URL(node.url).host));
    }, 60_000);

    afterAll(async () => {
      for (const socket of sockets) socket.close();
      await proxy?.stop();
      for (const node of nodes) await node.stop();
      await Promise.all(buses.map((bus) => bus.close()));
      await Promise.all(stores.map((store) => store.close()));
      await dropSchema(url, schema);
    });

    const call = (method: string, path: string, options: CallOptions = {}) =>
      proxyCall(proxy, method, path, options);

    /** This node's open authenticated sockets, from its own /metrics (not through nginx). */
    async function connectionsOn(node: TestServer): Promise<number> {
      const text = await (await fetch(`${node.url}/metrics`)).text();
      return Number(/^letter_connections (\d+)/m.exec(text)?.[1]);
    }

    const open = async (token: string, from: string) => {
      const socket = new TestSocket(proxy.wsUrl, {
        token,
        origin: proxy.url,
        client: { ca: proxy.ca, localAddress: from },
      });
      sockets.push(socket);
      await socket.waitFor((f) => f.type === 'ready');
      return socket;
    };

    it('serves any request and any socket on any node: a chat across both', async () => {
      const people = [];
      for (const name of ['ana', 'ben']) {
        const answer = await call('POST', '/api/auth/register', {
          body: { username: `cl${name}_${process.pid}`, password: 'correct horse battery' },
        });
        expect(answer.status).toBe(201);
        people.push(answer.body as { accessToken: string; user: { id: string } });
      }
      const [ana, ben] = people as [(typeof people)[0], (typeof people)[0]];
      const opened = await call('POST', '/api/conversations', {
        headers: { authorization: `Bearer ${ana.accessToken}` },
        body: { kind: 'direct', userId: ben.user.id },
      });
      expect(opened.status).toBe(201);
      const conversationId = opened.body.conversation.id as string;

      // Two sockets each, opened one after another: round robin puts them on both nodes.
      const anaSockets = [await open(ana.accessToken, '127.0.0.2')];
      const benSockets = [await open(ben.accessToken, '127.0.0.3')];
      anaSockets.push(await open(ana.accessToken, '127.0.0.2'));
      benSockets.push(await open(ben.accessToken, '127.0.0.3'));
      const counts = await Promise.all(nodes.map(connectionsOn));
      expect(counts.reduce((a, b) => a + b, 0)).toBe(4);
      expect(Math.min(...counts)).toBeGreaterThan(0);

      for (let i = 1; i <= 4; i++) {
        const [from, to] = i % 2 ? [anaSockets, benSockets] : [benSockets, anaSockets];
        const sent = await from[i % 2]!.request({
          type: 'send',
          conversationId,
          clientMsgId: `cl${i}`,
          body: `cluster message ${i}`,
        });
        expect(sent.type).toBe('ok');
        // Every socket of the other person hears it, whichever node holds it.
        for (const socket of to) {
          await socket.waitFor((f) => f.type === 'message' && f.message.clientMsgId === `cl${i}`);
        }
      }
      // History and unread counts read the same through any node.
      for (let i = 0; i < 2; i++) {
        const page = await call('GET', `/api/conversations/${conversationId}/messages?limit=10`, {
          headers: { authorization: `Bearer ${ben.accessToken}` },
        });
        expect(page.status).toBe(200);
        expect(page.body.messages.map((m: { seq: number }) => m.seq)).toEqual([1, 2, 3, 4]);
      }
    }, 60_000);
  });
}
