/** Guarantee 4: a non-member learns nothing about a conversation, not even that it exists. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  directConversation,
  register,
  sleep,
  startServer,
  TestSocket,
  type TestServer,
  type TestUser,
} from '../src/testing/harness.js';

describe('a third user', () => {
  let server: TestServer;
  let ana: TestUser;
  let ben: TestUser;
  let eve: TestUser;
  let conversationId: string;
  let eveSocket: TestSocket;
  let anaSocket: TestSocket;

  beforeAll(async () => {
    server = await startServer();
    [ana, ben, eve] = await Promise.all([
      register(server, 'ana'),
      register(server, 'ben'),
      register(server, 'eve'),
    ]);
    conversationId = await directConversation(server, ana, ben);
    eveSocket = await TestSocket.connect(server, eve.accessToken);
    anaSocket = await TestSocket.connect(server, ana.accessToken);
    await anaSocket.request({ type: 'send', conversationId, clientMsgId: 'p1', body: 'secret' });
  });
  afterAll(async () => {
    eveSocket.close();
    anaSocket.close();
    await server.stop();
  });

  const notFound = { error: { code: 'not_found', message: expect.any(String) } };

  it.each([
    ['GET', '/messages', undefined],
    ['GET', '', undefined],
    ['POST', '/messages', { clientMsgId: 'e1', body: 'let me in' }],
    ['POST', '/read', { seq: 1 }],
  ])('gets 404 for %s …%s', async (method, suffix, body) => {
    const result = await api(
      server,
      method,
      `/api/conversations/${conversationId}${suffix}`,
      eve.accessToken,
      body,
    );
    expect(result.status).toBe(404);
    expect(result.body).toEqual(notFound);
  });

  it('gets the same 404 for a conversation that does not exist', async () => {
    const result = await api(
      server,
      'GET',
      '/api/conversations/c_doesnotexist/messages',
      eve.accessToken,
    );
    expect(result.status).toBe(404);
    expect(result.body).toEqual(notFound);
  });

  it('does not see it in the conversation list', async () => {
    const list = await api(server, 'GET', '/api/conversations', eve.accessToken);
    expect(list.body.conversations).toEqual([]);
  });

  it.each([
    [{ type: 'send', conversationId: '', clientMsgId: 'e2', body: 'hi' }],
    [{ type: 'read', conversationId: '', seq: 1 }],
    [{ type: 'delivered', conversationId: '', seq: 1 }],
    [{ type: 'typing', conversationId: '' }],
  ])('gets error not_found over the socket for %j', async (frame) => {
    const answer = await eveSocket.request({ ...frame, conversationId });
    expect(answer).toMatchObject({ type: 'error', code: 'not_found' });
  });

  it('gets nothing replayed by sync, and learns nothing from its cursor', async () => {
    const answer = await eveSocket.request({ type: 'sync', cursors: { [conversationId]: 0 } });
    expect(answer).toMatchObject({ type: 'ok', conversations: [], truncated: [] });
    expect(eveSocket.of('message')).toHaveLength(0);
  });

  it('receives no events about it: messages, typing, receipts, presence', async () => {
    const benSocket = await TestSocket.connect(server, ben.accessToken);
    await anaSocket.request({
      type: 'send',
      conversationId,
      clientMsgId: 'p2',
      body: 'still secret',
    });
    await anaSocket.request({ type: 'typing', conversationId });
    await benSocket.request({ type: 'read', conversationId, seq: 2 });
    await benSocket.waitFor((f) => f.type === 'typing');
    await sleep(200);
    benSocket.close();
    const leaked = eveSocket.frames.filter(
      (f) => f.type !== 'ok' && f.type !== 'error' && f.type !== 'ready',
    );
    expect(leaked).toEqual([]);
  });

  it('cannot read receipts or members through a direct conversation of its own', async () => {
    const own = await directConversation(server, eve, ana);
    const view = await api(server, 'GET', `/api/conversations/${own}`, eve.accessToken);
    expect(
      view.body.conversation.members.map((m: { user: { id: string } }) => m.user.id).sort(),
    ).toEqual([ana.user.id, eve.user.id].sort());
    expect(view.body.conversation.lastSeq).toBe(0);
  });
});
