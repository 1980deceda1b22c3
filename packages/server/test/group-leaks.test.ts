/**
 * Issue 10's group leaks through real HTTP and WebSocket: a late joiner hears nothing about
 * messages from before their join, membership changes cost one bounded frame per member, blocks
 * keep people out of each other's groups, and group changes have a rate limit of their own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  register,
  startServer,
  TestSocket,
  type Frame,
  type TestServer,
  type TestUser,
} from '../src/testing/harness.js';
import { ManualClock } from '../src/util/clock.js';

const notFound = { error: { code: 'not_found', message: expect.any(String) } };

describe('group leaks', () => {
  let server: TestServer;
  const sockets: TestSocket[] = [];
  let clientMsg = 0;

  beforeAll(async () => {
    server = await startServer();
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
  const users = async (count: number, name = 'u') =>
    Promise.all(Array.from({ length: count }, () => register(server, name)));
  const createGroup = async (admin: TestUser, members: TestUser[]) => {
    const result = await api(server, 'POST', '/api/conversations', admin.accessToken, {
      kind: 'group',
      title: 'Team',
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
      { clientMsgId: `c${++clientMsg}`, body },
    );
    expect(result.status).toBe(201);
    return result.body.message as { seq: number };
  };
  const addMembers = (admin: TestUser, conversationId: string, members: TestUser[]) =>
    api(server, 'POST', `/api/conversations/${conversationId}/members`, admin.accessToken, {
      userIds: members.map((m) => m.user.id),
    });
  const updated = (socket: TestSocket, seq: number) =>
    socket.waitFor((f: Frame) => f.type === 'message.updated' && f.message.seq === seq);

  describe('a late joiner', () => {
    it('hears no update of a message from before their join, and does of one after', async () => {
      const [ana, ben, cat] = (await users(3, 'late')) as [TestUser, TestUser, TestUser];
      const id = await createGroup(ana, [ben]);
      const old = await send(ben, id, 'said before cat came'); // 2
      expect((await addMembers(ana, id, [cat])).status).toBe(200); // 3
      const [benSocket, catSocket] = await Promise.all([connect(ben), connect(cat)]);
      const path = `/api/conversations/${id}/messages/${old.seq}`;

      const react = await api(server, 'PUT', `${path}/reactions`, ana.accessToken, {
        emoji: '👍',
      });
      expect(react.status).toBe(200);
      await updated(benSocket, old.seq);
      const edit = await api(server, 'PATCH', path, ben.accessToken, { body: 'edited' });
      expect(edit.status).toBe(200);
      await updated(benSocket, old.seq);
      expect((await api(server, 'DELETE', path, ben.accessToken)).status).toBe(204);
      await updated(benSocket, old.seq);

      const fresh = await send(ben, id, 'said after'); // 4
      await api(
        server,
        'PUT',
        `/api/conversations/${id}/messages/${fresh.seq}/reactions`,
        ana.accessToken,
        {
          emoji: '🎉',
        },
      );
      // Frames of one node arrive in order: by this one, any update of seq 2 would have come.
      await updated(catSocket, fresh.seq);
      const leaked = catSocket.frames.filter(
        (f) => f.type === 'message.updated' && f.message.seq === old.seq,
      );
      expect(leaked).toEqual([]);
      expect(JSON.stringify(catSocket.frames)).not.toContain('said before cat came');

      // Nor can they read or touch it over REST.
      const token = cat.accessToken;
      expect(await api(server, 'GET', `${path}/receipts`, token)).toMatchObject({
        status: 404,
        body: notFound,
      });
      expect(await api(server, 'PUT', `${path}/reactions`, token, { emoji: '👍' })).toMatchObject({
        status: 404,
        body: notFound,
      });
      expect(await api(server, 'DELETE', `${path}/reactions`, token)).toMatchObject({
        status: 404,
        body: notFound,
      });
      expect(await api(server, 'PATCH', path, token, { body: 'x' })).toMatchObject({
        status: 404,
        body: notFound,
      });
      expect(await api(server, 'DELETE', path, token)).toMatchObject({
        status: 404,
        body: notFound,
      });
    });
  });

  describe('group changes have a rate limit of their own', () => {
    it('is off with LETTER_RATE_LIMITS=off, as in every other suite', async () => {
      const [ana, ben] = (await users(2, 'free')) as [TestUser, TestUser];
      for (let i = 0; i < 25; i++) await createGroup(ana, [ben]);
    });

    it('answers 429 rate_limited with Retry-After past the bucket, per user', async () => {
      // Time stands still, so the bucket does not refill while the test runs, however slowly.
      const clock = new ManualClock(Date.now());
      const limited = await startServer({ config: { rateLimits: true }, clock });
      try {
        const register2 = (name: string) => register(limited, name);
        const [ana, ben, cat] = await Promise.all(['rl', 'rl', 'rl'].map(register2));
        const create = (user: TestUser) =>
          api(limited, 'POST', '/api/conversations', user.accessToken, {
            kind: 'group',
            title: 'Many',
            memberIds: [ben!.user.id],
          });
        const first = await create(ana!);
        expect(first.status).toBe(201);
        const id = first.body.conversation.id as string;
        const members = `/api/conversations/${id}/members`;
        // Creations and membership changes draw from one bucket of 20.
        let taken = 1;
        for (; taken < 10; taken++) expect((await create(ana!)).status).toBe(201);
        for (; taken < 20; taken += 2) {
          const add = await api(limited, 'POST', members, ana!.accessToken, {
            userIds: [cat!.user.id],
          });
          expect(add.status).toBe(200);
          const remove = await api(
            limited,
            'DELETE',
            `${members}/${cat!.user.id}`,
            ana!.accessToken,
          );
          expect(remove.status).toBe(204);
        }
        for (const refused of [
          await create(ana!),
          await api(limited, 'POST', members, ana!.accessToken, { userIds: [cat!.user.id] }),
          await api(limited, 'PATCH', `/api/conversations/${id}`, ana!.accessToken, { title: 'x' }),
        ]) {
          expect(refused).toMatchObject({ status: 429, body: { error: { code: 'rate_limited' } } });
          expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        }
        // Sending is another bucket, and another user has their own.
        const sent = await api(
          limited,
          'POST',
          `/api/conversations/${id}/messages`,
          ana!.accessToken,
          {
            clientMsgId: 'still-talking',
            body: 'hi',
          },
        );
        expect(sent.status).toBe(201);
        expect((await create(ben!)).status).toBe(201);
        clock.advance(5_000);
        expect((await create(ana!)).status).toBe(201);
      } finally {
        await limited.stop();
      }
    });
  });
});
