/** The outbox through the client: order, retries with the same clientMsgId, reloads, failures. */
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { FakeClock, FakeServer, createTestClient, settle } from '../testing/index.js';
import type { LetterClientOptions } from '../client.js';
import { IndexedDbOutboxStorage } from './indexeddb.js';
import { MemoryOutboxStorage } from './memory.js';
import type { OutboxStorage } from './storage.js';

async function world(options: LetterClientOptions = {}) {
  const clock = new FakeClock();
  const server = new FakeServer({ clock });
  const alice = server.addUser('alice', 'Alice');
  const bob = server.addUser('bob', 'Bob');
  const direct = server.openDirect(alice.id, bob.id);
  const group = server.createGroup(alice.id, 'Team', [bob.id]);
  const client = createTestClient(server, options);
  await client.login('alice', 'password123');
  await settle();
  const bodies = (id: string) =>
    server.conversations
      .get(id)!
      .messages.filter((m) => m.senderId === alice.id)
      .map((m) => m.body);
  return { clock, server, alice, bob, direct, group, client, bodies };
}

describe('outbox', () => {
  it('queues while offline and replays in composition order per conversation', async () => {
    const { server, direct, group, client, clock, bodies } = await world();
    server.refuseSockets = true;
    server.closeAll(1012);
    await settle();
    for (let i = 1; i <= 3; i++) client.send(direct.id, `d${i}`);
    for (let i = 1; i <= 2; i++) client.send(group.id, `g${i}`);
    client.send(direct.id, 'd4');
    const snapshot = client.getSnapshot();
    expect(snapshot.pending[direct.id]!.map((p) => p.body)).toEqual(['d1', 'd2', 'd3', 'd4']);
    expect(snapshot.pending[direct.id]!.every((p) => p.status === 'pending')).toBe(true);
    server.refuseSockets = false;
    await clock.advance(5_000);
    expect(bodies(direct.id)).toEqual(['d1', 'd2', 'd3', 'd4']);
    expect(bodies(group.id)).toEqual(['g1', 'g2']);
    const state = client.getSnapshot();
    expect(state.pending).toEqual({});
    expect(state.timelines[direct.id]!.messages.map((m) => m.body)).toEqual([
      'd1',
      'd2',
      'd3',
      'd4',
    ]);
    client.close();
  });

  it('sends one at a time per conversation: the next waits for the previous ok', async () => {
    const { server, direct, client } = await world();
    // For each send the server sees: how many oks it had answered on that socket by then.
    const seen: [string, number][] = [];
    server.intercept = (socket, frame) => {
      if (frame.type === 'send') {
        const oks = socket.sent.filter((f) => f.type === 'ok' && f.message !== undefined).length;
        seen.push([frame.body as string, oks]);
      }
      return undefined;
    };
    client.send(direct.id, 'a');
    client.send(direct.id, 'b');
    client.send(direct.id, 'c');
    await settle();
    expect(seen).toEqual([
      ['a', 0],
      ['b', 1],
      ['c', 2],
    ]);
    client.close();
  });

  it('retries a send whose ok was lost with the same clientMsgId: the server keeps one copy', async () => {
    const { server, direct, client, clock, bodies } = await world();
    let lost = 0;
    server.intercept = (_s, frame) =>
      frame.type === 'send' && lost++ === 0 ? 'loseAnswer' : undefined;
    const pending = client.send(direct.id, 'once');
    await clock.advance(15_000); // request timeout
    await clock.advance(2_000); // retry backoff
    const sends = [...server.sockets].flatMap((s) => s.received.filter((f) => f.type === 'send'));
    expect(sends.map((f) => f.clientMsgId)).toEqual([pending.clientMsgId, pending.clientMsgId]);
    expect(bodies(direct.id)).toEqual(['once']);
    expect(client.getSnapshot().pending).toEqual({});
    expect(client.getSnapshot().timelines[direct.id]!.messages).toHaveLength(1);
    client.close();
  });

  it('an ok lost to a drop is recognised when sync replays our own message', async () => {
    const { server, direct, client, clock, bodies, alice, bob } = await world();
    server.post(bob.id, direct.id, 'held, so the cursor sits below our message');
    await settle();
    server.intercept = (socket, frame) => {
      if (frame.type !== 'send') return undefined;
      server.intercept = null;
      queueMicrotask(() => socket.drop());
      return 'loseAnswer';
    };
    const pending = client.send(direct.id, 'hello');
    await clock.advance(1_000);
    expect(client.getSnapshot().pending).toEqual({});
    expect(client.outboxEntries()).toEqual([]);
    expect(bodies(direct.id)).toEqual(['hello']);
    const resent = server.socketsOf(alice.id)[0]!.received.filter((f) => f.type === 'send');
    expect(resent).toEqual([]); // sync acknowledged it before the outbox resumed
    const mine = client.getSnapshot().timelines[direct.id]!.messages[1]!;
    expect(mine.clientMsgId).toBe(pending.clientMsgId);
    client.close();
  });

  it('an ok lost to a drop with nothing to replay: resent with the same clientMsgId, kept once', async () => {
    const { server, direct, client, clock, bodies, alice } = await world();
    server.intercept = (socket, frame) => {
      if (frame.type !== 'send') return undefined;
      server.intercept = null;
      queueMicrotask(() => socket.drop());
      return 'loseAnswer';
    };
    const pending = client.send(direct.id, 'hello');
    await clock.advance(1_000);
    const resent = server.socketsOf(alice.id)[0]!.received.filter((f) => f.type === 'send');
    expect(resent.map((f) => f.clientMsgId)).toEqual([pending.clientMsgId]);
    expect(bodies(direct.id)).toEqual(['hello']);
    expect(client.getSnapshot().pending).toEqual({});
    expect(client.getSnapshot().timelines[direct.id]!.messages.map((m) => m.body)).toEqual([
      'hello',
    ]);
    client.close();
  });

  it('a send answered unavailable (the database away) is resent with the same clientMsgId, kept once', async () => {
    const { server, direct, client, clock, bodies, alice } = await world();
    let refused = 0;
    server.intercept = (socket, frame) => {
      if (frame.type !== 'send' || refused >= 2) return undefined;
      refused++;
      socket.send({ type: 'error', id: frame.id, code: 'unavailable', message: 'database away' });
      return 'lose';
    };
    const pending = client.send(direct.id, 'hello');
    await clock.advance(10_000);
    expect(refused).toBe(2);
    expect(bodies(direct.id)).toEqual(['hello']);
    expect(client.getSnapshot().pending).toEqual({});
    const sent = server.socketsOf(alice.id)[0]!.received.filter((f) => f.type === 'send');
    expect(new Set(sent.map((f) => f.clientMsgId))).toEqual(new Set([pending.clientMsgId]));
    client.close();
  });

  it('parks a permanently failed send with its code; retry and discard', async () => {
    const { server, group, direct, client, alice, bodies } = await world();
    // Alice was removed without her client hearing of it yet.
    const conversation = server.conversations.get(group.id)!;
    conversation.members = conversation.members.filter((m) => m.userId !== alice.id);
    const failed = client.send(group.id, 'nobody hears');
    client.send(direct.id, 'still fine');
    await settle();
    expect(client.getSnapshot().pending[group.id]).toEqual([
      { ...failed, status: 'failed', error: 'not_found' },
    ]);
    expect(bodies(direct.id)).toEqual(['still fine']);
    conversation.members.push({ userId: alice.id, role: 'member', readSeq: 0, deliveredSeq: 0 });
    client.retrySend(failed.clientMsgId);
    await settle();
    expect(bodies(group.id)).toEqual(['nobody hears']);
    const again = client.send(group.id, 'x');
    conversation.members = conversation.members.filter((m) => m.userId !== alice.id);
    client.discardSend(again.clientMsgId);
    await settle();
    expect(client.getSnapshot().pending[group.id]).toBeUndefined();
    client.close();
  });

  it.each<[string, () => OutboxStorage]>([
    ['memory', () => new MemoryOutboxStorage()],
    ['IndexedDB', () => new IndexedDbOutboxStorage({ indexedDB: new IDBFactory() })],
  ])(
    'survives a reload (%s): a new client on the same storage sends what was left',
    async (_name, make) => {
      const storage = make();
      const { server, direct, client, clock, bodies } = await world({ outboxStorage: storage });
      server.refuseSockets = true;
      server.closeAll(1001);
      await settle();
      client.send(direct.id, 'first');
      client.send(direct.id, 'second');
      await client.outboxFlushed();
      client.close(); // the tab goes away
      const reloaded = createTestClient(server, { outboxStorage: storage });
      await reloaded.login('alice', 'password123');
      await settle();
      // Shown as pending from storage, before any socket is up.
      expect(reloaded.getSnapshot().pending[direct.id]?.map((p) => p.body)).toEqual([
        'first',
        'second',
      ]);
      server.refuseSockets = false;
      await clock.advance(1_000);
      expect(bodies(direct.id)).toEqual(['first', 'second']);
      expect(reloaded.getSnapshot().pending).toEqual({});
      await reloaded.outboxFlushed();
      const userId = reloaded.getSnapshot().me!.id;
      await settle();
      expect(await storage.load(userId)).toEqual([]);
      reloaded.close();
    },
  );

  it('never sends another account’s messages', async () => {
    const storage = new MemoryOutboxStorage();
    const { server, direct, client, bob } = await world({ outboxStorage: storage });
    server.refuseSockets = true;
    server.closeAll(1001);
    await settle();
    client.send(direct.id, 'from alice');
    await client.outboxFlushed();
    client.close();
    server.refuseSockets = false;
    const other = createTestClient(server, { outboxStorage: storage });
    await other.login('bob', 'password123');
    await settle();
    expect(other.getSnapshot().pending).toEqual({});
    expect(
      server.conversations.get(direct.id)!.messages.filter((m) => m.senderId === bob.id),
    ).toEqual([]);
    expect(storage.size).toBe(1);
    other.close();
  });

  it('rejects empty or oversized bodies and unknown conversations at once', async () => {
    const { client, direct } = await world();
    expect(() => client.send(direct.id, '   ')).toThrow(/body/);
    expect(() => client.send(direct.id, 'x'.repeat(4001))).toThrow(/body/);
    expect(() => client.send('nope', 'hi')).toThrow(/unknown conversation/);
    client.close();
  });
});
