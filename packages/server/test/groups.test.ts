/**
 * Group management through real HTTP and WebSocket: rename, add, remove, leave, roles, the
 * admin hand-over, history from one's join, and that a removed member learns nothing more.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bus } from '../src/bus/bus.js';
import { MemoryBus } from '../src/bus/memory.js';
import type { Store } from '../src/store/store.js';
import { openSqliteStore } from '../src/store/sqlite/worker-store.js';
import {
  api,
  directConversation,
  register,
  sleep,
  startServer,
  tempDir,
  TestSocket,
  type Frame,
  type TestServer,
  type TestUser,
} from '../src/testing/harness.js';

const notFound = { error: { code: 'not_found', message: expect.any(String) } };
const forbidden = { error: { code: 'forbidden', message: expect.any(String) } };

/** The next frame matching `predicate` that arrives after this call. */
const next = (socket: TestSocket, predicate: (frame: Frame) => boolean): Promise<Frame> => {
  const from = socket.frames.length;
  return socket.waitFor((f) => socket.frames.indexOf(f) >= from && predicate(f));
};

/** Whether a frame says anything about the conversation. */
const about = (frame: Frame, conversationId: string): boolean =>
  frame.conversationId === conversationId ||
  frame.message?.conversationId === conversationId ||
  frame.conversation?.id === conversationId;

describe('group management', () => {
  let server: TestServer;
  let ana: TestUser;
  let ben: TestUser;
  let cat: TestUser;
  let dan: TestUser;
  let eve: TestUser;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    server = await startServer();
    [ana, ben, cat, dan, eve] = (await Promise.all(
      ['ana', 'ben', 'cat', 'dan', 'eve'].map((name) => register(server, name)),
    )) as [TestUser, TestUser, TestUser, TestUser, TestUser];
  });
  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await server.stop();
  });

  const connect = async (user: TestUser) => {
    const socket = await TestSocket.connect(server, user.accessToken);
    sockets.push(socket);
    return socket;
  };
  const createGroup = async (admin: TestUser, members: TestUser[], title = 'Team') => {
    const result = await api(server, 'POST', '/api/conversations', admin.accessToken, {
      kind: 'group',
      title,
      memberIds: members.map((m) => m.user.id),
    });
    expect(result.status).toBe(201);
    return result.body.conversation.id as string;
  };
  const send = async (user: TestUser, conversationId: string, body: string) => {
    const result = await api(
      server,
      'POST',
      `/api/conversations/${conversationId}/messages`,
      user.accessToken,
      { clientMsgId: `${body}-${Math.random()}`, body },
    );
    expect(result.status).toBe(201);
    return result.body.message as { seq: number; body: string };
  };
  const history = async (user: TestUser, conversationId: string, query = '') =>
    api(server, 'GET', `/api/conversations/${conversationId}/messages${query}`, user.accessToken);
  const roleOf = (conversation: any, user: TestUser) =>
    conversation.members.find((m: any) => m.user.id === user.user.id)?.role;

  it('renames (admins only) and tells every member with a system message', async () => {
    const id = await createGroup(ana, [ben, cat]);
    const benSocket = await connect(ben);
    const renamed = await api(server, 'PATCH', `/api/conversations/${id}`, ana.accessToken, {
      title: '  Weekend plans ',
    });
    expect(renamed.status).toBe(200);
    expect(renamed.body.conversation).toMatchObject({ id, title: 'Weekend plans', lastSeq: 2 });

    const event = await benSocket.waitFor(
      (f) => f.type === 'conversation.changed' && f.conversationId === id,
    );
    // One delta: what changed, with the member list's count and version after it.
    const fetched = await api(server, 'GET', `/api/conversations/${id}`, ben.accessToken);
    expect(event).toEqual({
      type: 'conversation.changed',
      conversationId: id,
      membersVersion: fetched.body.conversation.membersVersion,
      memberCount: 3,
      title: 'Weekend plans',
      added: [],
      removed: [],
      roles: [],
    });
    expect(benSocket.frames.filter((f) => f.type === 'conversation')).toEqual([]);
    const system = await benSocket.waitFor((f) => f.type === 'message' && f.message.seq === 2);
    expect(system.message).toMatchObject({
      conversationId: id,
      senderId: null,
      clientMsgId: null,
      system: { kind: 'renamed', actorId: ana.user.id, userIds: [], title: 'Weekend plans' },
    });

    const byMember = await api(server, 'PATCH', `/api/conversations/${id}`, ben.accessToken, {
      title: 'Mine now',
    });
    expect(byMember).toMatchObject({ status: 403, body: forbidden });
    const byOutsider = await api(server, 'PATCH', `/api/conversations/${id}`, eve.accessToken, {
      title: 'Mine now',
    });
    expect(byOutsider).toMatchObject({ status: 404, body: notFound });
    const bad = await api(server, 'PATCH', `/api/conversations/${id}`, ana.accessToken, {
      title: '   ',
    });
    expect(bad.status).toBe(400);
  });

  it('adds members, who see the group from the message that added them on', async () => {
    const id = await createGroup(ana, [ben]);
    await send(ben, id, 'before dan joined');
    await send(ana, id, 'also before');
    const danSocket = await connect(dan);

    const added = await api(server, 'POST', `/api/conversations/${id}/members`, ana.accessToken, {
      userIds: [dan.user.id, ben.user.id],
    });
    expect(added.status).toBe(200);
    expect(roleOf(added.body.conversation, dan)).toBe('member');
    expect(added.body.conversation.lastMessage.system).toEqual({
      kind: 'added',
      actorId: ana.user.id,
      userIds: [dan.user.id],
    });

    const event = await danSocket.waitFor(
      (f) => f.type === 'conversation' && f.conversation.id === id,
    );
    expect(event.conversation).toMatchObject({
      firstSeq: 4,
      lastSeq: 4,
      readSeq: 3,
      unreadCount: 1,
    });
    await danSocket.waitFor((f) => f.type === 'message' && f.message.conversationId === id);
    const page = await history(dan, id);
    expect(page.body).toMatchObject({ hasMore: false });
    expect(page.body.messages.map((m: any) => m.seq)).toEqual([4]);
    expect((await history(dan, id, '?before=4')).body).toEqual({ messages: [], hasMore: false });
    expect((await history(dan, id, '?after=0')).body.messages.map((m: any) => m.seq)).toEqual([4]);

    const sync = await danSocket.request({ type: 'sync', cursors: { [id]: 0 } });
    expect(sync.type).toBe('ok');
    const replayed = danSocket.of('message').filter((f) => f.message.conversationId === id);
    expect(replayed.every((f) => f.message.seq >= 4)).toBe(true);

    const receipts = await api(
      server,
      'GET',
      `/api/conversations/${id}/messages/2/receipts`,
      dan.accessToken,
    );
    expect(receipts).toMatchObject({ status: 404, body: notFound });
    const search = await api(server, 'GET', '/api/search?q=before', dan.accessToken);
    expect(search.body.results).toEqual([]);

    const notAdmin = await api(
      server,
      'POST',
      `/api/conversations/${id}/members`,
      ben.accessToken,
      {
        userIds: [eve.user.id],
      },
    );
    expect(notAdmin).toMatchObject({ status: 403, body: forbidden });
    const unknown = await api(server, 'POST', `/api/conversations/${id}/members`, ana.accessToken, {
      userIds: ['u_nobody'],
    });
    expect(unknown.status).toBe(404);
  });

  it('promotes and demotes (admins only)', async () => {
    const id = await createGroup(ana, [ben, cat]);
    const path = (user: TestUser) => `/api/conversations/${id}/members/${user.user.id}`;
    const byMember = await api(server, 'PATCH', path(cat), ben.accessToken, { role: 'admin' });
    expect(byMember).toMatchObject({ status: 403, body: forbidden });
    const promoted = await api(server, 'PATCH', path(ben), ana.accessToken, { role: 'admin' });
    expect(promoted.status).toBe(200);
    expect(roleOf(promoted.body.conversation, ben)).toBe('admin');
    expect(promoted.body.conversation.lastMessage.system).toEqual({
      kind: 'promoted',
      actorId: ana.user.id,
      userIds: [ben.user.id],
    });
    const demoted = await api(server, 'PATCH', path(ana), ben.accessToken, { role: 'member' });
    expect(roleOf(demoted.body.conversation, ana)).toBe('member');
    const stranger = await api(server, 'PATCH', path(eve), ben.accessToken, { role: 'admin' });
    expect(stranger.status).toBe(404);
    const badRole = await api(server, 'PATCH', path(cat), ben.accessToken, { role: 'owner' });
    expect(badRole.status).toBe(400);
  });

  it('hands admin over to the longest-standing member when the last admin leaves', async () => {
    const id = await createGroup(ana, [ben]);
    await api(server, 'POST', `/api/conversations/${id}/members`, ana.accessToken, {
      userIds: [cat.user.id],
    });
    const catSocket = await connect(cat);
    const left = await api(
      server,
      'DELETE',
      `/api/conversations/${id}/members/${ana.user.id}`,
      ana.accessToken,
    );
    expect(left.status).toBe(204);
    const promotion = await catSocket.waitFor(
      (f) => f.type === 'message' && f.message.system?.kind === 'promoted',
    );
    expect(promotion.message.system).toEqual({
      kind: 'promoted',
      actorId: null,
      userIds: [ben.user.id],
    });
    const view = await api(server, 'GET', `/api/conversations/${id}`, cat.accessToken);
    expect(roleOf(view.body.conversation, ben)).toBe('admin');
    expect(view.body.conversation.members).toHaveLength(2);
    const leftMessage = catSocket
      .of('message')
      .find((f) => f.message.conversationId === id && f.message.system?.kind === 'left');
    expect(leftMessage!.message.system).toEqual({
      kind: 'left',
      actorId: ana.user.id,
      userIds: [ana.user.id],
    });
    expect(leftMessage!.message.seq).toBe(promotion.message.seq - 1);
  });

  it('refuses to manage a direct conversation (forbidden)', async () => {
    const id = await directConversation(server, ana, ben);
    const base = `/api/conversations/${id}`;
    const results = await Promise.all([
      api(server, 'PATCH', base, ana.accessToken, { title: 'x' }),
      api(server, 'POST', `${base}/members`, ana.accessToken, { userIds: [cat.user.id] }),
      api(server, 'DELETE', `${base}/members/${ben.user.id}`, ana.accessToken),
      api(server, 'DELETE', `${base}/members/${ana.user.id}`, ana.accessToken),
      api(server, 'PATCH', `${base}/members/${ben.user.id}`, ana.accessToken, { role: 'admin' }),
    ]);
    for (const result of results) expect(result).toMatchObject({ status: 403, body: forbidden });
  });

  describe('a removed member', () => {
    let id: string;
    let catSocket: TestSocket;
    let benSocket: TestSocket;
    let removedAt: number;

    beforeAll(async () => {
      id = await createGroup(ana, [ben, cat]);
      await send(ben, id, 'hello all');
      catSocket = await connect(cat);
      benSocket = await connect(ben);
    });

    it('stops receiving the group at once, even with sends racing the removal', async () => {
      // Ben keeps sending while Ana removes Cat: whatever the interleaving, Cat must get no
      // message with a seq after the one that removed her.
      const burst = Array.from({ length: 30 }, (_, i) =>
        benSocket.request({
          type: 'send',
          conversationId: id,
          clientMsgId: `race${i}`,
          body: `m${i}`,
        }),
      );
      const removal = api(
        server,
        'DELETE',
        `/api/conversations/${id}/members/${cat.user.id}`,
        ana.accessToken,
      );
      const [answers, removed] = await Promise.all([Promise.all(burst), removal]);
      expect(removed.status).toBe(204);
      expect(answers.every((a) => a.type === 'ok')).toBe(true);
      const removedEvent = await catSocket.waitFor((f) => f.type === 'conversation.removed');
      expect(removedEvent).toEqual({ type: 'conversation.removed', conversationId: id });
      const system = await benSocket.waitFor(
        (f) => f.type === 'message' && f.message.system?.kind === 'removed',
      );
      removedAt = system.message.seq;
      expect(system.message.system).toEqual({
        kind: 'removed',
        actorId: ana.user.id,
        userIds: [cat.user.id],
      });
      await sleep(100);
      const late = catSocket
        .of('message')
        .filter((f) => f.message.conversationId === id && f.message.seq >= removedAt);
      expect(late).toEqual([]);
    });

    it('receives no further event of the group: message, edit, reaction, rename, typing', async () => {
      const seen = catSocket.frames.length;
      const sent = await send(ben, id, 'after cat left');
      await api(server, 'PATCH', `/api/conversations/${id}/messages/${sent.seq}`, ben.accessToken, {
        body: 'edited after cat left',
      });
      await api(
        server,
        'PUT',
        `/api/conversations/${id}/messages/${sent.seq}/reactions`,
        ana.accessToken,
        { emoji: '👍' },
      );
      await api(server, 'PATCH', `/api/conversations/${id}`, ana.accessToken, { title: 'Secret' });
      await benSocket.request({ type: 'typing', conversationId: id });
      await benSocket.request({ type: 'read', conversationId: id, seq: sent.seq });
      await api(
        server,
        'PATCH',
        `/api/conversations/${id}/members/${ben.user.id}`,
        ana.accessToken,
        {
          role: 'admin',
        },
      );
      await sleep(200);
      const leaked = catSocket.frames.slice(seen).filter((f) => about(f, id));
      expect(leaked).toEqual([]);
    });

    it('gets 404 from every route of the group', async () => {
      const base = `/api/conversations/${id}`;
      const token = cat.accessToken;
      const calls: [string, string, unknown?][] = [
        ['GET', base],
        ['GET', `${base}/messages`],
        ['POST', `${base}/messages`, { clientMsgId: 'back', body: 'let me back' }],
        ['POST', `${base}/read`, { seq: 1 }],
        ['PATCH', base, { title: 'mine' }],
        ['POST', `${base}/members`, { userIds: [cat.user.id] }],
        ['DELETE', `${base}/members/${ben.user.id}`],
        ['DELETE', `${base}/members/${cat.user.id}`],
        ['PATCH', `${base}/members/${cat.user.id}`, { role: 'admin' }],
        ['PATCH', `${base}/settings`, { muted: true }],
        ['PATCH', `${base}/messages/2`, { body: 'changed' }],
        ['DELETE', `${base}/messages/2`],
        ['PUT', `${base}/messages/2/reactions`, { emoji: '👍' }],
        ['DELETE', `${base}/messages/2/reactions`],
        ['GET', `${base}/messages/2/receipts`],
        ['GET', `/api/search?q=hello&conversationId=${id}`],
      ];
      for (const [method, path, body] of calls) {
        const result = await api(server, method, path, token, body);
        expect({ method, path, status: result.status, body: result.body }).toEqual({
          method,
          path,
          status: 404,
          body: notFound,
        });
      }
      for (const frame of [
        { type: 'send', conversationId: id, clientMsgId: 'ws-back', body: 'hi' },
        { type: 'typing', conversationId: id },
        { type: 'read', conversationId: id, seq: 1 },
        { type: 'delivered', conversationId: id, seq: 1 },
      ]) {
        expect(await catSocket.request(frame)).toMatchObject({ type: 'error', code: 'not_found' });
      }
      const list = await api(server, 'GET', '/api/conversations', token);
      expect(list.body.conversations.map((c: any) => c.id)).not.toContain(id);
      const search = await api(server, 'GET', '/api/search?q=hello', token);
      expect(search.body.results.filter((r: any) => r.conversationId === id)).toEqual([]);
      const sync = await catSocket.request({ type: 'sync', cursors: { [id]: 0 } });
      expect(sync.conversations.map((c: any) => c.id)).not.toContain(id);
    });

    it('sees the group again when re-added, but not what was said meanwhile', async () => {
      const readded = await api(
        server,
        'POST',
        `/api/conversations/${id}/members`,
        ana.accessToken,
        {
          userIds: [cat.user.id],
        },
      );
      expect(readded.status).toBe(200);
      const event = await catSocket.waitFor(
        (f) => f.type === 'conversation' && f.conversation.id === id && f.conversation.firstSeq > 1,
      );
      const joinSeq = event.conversation.firstSeq;
      expect(joinSeq).toBe(event.conversation.lastSeq);
      expect(event.conversation.title).toBe('Secret');
      const page = await history(cat, id);
      expect(page.body.messages.map((m: any) => m.seq)).toEqual([joinSeq]);
      expect(page.body.messages[0].system).toEqual({
        kind: 'added',
        actorId: ana.user.id,
        userIds: [cat.user.id],
      });
      const search = await api(
        server,
        'GET',
        `/api/search?q=after&conversationId=${id}`,
        cat.accessToken,
      );
      expect(search.body.results).toEqual([]);

      const sent = await send(ben, id, 'welcome back');
      const live = await catSocket.waitFor(
        (f) =>
          f.type === 'message' && f.message.seq === sent.seq && f.message.conversationId === id,
      );
      expect(live.message.body).toBe('welcome back');
    });

    it('can leave on their own, and hears conversation.removed on every session', async () => {
      const second = await connect(cat);
      const removedFrames = [catSocket, second].map((socket) =>
        next(socket, (f) => f.type === 'conversation.removed' && f.conversationId === id),
      );
      const leftMessage = next(
        benSocket,
        (f) => f.type === 'message' && f.message.system?.kind === 'left',
      );
      const left = await api(
        server,
        'DELETE',
        `/api/conversations/${id}/members/${cat.user.id}`,
        cat.accessToken,
      );
      expect(left.status).toBe(204);
      await Promise.all(removedFrames);
      const system = await leftMessage;
      expect(system.message.system).toEqual({
        kind: 'left',
        actorId: cat.user.id,
        userIds: [cat.user.id],
      });
      expect((await api(server, 'GET', `/api/conversations/${id}`, cat.accessToken)).status).toBe(
        404,
      );
    });
  });

  describe('mute and archive', () => {
    it('are the caller’s own, reach their other sessions, and a new message un-archives', async () => {
      const id = await directConversation(server, dan, eve);
      const danPhone = await connect(dan);
      const patch = (body: unknown) =>
        api(server, 'PATCH', `/api/conversations/${id}/settings`, dan.accessToken, body);
      const muted = await patch({ muted: true, archived: true });
      expect(muted.status).toBe(200);
      expect(muted.body.conversation).toMatchObject({ id, muted: true, archived: true });
      const event = await danPhone.waitFor(
        (f) => f.type === 'conversation' && f.conversation.id === id && f.conversation.archived,
      );
      expect(event.conversation.muted).toBe(true);
      const eveView = await api(server, 'GET', `/api/conversations/${id}`, eve.accessToken);
      expect(eveView.body.conversation).toMatchObject({ muted: false, archived: false });

      expect((await patch({})).status).toBe(400);
      expect((await patch({ muted: 'yes' })).status).toBe(400);

      await send(eve, id, 'are you there?');
      const list = await api(server, 'GET', '/api/conversations', dan.accessToken);
      const mine = list.body.conversations.find((c: any) => c.id === id);
      expect(mine).toMatchObject({ muted: true, archived: false, unreadCount: 1 });
    });
  });
});

/** A node's view of a shared bus that hears everything `delayMs` late: a slow subscriber. */
class LateBus implements Bus {
  constructor(
    private readonly bus: Bus,
    private readonly delayMs: number,
  ) {}
  publish(channel: string, payload: string): Promise<void> {
    return this.bus.publish(channel, payload);
  }
  subscribe(channel: string, onPayload: (payload: string) => void) {
    return this.bus.subscribe(channel, (payload) => {
      setTimeout(() => onPayload(payload), this.delayMs);
    });
  }
  isUp(): boolean {
    return this.bus.isUp();
  }
  async close(): Promise<void> {}
}

describe('a removal on one node, a send on another that has not heard of it yet', () => {
  let store: Store;
  let bus: MemoryBus;
  let nodeA: TestServer;
  let nodeB: TestServer;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    store = await openSqliteStore({ file: join(tempDir(), 'letter.db') });
    bus = new MemoryBus();
    const config = { jwtSecret: 'groups-cluster-secret-0123456789abcdef' };
    nodeA = await startServer({ store, bus, config });
    nodeB = await startServer({ store, bus: new LateBus(bus, 400), config });
  });
  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await nodeA.stop();
    await nodeB.stop();
    await bus.close();
    await store.close();
  });

  it('still keeps the message from the removed member: the store checks the member list', async () => {
    const [ana, ben, cat] = (await Promise.all(
      ['ana', 'ben', 'cat'].map((name) => register(nodeA, name)),
    )) as [TestUser, TestUser, TestUser];
    const created = await api(nodeA, 'POST', '/api/conversations', ana.accessToken, {
      kind: 'group',
      title: 'Two nodes',
      memberIds: [ben.user.id, cat.user.id],
    });
    const id = created.body.conversation.id as string;
    const catOnA = await TestSocket.connect(nodeA, cat.accessToken);
    sockets.push(catOnA);
    const send = (body: string) =>
      api(nodeB, 'POST', `/api/conversations/${id}/messages`, ben.accessToken, {
        clientMsgId: body,
        body,
      });
    // Node B caches the member list (with Cat) while sending this one.
    await sleep(500);
    const before = await send('before the removal');
    await catOnA.waitFor((f) => f.type === 'message' && f.message.id === before.body.message.id);

    const removed = await api(
      nodeA,
      'DELETE',
      `/api/conversations/${id}/members/${cat.user.id}`,
      ana.accessToken,
    );
    expect(removed.status).toBe(204);
    // Node B hears of the removal 400 ms from now; this send goes through it before that.
    const after = await send('after the removal');
    expect(after.status).toBe(201);
    await sleep(600);
    const leaked = catOnA.frames.filter(
      (f) => f.type === 'message' && f.message.id === after.body.message.id,
    );
    expect(leaked).toEqual([]);
  });
});
