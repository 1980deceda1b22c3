/**
 * Routed deliveries (issue 12): the hub publishes a delivery only on the channels of the nodes
 * presence says hold a recipient, and replays to a node where a recipient turns up too late.
 * Hubs over one memory bus, with routes the test controls (no presence gossip timing).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBus } from '../src/bus/memory.js';
import { HUB_CHANNEL, Hub, nodeChannel } from '../src/hub/hub.js';
import type { Connection, DeliveryRoutes } from '../src/hub/hub.js';
import { sleep } from '../src/testing/harness.js';

class Routes implements DeliveryRoutes {
  private readonly where = new Map<string, Set<string>>();
  private readonly listeners: ((userId: string, nodeId: string) => void)[] = [];
  nodesOf(userId: string): ReadonlySet<string> | undefined {
    return this.where.get(userId);
  }
  onArrival(listener: (userId: string, nodeId: string) => void): void {
    this.listeners.push(listener);
  }
  arrive(userId: string, nodeId: string): void {
    let nodes = this.where.get(userId);
    if (!nodes) this.where.set(userId, (nodes = new Set()));
    nodes.add(nodeId);
    for (const listener of this.listeners) listener(userId, nodeId);
  }
  leave(userId: string, nodeId: string): void {
    this.where.get(userId)?.delete(nodeId);
  }
}

function connection(userId: string, id = `${userId}-conn`) {
  const frames: string[] = [];
  const conn: Connection = {
    id,
    userId,
    sessionId: `${id}-session`,
    send: (frame) => frames.push(String(frame)),
    close: () => {},
  };
  return { conn, frames };
}

const hubs: Hub[] = [];
afterEach(async () => {
  for (const hub of hubs.splice(0)) await hub.stop();
});

async function cluster(bus: MemoryBus) {
  const routes = { a: new Routes(), b: new Routes(), c: new Routes() };
  const made = {} as Record<'a' | 'b' | 'c', Hub>;
  for (const nodeId of ['a', 'b', 'c'] as const) {
    made[nodeId] = new Hub(bus, { nodeId, hasPeers: () => true, routes: routes[nodeId] });
    await made[nodeId].start();
    hubs.push(made[nodeId]);
  }
  return { hubs: made, routes };
}

/** Delivery payloads published on `channel`: one delivery (`D`) or a turn's batch (`B`). */
async function countDeliveries(bus: MemoryBus, channel: string, kinds = /^[DB]/) {
  let n = 0;
  await bus.subscribe(channel, (payload) => {
    if (kinds.test(payload)) n++;
  });
  return () => n;
}

describe('routed deliveries', () => {
  it('publishes a delivery only to the nodes holding a recipient, never to every node', async () => {
    const bus = new MemoryBus();
    const { hubs: h, routes } = await cluster(bus);
    const onB = await countDeliveries(bus, nodeChannel('b'));
    const onC = await countDeliveries(bus, nodeChannel('c'));
    const everyone = await countDeliveries(bus, HUB_CHANNEL);
    const ana = connection('ana');
    const ben = connection('ben');
    h.a.attach(ana.conn);
    h.b.attach(ben.conn);
    routes.a.arrive('ben', 'b');

    h.a.deliverJson(['ana'], '{"n":1}'); // ana is on node a only: nothing leaves it
    h.a.deliverJson(['ana', 'ben'], '{"n":2}'); // ben is on b: b's channel only
    await sleep(10);
    expect([onB(), onC(), everyone()]).toEqual([1, 0, 0]);
    expect(ana.frames).toEqual(['{"n":1}', '{"n":2}']);
    expect(ben.frames).toEqual(['{"n":2}']);
  });

  it("publishes a turn's deliveries to a node as one payload, in order; a bad batch delivers nothing", async () => {
    const bus = new MemoryBus();
    const { hubs: h, routes } = await cluster(bus);
    const batches = await countDeliveries(bus, nodeChannel('b'), /^B/);
    const singles = await countDeliveries(bus, nodeChannel('b'), /^D/);
    const ben = connection('ben');
    const cara = connection('cara');
    h.b.attach(ben.conn);
    h.b.attach(cara.conn);
    routes.a.arrive('ben', 'b');
    routes.a.arrive('cara', 'b');

    h.a.deliverJson(['ben'], '{"n":1}');
    h.a.deliverJson(['cara'], '{"n":2,"s":"é|,\\n"}');
    h.a.deliverJson(['ben', 'cara'], '{"n":3}', '', { conversationId: 'k', seq: 3 });
    await sleep(10);
    expect([batches(), singles()]).toEqual([1, 0]);
    expect(ben.frames).toEqual(['{"n":1}', '{"n":3}']);
    expect(cara.frames).toEqual(['{"n":2,"s":"é|,\\n"}', '{"n":3}']);

    h.a.deliverJson(['ben'], '{"n":4}'); // alone in its turn: as it is
    await sleep(10);
    expect([batches(), singles()]).toEqual([1, 1]);
    expect(ben.frames.at(-1)).toBe('{"n":4}');

    // Lengths that do not add up, or a part that is not a delivery: nothing of it is delivered.
    const part = 'Da||k 5|ben\n{"n":5}';
    await bus.publish(nodeChannel('b'), `Ba|${part.length},3\n${part}xyz`);
    await bus.publish(nodeChannel('b'), `Ba|${part.length + 1}\n${part}`);
    await bus.publish(nodeChannel('b'), `Ba|3,${part.length}\nxyz${part}`);
    h.a.deliverJson(['ben'], '{"n":6}');
    await sleep(10);
    expect(ben.frames.slice(-2)).toEqual(['{"n":4}', '{"n":6}']);
  });

  it('replays a delivery to a node whose recipient was announced after it was routed', async () => {
    const bus = new MemoryBus();
    const { hubs: h, routes } = await cluster(bus);
    const ben = connection('ben');
    // Ben's session on c exists, but a has not heard of it yet when it delivers.
    h.c.attach(ben.conn);
    h.a.deliverJson(['ben'], '{"n":1}', '', { conversationId: 'k', seq: 1 });
    await sleep(10);
    expect(ben.frames).toEqual([]);
    routes.a.arrive('ben', 'c');
    await sleep(10);
    expect(ben.frames).toEqual(['{"n":1}']);
    // Routed from now on, and not replayed twice when ben leaves c and comes back.
    h.a.deliverJson(['ben'], '{"n":2}');
    routes.a.leave('ben', 'c');
    routes.a.arrive('ben', 'c');
    await sleep(10);
    expect(ben.frames).toEqual(['{"n":1}', '{"n":2}']);
  });
});
