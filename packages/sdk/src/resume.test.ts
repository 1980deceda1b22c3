/** Resuming after the line drops: sync cursors, replay, truncation, every message once in order. */
import { describe, expect, it } from 'vitest';
import type { Message } from '@letter/protocol';
import { FakeClock, FakeServer, createTestClient, settle } from './testing/index.js';

async function online() {
  const clock = new FakeClock();
  const server = new FakeServer({ clock });
  const alice = server.addUser('alice', 'Alice');
  const bob = server.addUser('bob', 'Bob');
  const direct = server.openDirect(alice.id, bob.id);
  const group = server.createGroup(bob.id, 'Team', [alice.id]);
  const client = createTestClient(server);
  await client.login('alice', 'password123');
  await settle();
  const socket = () => server.socketsOf(alice.id)[0]!;
  return { clock, server, alice, bob, direct, group, client, socket };
}

const seqs = (messages: readonly Message[]) => messages.map((m) => m.seq);
const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('resume after a drop', () => {
  it('drops mid-burst, reconnects, syncs from the last contiguous seq: every message once', async () => {
    const { clock, server, bob, direct, group, client, socket } = await online();
    socket().failAfter = 4;
    for (let i = 1; i <= 10; i++) server.post(bob.id, direct.id, `burst ${i}`);
    await settle();
    expect(client.getSnapshot().connection).toBe('reconnecting');
    expect(seqs(client.getSnapshot().timelines[direct.id]!.messages)).toEqual(range(1, 4));
    // More happens while we are away, in both conversations.
    for (let i = 11; i <= 15; i++) server.post(bob.id, direct.id, `away ${i}`);
    server.post(bob.id, group.id, 'group while away');
    await clock.advance(1_000);
    const state = client.getSnapshot();
    expect(state.connection).toBe('online');
    const sync = socket().received.find((f) => f.type === 'sync');
    // The group was never opened: the fresh list moved its cursor to the top (its last message
    // and unread count come from the list; history loads when it is opened).
    expect(sync?.cursors).toEqual({ [direct.id]: 4, [group.id]: 2 });
    expect(seqs(state.timelines[direct.id]!.messages)).toEqual(range(1, 15));
    expect(state.timelines[direct.id]!.cursor).toBe(15);
    expect(seqs(state.timelines[group.id]!.messages)).toEqual([]);
    expect(state.conversations[group.id]!.lastMessage?.body).toBe('group while away');
    // Delivered anyway: the list reached this device (reported once the interval of the report
    // made at sign-in is up: positions.ts).
    await clock.advance(500);
    const positions = server.conversations.get(group.id)!.members;
    expect(positions.find((m) => m.userId === state.me!.id)!.deliveredSeq).toBe(2);
    expect(state.conversations[direct.id]!.unreadCount).toBe(15);
    expect(state.conversations[group.id]!.unreadCount).toBe(2);
    // Same createdAt (the fake clock stood still): ties order by id.
    expect(state.conversationOrder).toEqual(server.list(state.me!.id).map((c) => c.id));
    client.close();
  });

  it('pages truncated conversations over REST with after= the cursor', async () => {
    const { clock, server, bob, direct, client, socket } = await online();
    server.post(bob.id, direct.id, 'before');
    await settle();
    socket().drop();
    server.syncMax = 5;
    for (let i = 0; i < 450; i++) server.post(bob.id, direct.id, `missed ${i}`);
    await clock.advance(1_000);
    const state = client.getSnapshot();
    expect(seqs(state.timelines[direct.id]!.messages)).toEqual(range(1, 451));
    expect(server.requests.filter((r) => r.endsWith('/messages'))).toHaveLength(3);
    expect(state.conversations[direct.id]!.lastSeq).toBe(451);
    expect(state.conversations[direct.id]!.unreadCount).toBe(451);
    expect(state.syncing).toBe(false);
    client.close();
  });

  it('keeps order when a live message overtakes the replay', async () => {
    const { clock, server, bob, direct, client, socket } = await online();
    server.post(bob.id, direct.id, 'one');
    await settle();
    socket().drop();
    for (let i = 2; i <= 5; i++) server.post(bob.id, direct.id, `m${i}`);
    server.intercept = (_socket, frame) => {
      if (frame.type === 'sync') {
        server.intercept = null;
        server.post(bob.id, direct.id, 'live, before the replay');
      }
      return undefined;
    };
    await clock.advance(1_000);
    const state = client.getSnapshot();
    expect(seqs(state.timelines[direct.id]!.messages)).toEqual(range(1, 6));
    expect(state.timelines[direct.id]!.cursor).toBe(6);
    expect(state.conversations[direct.id]!.lastMessage?.seq).toBe(6);
    client.close();
  });

  it('fetches conversations it does not know and drops the ones no longer listed', async () => {
    const { clock, server, alice, bob, group, client, socket } = await online();
    socket().drop();
    const carol = server.addUser('carol', 'Carol');
    const fresh = server.createGroup(carol.id, 'New', [alice.id]);
    server.post(carol.id, fresh.id, 'hi alice');
    server.conversations.get(group.id)!.members = server.conversations
      .get(group.id)!
      .members.filter((m) => m.userId !== alice.id);
    await clock.advance(1_000);
    const state = client.getSnapshot();
    expect(state.conversations[fresh.id]?.title).toBe('New');
    expect(state.conversations[fresh.id]?.unreadCount).toBe(2);
    expect(state.conversations[group.id]).toBeUndefined();
    expect(state.conversationOrder[0]).toBe(fresh.id);
    expect(bob.id).toBeTruthy();
    client.close();
  });

  it('fills a live gap over REST after a short grace period', async () => {
    const { clock, server, bob, direct, client, socket } = await online();
    server.post(bob.id, direct.id, 'one');
    await settle();
    // Seq 2 never reaches this socket; seq 3 does.
    const conversation = server.conversations.get(direct.id)!;
    socket().lose = (frame) => (frame.message as Message | undefined)?.seq === 2;
    server.post(bob.id, direct.id, 'two (lost)');
    server.post(bob.id, direct.id, 'three');
    await settle();
    expect(seqs(client.getSnapshot().timelines[direct.id]!.messages)).toEqual([1, 3]);
    expect(client.getSnapshot().timelines[direct.id]!.cursor).toBe(1);
    await clock.advance(1_500);
    expect(seqs(client.getSnapshot().timelines[direct.id]!.messages)).toEqual([1, 2, 3]);
    expect(client.getSnapshot().timelines[direct.id]!.cursor).toBe(3);
    expect(conversation.messages).toHaveLength(3);
    client.close();
  });
});
