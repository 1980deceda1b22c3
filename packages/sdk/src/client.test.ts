import { describe, expect, it } from 'vitest';
import { limits } from '@letter/protocol';
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
  it('follows group changes by delta, fetches members on demand, refetches after a missed one', async () => {
    const { server, alice, bob } = setup();
    const others = Array.from({ length: 7 }, (_, i) => server.addUser(`p${i}`, `P${i}`));
    const group = server.createGroup(
      bob.id,
      'Crew',
      [...others, alice].map((u) => u.id),
    );
    const client = await signedIn(server);
    const listed = client.getSnapshot().conversations[group.id]!;
    // The list previews 5 members and Alice herself.
    expect(listed).toMatchObject({ memberCount: 9 });
    expect(listed.members.map((m) => m.user.id)).toContain(alice.id);
    expect(listed.members.length).toBeLessThan(9);
    const loaded = await client.loadMembers(group.id);
    expect(loaded!.members).toHaveLength(9);

    const carol = server.addUser('carol', 'Carol');
    server.addMembers(bob.id, group.id, [carol.id]);
    server.rename(bob.id, group.id, 'New crew');
    await settle();
    const after = client.getSnapshot().conversations[group.id]!;
    expect(after).toMatchObject({ title: 'New crew', memberCount: 10, membersVersion: 1 });
    expect(after.members.at(-1)!.user.id).toBe(carol.id);
    const fetches = () => server.requests.filter((r) => r === `GET /api/conversations/${group.id}`);
    expect(fetches()).toHaveLength(0);

    // A change this client never heard of: the next one is a jump, so it fetches the whole.
    group.members = group.members.filter((m) => m.userId !== others[0]!.id);
    group.membersVersion = 2;
    server.removeMember(bob.id, group.id, others[1]!.id);
    await settle();
    expect(fetches()).toHaveLength(1);
    const healed = client.getSnapshot().conversations[group.id]!;
    expect(healed).toMatchObject({ memberCount: 8, membersVersion: 3 });
    expect(healed.members.map((m) => m.user.id)).not.toContain(others[0]!.id);
    client.close();
  });

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

  it('subscribe/getSnapshot: one notification per burst, immutable snapshots', async () => {
    const { server, bob, direct } = setup();
    const client = await signedIn(server);
    let notified = 0;
    const unsubscribe = client.subscribe(() => notified++);
    const before = client.getSnapshot();
    const beforeTimeline = before.timelines[direct.id];
    for (let i = 0; i < 20; i++) server.post(bob.id, direct.id, `m${i}`);
    await settle();
    expect(notified).toBeGreaterThanOrEqual(1);
    expect(notified).toBeLessThanOrEqual(4); // the burst, the delivery receipt, …; not 20
    expect(before.timelines[direct.id]).toBe(beforeTimeline);
    expect(beforeTimeline!.messages).toHaveLength(0);
    const after = client.getSnapshot();
    expect(client.getSnapshot()).toBe(after); // stable between changes
    unsubscribe();
    server.post(bob.id, direct.id, 'unseen');
    await settle();
    const count = notified;
    expect(count).toBe(notified);
    client.close();
  });

  it('reports delivery once per burst and reads through the socket', async () => {
    const { server, bob, direct, alice } = setup();
    const client = await signedIn(server);
    const socket = server.socketsOf(alice.id)[0]!;
    for (let i = 0; i < 10; i++) server.post(bob.id, direct.id, `m${i}`);
    await settle();
    const delivered = socket.received.filter((f) => f.type === 'delivered');
    expect(delivered).toEqual([
      { type: 'delivered', conversationId: direct.id, seq: 10, id: expect.any(Number) },
    ]);
    client.markRead(direct.id);
    client.markRead(direct.id);
    await settle();
    expect(socket.received.filter((f) => f.type === 'read')).toHaveLength(1);
    client.close();
  });

  it('reports a busy conversation at most once an interval, the latest seq, and no other one later', async () => {
    const { server, bob, direct, alice, clock } = setup();
    const group = server.createGroup(bob.id, 'Busy', [alice.id]);
    const client = await signedIn(server);
    const socket = server.socketsOf(alice.id)[0]!;
    const allReports = (conversationId: string) =>
      socket.received
        .filter((f) => f.type === 'delivered' && f.conversationId === conversationId)
        .map((f) => f.seq);
    const atSignIn = new Map([group.id, direct.id].map((id) => [id, allReports(id).length]));
    const signInReports = (conversationId: string) => atSignIn.get(conversationId)!;
    // Signing in reported what the list showed; once its interval is up the next goes at once.
    await clock.advance(1500);
    const reports = (conversationId: string) =>
      allReports(conversationId).slice(signInReports(conversationId));
    const first = server.post(bob.id, group.id, 'one').message.seq;
    await settle();
    expect(reports(group.id)).toEqual([first]); // at once
    let last = first;
    for (let i = 0; i < 5; i++) {
      await clock.advance(150);
      last = server.post(bob.id, group.id, `more ${i}`).message.seq;
      await settle();
    }
    expect(reports(group.id)).toEqual([first]); // held: 750 ms since the first
    // Another conversation is not held back by the busy one.
    const other = server.post(bob.id, direct.id, 'direct').message.seq;
    await settle();
    expect(reports(direct.id)).toEqual([other]);
    // The test client's random() is 0.5: the interval is 1,250 ms.
    await clock.advance(400);
    await settle();
    expect(reports(group.id)).toEqual([first]);
    await clock.advance(100);
    await settle();
    expect(reports(group.id)).toEqual([first, last]); // the latest, once the interval is up
    await clock.advance(2000);
    await settle();
    expect(reports(group.id)).toEqual([first, last]);
    client.close();
  });

  it("spreads a crowded group's first report after a silence; a direct chat's goes at once", async () => {
    const { server, bob, direct, alice, clock } = setup();
    const crowd = Array.from({ length: limits.receiptEveryoneMax }, (_, i) =>
      server.addUser(`c${i}`, `C${i}`),
    );
    const group = server.createGroup(bob.id, 'Crowd', [alice.id, ...crowd.map((u) => u.id)]);
    const client = await signedIn(server);
    expect(client.getSnapshot().conversations[group.id]!.memberCount).toBe(
      limits.receiptEveryoneMax + 2,
    );
    const socket = server.socketsOf(alice.id)[0]!;
    const reports = (conversationId: string) =>
      socket.received
        .filter((f) => f.type === 'delivered' && f.conversationId === conversationId)
        .map((f) => f.seq);
    await clock.advance(3000); // signing in's reports and their intervals are over
    const before = { group: reports(group.id).length, direct: reports(direct.id).length };
    const quietSpell = async () => {
      const seq = server.post(bob.id, group.id, 'to all').message.seq;
      const directSeq = server.post(bob.id, direct.id, 'to you').message.seq;
      await settle();
      expect(reports(direct.id).slice(before.direct)).toEqual([directSeq]); // at once
      before.direct++;
      expect(reports(group.id).slice(before.group)).toEqual([]);
      // The test client's random() is 0.5: the wait is 500 ms.
      await clock.advance(499);
      await settle();
      expect(reports(group.id).slice(before.group)).toEqual([]);
      await clock.advance(1);
      await settle();
      expect(reports(group.id).slice(before.group)).toEqual([seq]);
      before.group++;
    };
    await quietSpell();
    // Busy now: the next report waits out the interval (1,250 ms), not a new spread.
    await clock.advance(100);
    const next = server.post(bob.id, group.id, 'more').message.seq;
    await settle();
    await clock.advance(1149);
    await settle();
    expect(reports(group.id).slice(before.group)).toEqual([]);
    await clock.advance(1);
    await settle();
    expect(reports(group.id).slice(before.group)).toEqual([next]);
    before.group++;
    // Quiet again: spread again.
    await clock.advance(5000);
    await quietSpell();
    client.close();
  });

  it('keeps a read made offline and sends it once back online', async () => {
    const { server, bob, direct, alice, clock } = setup();
    const client = await signedIn(server);
    server.post(bob.id, direct.id, 'one');
    await settle();
    server.refuseSockets = true;
    server.closeAll(1012);
    await settle();
    client.markRead(direct.id);
    expect(client.getSnapshot().conversations[direct.id]!.unreadCount).toBe(0);
    server.refuseSockets = false;
    await clock.advance(1_000);
    expect(server.member(server.conversations.get(direct.id)!, alice.id)!.readSeq).toBe(1);
    expect(client.getSnapshot().conversations[direct.id]!.unreadCount).toBe(0);
    client.close();
  });

  it('shows typing for about 5 s and throttles its own typing frames', async () => {
    const { server, bob, alice, direct, clock } = setup();
    const client = await signedIn(server);
    const bobClient = await signedIn(server, 'bob');
    bobClient.sendTyping(direct.id);
    bobClient.sendTyping(direct.id); // throttled
    await settle();
    expect(client.getSnapshot().typing[direct.id]).toEqual({ [bob.id]: clock.now() + 5_000 });
    await clock.advance(4_999);
    expect(Object.keys(client.getSnapshot().typing[direct.id] ?? {})).toEqual([bob.id]);
    await clock.advance(1);
    expect(client.getSnapshot().typing).toEqual({});
    const typingFrames = server.socketsOf(bob.id)[0]!.received.filter((f) => f.type === 'typing');
    expect(typingFrames).toHaveLength(1);
    expect(alice.id).toBeTruthy();
    client.close();
    bobClient.close();
  });

  it('emits message events for new messages from others only, not for replays', async () => {
    const { server, bob, direct, clock, alice } = setup();
    const client = await signedIn(server);
    const notified: string[] = [];
    client.events.on('message', ({ message }) => notified.push(message.body));
    server.post(bob.id, direct.id, 'live');
    client.send(direct.id, 'mine');
    await settle();
    server.socketsOf(alice.id)[0]!.send({
      type: 'message',
      message: server.conversations.get(direct.id)!.messages[0]!,
    });
    await settle();
    expect(notified).toEqual(['live']);
    await clock.advance(1);
    client.close();
  });

  it('a message in a conversation it does not know yet: fetches it, then notifies', async () => {
    const { server, alice, clock } = setup();
    const client = await signedIn(server);
    const carol = server.addUser('carol', 'Carol');
    await clock.advance(1_000);
    server.socketsOf(alice.id)[0]!.lose = (frame) => frame.type === 'conversation';
    const notified: string[] = [];
    client.events.on('message', ({ message, conversation }) =>
      notified.push(`${conversation.title}: ${message.body}`),
    );
    // A direct conversation appears without a `conversation` frame, with its first message.
    const conversation = server.conversations.get(server.openDirect(carol.id, alice.id).id)!;
    server.post(carol.id, conversation.id, 'hi, it is carol');
    await settle();
    const state = client.getSnapshot();
    expect(state.conversationOrder[0]).toBe(conversation.id);
    expect(state.conversations[conversation.id]).toMatchObject({
      title: 'Carol',
      unreadCount: 1,
      lastSeq: 1,
    });
    expect(notified).toEqual(['Carol: hi, it is carol']);
    client.close();
  });

  it('presence comes from contacts, then from presence frames', async () => {
    const { server, bob, alice } = setup();
    const client = await signedIn(server);
    await client.loadContacts();
    expect(client.getSnapshot().presence[bob.id]).toEqual({ online: false, lastSeenAt: null });
    server.socketsOf(alice.id)[0]!.send({
      type: 'presence',
      userId: bob.id,
      online: true,
      lastSeenAt: null,
    });
    await settle();
    expect(client.getSnapshot().presence[bob.id]).toEqual({ online: true, lastSeenAt: null });
    client.close();
  });

  it('groups: create, rename, leave; removal drops the conversation and its unsent messages', async () => {
    const { server, bob, alice, clock } = setup();
    const client = await signedIn(server);
    const group = await client.createGroup('Plans', [bob.id]);
    expect(client.getSnapshot().conversations[group.id]?.title).toBe('Plans');
    await client.renameConversation(group.id, 'Better plans');
    expect(client.getSnapshot().conversations[group.id]?.title).toBe('Better plans');
    server.refuseSockets = true;
    server.closeAll(1012);
    await settle();
    client.send(group.id, 'will never be sent');
    server.refuseSockets = false;
    server.removeMember(bob.id, group.id, alice.id);
    await clock.advance(1_000);
    const state = client.getSnapshot();
    expect(state.conversations[group.id]).toBeUndefined();
    expect(state.pending[group.id]).toBeUndefined();
    expect(client.outboxEntries()).toEqual([]);
    const second = await client.createGroup('Again', [bob.id]);
    await client.leaveConversation(second.id);
    expect(client.getSnapshot().conversations[second.id]).toBeUndefined();
    client.close();
  });

  it('edits apply at once from the REST answer', async () => {
    const { server, direct } = setup();
    const client = await signedIn(server);
    client.send(direct.id, 'tpyo');
    await settle();
    await client.editMessage(direct.id, 1, 'typo');
    expect(client.getSnapshot().timelines[direct.id]!.messages[0]!.body).toBe('typo');
    expect(client.getSnapshot().conversations[direct.id]!.lastMessage?.body).toBe('typo');
    client.close();
  });
});
