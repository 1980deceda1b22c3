import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  api,
  register,
  sleep,
  startServer,
  TestSocket,
  type TestServer,
  type TestUser,
} from '../src/testing/harness.js';

describe('two people chatting', () => {
  let server: TestServer;
  let ana: TestUser;
  let ben: TestUser;
  let conversationId: string;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    server = await startServer();
    ana = await register(server, 'ana');
    ben = await register(server, 'ben');
  });
  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await server.stop();
  });

  const connect = async (user: TestUser, header = true) => {
    const socket = await TestSocket.connect(server, user.accessToken, header);
    sockets.push(socket);
    return socket;
  };

  it('adds each other as contacts and opens one direct conversation from both sides', async () => {
    expect(
      (await api(server, 'POST', '/api/contacts', ana.accessToken, { username: ben.user.username }))
        .status,
    ).toBe(201);
    expect(
      (await api(server, 'POST', '/api/contacts', ana.accessToken, { username: ben.user.username }))
        .status,
    ).toBe(200);
    expect(
      (
        await api(server, 'POST', '/api/contacts', ben.accessToken, {
          username: ana.user.username.toUpperCase(),
        })
      ).status,
    ).toBe(201);
    const a = await api(server, 'POST', '/api/conversations', ana.accessToken, {
      kind: 'direct',
      userId: ben.user.id,
    });
    const b = await api(server, 'POST', '/api/conversations', ben.accessToken, {
      kind: 'direct',
      userId: ana.user.id,
    });
    expect(a.status).toBe(201);
    expect(b.status).toBe(200);
    expect(b.body.conversation.id).toBe(a.body.conversation.id);
    expect(a.body.conversation.title).toBe(ben.user.displayName);
    expect(b.body.conversation.title).toBe(ana.user.displayName);
    conversationId = a.body.conversation.id;
  });

  it('delivers both ways in real time, to the sender’s other sessions too', async () => {
    const anaPhone = await connect(ana);
    const anaLaptop = await connect(ana, false);
    const benPhone = await connect(ben);

    const sent = await anaPhone.request({
      type: 'send',
      conversationId,
      clientMsgId: 'a1',
      body: '  hello Ben  ',
    });
    expect(sent.type).toBe('ok');
    expect(sent.message).toMatchObject({
      seq: 1,
      body: 'hello Ben',
      senderId: ana.user.id,
      clientMsgId: 'a1',
    });
    await benPhone.waitFor((f) => f.type === 'message' && f.message.id === sent.message.id);
    await anaLaptop.waitFor((f) => f.type === 'message' && f.message.id === sent.message.id);
    await sleep(100);
    // The sending socket gets its ok, not a second copy as an event.
    expect(anaPhone.of('message')).toHaveLength(0);

    const reply = await benPhone.request({
      type: 'send',
      to: ana.user.id,
      clientMsgId: 'b1',
      body: 'hi Ana',
    });
    expect(reply.message).toMatchObject({ seq: 2, conversationId });
    await anaPhone.waitFor((f) => f.type === 'message' && f.message.seq === 2);

    const history = await api(
      server,
      'GET',
      `/api/conversations/${conversationId}/messages`,
      ben.accessToken,
    );
    expect(history.body.messages.map((m: { body: string }) => m.body)).toEqual([
      'hello Ben',
      'hi Ana',
    ]);
    expect(history.body.hasMore).toBe(false);
  });

  it('sends delivered and read receipts to the sender, and keeps unread counts server-side', async () => {
    const anaSocket = await connect(ana);
    const benSocket = await connect(ben);
    const benPhone = await connect(ben);
    const sent = await anaSocket.request({
      type: 'send',
      conversationId,
      clientMsgId: 'a2',
      body: 'are you there?',
    });
    const seq = sent.message.seq as number;

    const listBefore = await api(server, 'GET', '/api/conversations', ben.accessToken);
    const before = listBefore.body.conversations.find(
      (c: { id: string }) => c.id === conversationId,
    );
    expect(before.unreadCount).toBe(seq - before.readSeq);
    expect(before.unreadCount).toBeGreaterThan(0);
    expect(before.lastMessage.body).toBe('are you there?');

    expect((await benSocket.request({ type: 'delivered', conversationId, seq })).type).toBe('ok');
    await anaSocket.waitFor(
      (f) =>
        f.type === 'receipt' && f.kind === 'delivered' && f.seq === seq && f.userId === ben.user.id,
    );
    const readAnswer = await benSocket.request({ type: 'read', conversationId, seq });
    expect(readAnswer).toMatchObject({ type: 'ok', seq });
    await anaSocket.waitFor((f) => f.type === 'receipt' && f.kind === 'read' && f.seq === seq);
    // Ben's other session hears his read; the socket that reported it has its answer instead.
    await benPhone.waitFor(
      (f) => f.type === 'receipt' && f.kind === 'read' && f.seq === seq && f.userId === ben.user.id,
    );
    await benSocket.request({ type: 'ping' });
    expect(benSocket.of('receipt').filter((f) => f.userId === ben.user.id)).toEqual([]);
    benPhone.close();

    // Reading backwards is a no-op: positions only move forward.
    await benSocket.request({ type: 'read', conversationId, seq: 1 });
    const after = (
      await api(server, 'GET', `/api/conversations/${conversationId}`, ben.accessToken)
    ).body.conversation;
    expect(after.readSeq).toBe(seq);
    expect(after.unreadCount).toBe(0);
    const benAsMember = after.members.find(
      (m: { user: { id: string } }) => m.user.id === ben.user.id,
    );
    expect(benAsMember).toMatchObject({ readSeq: seq, deliveredSeq: seq, role: 'member' });

    // REST read works too, and is clamped to lastSeq.
    expect(
      (
        await api(server, 'POST', `/api/conversations/${conversationId}/read`, ben.accessToken, {
          seq: 10_000,
        })
      ).status,
    ).toBe(204);
    const clamped = (
      await api(server, 'GET', `/api/conversations/${conversationId}`, ben.accessToken)
    ).body.conversation;
    expect(clamped.readSeq).toBe(clamped.lastSeq);
  });

  it('relays typing to the other member, throttled', async () => {
    const anaSocket = await connect(ana);
    const benSocket = await connect(ben);
    anaSocket.sendRaw(JSON.stringify({ type: 'typing', conversationId }));
    anaSocket.sendRaw(JSON.stringify({ type: 'typing', conversationId }));
    await benSocket.waitFor(
      (f) => f.type === 'typing' && f.userId === ana.user.id && f.conversationId === conversationId,
    );
    await sleep(200);
    expect(benSocket.of('typing')).toHaveLength(1);
    expect(anaSocket.of('typing')).toHaveLength(0);
  });

  it('announces presence to contacts, without flapping on a quick reconnect', async () => {
    for (const socket of sockets.splice(0)) socket.close();
    // Offline once the 200 ms grace (in tests) has passed; ben connects after, so he hears
    // nothing of it.
    await vi.waitFor(
      async () => {
        const contacts = await api(server, 'GET', '/api/contacts', ben.accessToken);
        expect(contacts.body.contacts).toEqual([
          expect.objectContaining({
            user: expect.objectContaining({ id: ana.user.id }),
            online: false,
          }),
        ]);
        expect(contacts.body.contacts[0].lastSeenAt).toMatch(/^\d{4}-\d\d-\d\dT/);
      },
      { timeout: 10_000, interval: 50 },
    );
    const benSocket = await connect(ben);

    const anaSocket = await connect(ana);
    await benSocket.waitFor(
      (f) => f.type === 'presence' && f.userId === ana.user.id && f.online === true,
    );
    expect(
      (await api(server, 'GET', '/api/contacts', ben.accessToken)).body.contacts[0].online,
    ).toBe(true);

    // A reload: close and reconnect within the grace period; nobody sees Ana go offline.
    anaSocket.close();
    await anaSocket.closed;
    await connect(ana);
    await sleep(400);
    expect(
      benSocket.of('presence').filter((f) => f.userId === ana.user.id && f.online === false),
    ).toHaveLength(0);

    for (const socket of sockets.splice(0)) if (socket !== benSocket) socket.close();
    sockets.push(benSocket);
    await benSocket.waitFor(
      (f) => f.type === 'presence' && f.userId === ana.user.id && f.online === false,
    );
  });
});
