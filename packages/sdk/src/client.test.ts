import { describe, expect, it } from 'vitest';
import type { Message } from '@letter/protocol';
import { FakeClock, FakeServer, createTestClient, settle } from './testing/index.js';
import type { LetterClient } from './client.js';

function setup() {
  const clock = new FakeClock();
  const server = new FakeServer({ clock });
  const alice = server.addUser('alice', 'Alice');
  const bob = server.addUser('bob', 'Bob');
  const direct = server.openDirect(alice.id, bob.id);
  return { clock, server, alice, bob, direct };
}

async function signedIn(server: FakeServer, username = 'alice'): Promise<LetterClient> {
  const client = createTestClient(server);
  await client.login(username, 'password123');
  await settle();
  return client;
}

const seqs = (messages: readonly Message[]) => messages.map((m) => m.seq);

describe('LetterClient against the fake server', () => {
  it('logs in, connects with first-frame auth, loads conversations and goes online', async () => {
    const { server, direct } = setup();
    const client = await signedIn(server);
    const state = client.getSnapshot();
    expect(state.session).toBe('signedIn');
    expect(state.me?.username).toBe('alice');
    expect(state.connection).toBe('online');
    expect(state.syncing).toBe(false);
    expect(state.conversationOrder).toEqual([direct.id]);
    const socket = server.socketsOf(state.me!.id)[0]!;
    expect(socket.received[0]).toMatchObject({ type: 'auth' });
    expect(socket.received[1]).toMatchObject({ type: 'sync', cursors: { [direct.id]: 0 } });
    client.close();
  });

  it('applies live messages once each, in seq order, and reports delivery', async () => {
    const { server, bob, direct } = setup();
    const client = await signedIn(server);
    server.post(bob.id, direct.id, 'one');
    server.post(bob.id, direct.id, 'two');
    // A duplicate delivery (at-least-once) of seq 2.
    const socket = server.socketsOf(client.getSnapshot().me!.id)[0]!;
    socket.send({ type: 'message', message: server.conversations.get(direct.id)!.messages[1]! });
    await settle();
    const state = client.getSnapshot();
    expect(seqs(state.timelines[direct.id]!.messages)).toEqual([1, 2]);
    expect(state.conversations[direct.id]!.unreadCount).toBe(2);
    expect(
      server.conversations.get(direct.id)!.members.find((m) => m.userId !== bob.id)!.deliveredSeq,
    ).toBe(2);
    client.close();
  });

  it('sends through the outbox: pending at once, replaced by the acknowledged message', async () => {
    const { server, direct } = setup();
    const client = await signedIn(server);
    const pending = client.send(direct.id, '  hello  ');
    expect(pending.body).toBe('hello');
    expect(client.getSnapshot().pending[direct.id]).toHaveLength(1);
    await settle();
    const state = client.getSnapshot();
    expect(state.pending[direct.id]).toBeUndefined();
    expect(state.timelines[direct.id]!.messages.map((m) => m.body)).toEqual(['hello']);
    expect(state.conversations[direct.id]!.lastMessage?.body).toBe('hello');
    expect(state.conversations[direct.id]!.unreadCount).toBe(0);
    client.close();
  });

  it('marks read: unread drops to 0 at once and the server gets the position', async () => {
    const { server, bob, alice, direct } = setup();
    const client = await signedIn(server);
    server.post(bob.id, direct.id, 'one');
    server.post(bob.id, direct.id, 'two');
    await settle();
    client.markRead(direct.id);
    expect(client.getSnapshot().conversations[direct.id]!.unreadCount).toBe(0);
    await settle();
    expect(
      server.conversations.get(direct.id)!.members.find((m) => m.userId === alice.id)!.readSeq,
    ).toBe(2);
    client.close();
  });

  it('loads history backwards on demand', async () => {
    const { server, bob, direct } = setup();
    for (let i = 1; i <= 120; i++) server.post(bob.id, direct.id, `m${i}`);
    const client = await signedIn(server);
    expect(client.getSnapshot().timelines[direct.id]!.messages).toHaveLength(0);
    expect(await client.loadOlder(direct.id)).toEqual({ hasMore: true });
    expect(seqs(client.getSnapshot().timelines[direct.id]!.messages)).toEqual(
      Array.from({ length: 50 }, (_, i) => 71 + i),
    );
    await client.loadOlder(direct.id);
    expect(await client.loadOlder(direct.id)).toEqual({ hasMore: false });
    expect(seqs(client.getSnapshot().timelines[direct.id]!.messages)).toEqual(
      Array.from({ length: 120 }, (_, i) => 1 + i),
    );
    expect(await client.loadOlder(direct.id)).toEqual({ hasMore: false });
    client.close();
  });
});
