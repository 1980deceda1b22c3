import { describe, expect, it } from 'vitest';
import type { LetterClient } from './client.js';
import { selectHasOlder } from './state/selectors.js';
import { FakeClock, FakeServer, createTestClient, settle } from './testing/index.js';

function setup() {
  const clock = new FakeClock();
  const server = new FakeServer({ clock });
  const alice = server.addUser('alice', 'Alice');
  const bob = server.addUser('bob', 'Bob');
  const carol = server.addUser('carol', 'Carol');
  const direct = server.openDirect(alice.id, bob.id);
  return { clock, server, alice, bob, carol, direct };
}

async function signedIn(
  server: FakeServer,
  username: string,
  options: Parameters<typeof createTestClient>[1] = {},
): Promise<LetterClient> {
  const client = createTestClient(server, options);
  await client.login(username, 'password123');
  await settle();
  return client;
}

const held = (client: LetterClient, id: string, seq: number) =>
  client.getSnapshot().timelines[id]!.messages.find((m) => m.seq === seq);

describe('message actions', () => {
  it('sends a reply with replyToSeq', async () => {
    const { server, bob, direct } = setup();
    server.post(bob.id, direct.id, 'question');
    const alice = await signedIn(server, 'alice');
    alice.send(direct.id, 'answer', { replyToSeq: 1 });
    await settle();
    expect(server.conversations.get(direct.id)!.messages[1]).toMatchObject({
      body: 'answer',
      replyToSeq: 1,
    });
    expect(held(alice, direct.id, 2)?.replyToSeq).toBe(1);
    alice.close();
  });

  it('edits, reacts and deletes; every member’s timeline gets the new copy', async () => {
    const { server, direct } = setup();
    const alice = await signedIn(server, 'alice');
    const bob = await signedIn(server, 'bob');
    alice.send(direct.id, 'helo');
    await settle();
    await bob.loadOlder(direct.id);

    await alice.editMessage(direct.id, 1, 'hello');
    await settle();
    expect(held(bob, direct.id, 1)).toMatchObject({ body: 'hello' });
    expect(held(bob, direct.id, 1)?.editedAt).not.toBeNull();
    expect(bob.getSnapshot().conversations[direct.id]!.lastMessage?.body).toBe('hello');

    await bob.react(direct.id, 1, '👍');
    await bob.react(direct.id, 1, '❤️'); // one per person: replaces
    await settle();
    expect(held(alice, direct.id, 1)?.reactions).toEqual({ '❤️': [server.userByName('bob')!.id] });
    await bob.unreact(direct.id, 1);
    await settle();
    expect(held(alice, direct.id, 1)?.reactions).toEqual({});

    const deleting = alice.deleteMessage(direct.id, 1);
    await deleting;
    // The tombstone is applied at once, then confirmed by the event.
    expect(held(alice, direct.id, 1)).toMatchObject({ body: '' });
    await settle();
    expect(held(bob, direct.id, 1)?.deletedAt).not.toBeNull();
    expect(held(bob, direct.id, 1)?.body).toBe('');
    alice.close();
    bob.close();
  });

  it('answers receipts and search results', async () => {
    const { server, bob, direct } = setup();
    const alice = await signedIn(server, 'alice');
    alice.send(direct.id, 'meet at the Café');
    await settle();
    server.advance(bob.id, direct.id, 'read', 1);
    const receipts = await alice.receipts(direct.id, 1);
    expect(receipts).toEqual([
      { userId: bob.id, deliveredAt: expect.any(String), readAt: expect.any(String) },
    ]);
    const results = await alice.search('café', { conversationId: direct.id });
    expect(results.map((r) => r.message.seq)).toEqual([1]);
    alice.close();
  });
});

describe('conversation settings and membership', () => {
  it('mutes and archives; a live message from someone else un-archives, my own does not', async () => {
    const { server, bob, direct } = setup();
    const alice = await signedIn(server, 'alice');
    await alice.updateSettings(direct.id, { muted: true, archived: true });
    const c = () => alice.getSnapshot().conversations[direct.id]!;
    expect(c()).toMatchObject({ muted: true, archived: true });
    alice.send(direct.id, 'mine');
    await settle();
    expect(c().archived).toBe(true);
    server.post(bob.id, direct.id, 'theirs');
    await settle();
    expect(c()).toMatchObject({ muted: true, archived: false });
    alice.close();
  });

  it('drops a conversation on conversation.removed', async () => {
    const { server, alice, bob, carol } = setup();
    const group = server.createGroup(bob.id, 'Team', [alice.id, carol.id]);
    const client = await signedIn(server, 'alice');
    expect(client.getSnapshot().conversations[group.id]).toBeDefined();
    server.removeMember(bob.id, group.id, alice.id);
    await settle();
    expect(client.getSnapshot().conversations[group.id]).toBeUndefined();
    expect(client.getSnapshot().conversationOrder).not.toContain(group.id);
    client.close();
  });

  it('a member added later sees history from firstSeq on, and no older page', async () => {
    const { server, alice, bob, carol } = setup();
    const group = server.createGroup(alice.id, 'Team', [bob.id]);
    server.post(alice.id, group.id, 'before carol');
    server.addMembers(alice.id, group.id, [carol.id]);
    const client = await signedIn(server, 'carol');
    const conversation = client.getSnapshot().conversations[group.id]!;
    expect(conversation.firstSeq).toBe(3);
    expect(conversation.unreadCount).toBe(1);
    await client.loadOlder(group.id);
    const state = client.getSnapshot();
    expect(state.timelines[group.id]!.messages.map((m) => m.seq)).toEqual([3]);
    expect(selectHasOlder(state, group.id)).toBe(false);
    client.close();
  });

  it('names users by id once, also after they left', async () => {
    const { server, alice, bob, carol } = setup();
    const group = server.createGroup(alice.id, 'Team', [bob.id, carol.id]);
    server.post(carol.id, group.id, 'bye');
    server.removeMember(carol.id, group.id, carol.id);
    const client = await signedIn(server, 'alice');
    expect(client.cachedUser(bob.id)?.displayName).toBe('Bob');
    expect(client.cachedUser(carol.id)).toBeUndefined();
    const before = server.requests.length;
    const [a, b] = await Promise.all([client.getUser(carol.id), client.getUser(carol.id)]);
    expect(a.displayName).toBe('Carol');
    expect(b).toBe(a);
    await client.getUser(carol.id);
    expect(server.requests.slice(before)).toEqual([`GET /api/users/${carol.id}`]);
    expect(client.cachedUser(carol.id)?.displayName).toBe('Carol');
    client.close();
  });
});

describe('account', () => {
  it('exports my data and deletes the account, signing this device out', async () => {
    const { server, direct } = setup();
    const alice = await signedIn(server, 'alice');
    alice.send(direct.id, 'mine');
    await settle();
    const data = await alice.exportMyData();
    expect(data.format).toBe('letter-export/1');
    expect(data.messages.map((m) => m.body)).toEqual(['mine']);
    await expect(alice.deleteAccount('wrong')).rejects.toMatchObject({
      code: 'invalid_credentials',
    });
    await alice.deleteAccount('password123');
    await settle();
    expect(alice.getSnapshot().session).toBe('signedOut');
    expect(alice.getSnapshot().connection).toBe('offline');
    alice.close();
  });
});

describe('network watching', () => {
  it('drops the socket on offline (outbox keeps the message), reconnects and sends on online', async () => {
    const { server, direct } = setup();
    const network = new EventTarget();
    const alice = await signedIn(server, 'alice', { watchNetwork: true, networkTarget: network });
    expect(alice.getSnapshot().connection).toBe('online');
    network.dispatchEvent(new Event('offline'));
    await settle();
    expect(alice.getSnapshot().connection).toBe('offline');
    expect(server.socketsOf(alice.getSnapshot().me!.id)).toHaveLength(0);
    alice.send(direct.id, 'written offline');
    await settle();
    expect(alice.getSnapshot().pending[direct.id]).toHaveLength(1);
    expect(server.conversations.get(direct.id)!.messages).toHaveLength(0);

    network.dispatchEvent(new Event('online'));
    await settle();
    expect(alice.getSnapshot().connection).toBe('online');
    expect(server.conversations.get(direct.id)!.messages.map((m) => m.body)).toEqual([
      'written offline',
    ]);
    expect(alice.getSnapshot().pending[direct.id]).toBeUndefined();
    alice.close();
  });
});
