/**
 * Issue 10's group leaks through real HTTP and WebSocket: a late joiner hears nothing about
 * messages from before their join, membership changes cost one bounded frame per member, blocks
 * keep people out of each other's groups, and group changes have a rate limit of their own.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
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

  describe('a membership change in a large group', () => {
    it('sends each member one frame whose size does not grow with the group, serialized once', async () => {
      const n = 40;
      const [admin, newcomer, ...others] = await users(n + 2, 'big');
      const serialized = vi.spyOn(server.node.hub, 'deliverJson');
      const id = await createGroup(admin!, others);
      // A new group: the creator's view, and one view shared by every founding member.
      const created = serialized.mock.calls.filter(([, json]) =>
        json.startsWith('{"type":"conversation",'),
      );
      expect(created.map(([userIds]) => userIds.length)).toEqual([1, n]);
      const watched = [admin!, ...others.slice(0, 8)];
      const memberSockets = await Promise.all(watched.map(connect));
      const newcomerSocket = await connect(newcomer!);
      const path = `/api/conversations/${id}`;

      const changes: [string, () => Promise<{ status: number }>][] = [
        ['added', () => addMembers(admin!, id, [newcomer!])],
        ['renamed', () => api(server, 'PATCH', path, admin!.accessToken, { title: 'Renamed' })],
        [
          'promoted',
          () =>
            api(server, 'PATCH', `${path}/members/${others[0]!.user.id}`, admin!.accessToken, {
              role: 'admin',
            }),
        ],
        [
          'removed',
          () => api(server, 'DELETE', `${path}/members/${others[1]!.user.id}`, admin!.accessToken),
        ],
      ];
      let seq = 1;
      for (const [kind, change] of changes) {
        const from = memberSockets.map((socket) => socket.frames.length);
        serialized.mockClear();
        expect((await change()).status).toBeLessThan(300);
        seq += 1;
        // The system message comes last: every frame of the change has arrived by then.
        const live = memberSockets.filter((_, i) => !(kind === 'removed' && i === 2));
        for (const socket of live) {
          await socket.waitFor((f) => f.type === 'message' && f.message.seq === seq);
        }
        live.forEach((socket) => {
          const frames = socket.frames.slice(from[memberSockets.indexOf(socket)]);
          const about = frames.filter((f) => f.type !== 'message' && f.type !== 'presence');
          expect(about.map((f) => f.type)).toEqual(['conversation.changed']);
          expect(JSON.stringify(about[0]).length).toBeLessThan(600);
        });
        const deltas = serialized.mock.calls.filter(([, json]) =>
          json.includes('"type":"conversation.changed"'),
        );
        expect(deltas).toHaveLength(1);
        // Every member but the one it added (who gets a view) and the one it removed.
        expect(deltas[0]![0].length).toBe(kind === 'added' || kind === 'removed' ? n + 1 : n + 2);
        const views = serialized.mock.calls.filter(([, json]) =>
          json.startsWith('{"type":"conversation",'),
        );
        // Only the newcomer gets a full view, once.
        expect(views.map(([userIds]) => userIds)).toEqual(
          kind === 'added' ? [[newcomer!.user.id]] : [],
        );
      }
      const view = await newcomerSocket.waitFor((f) => f.type === 'conversation');
      expect(view.conversation.members).toHaveLength(n + 2);
      expect(view.conversation.memberCount).toBe(n + 2);
      serialized.mockRestore();

      // The list previews a few members and counts them; the rest is fetched on demand.
      const late = others[30]!;
      const list = await api(server, 'GET', '/api/conversations', late.accessToken);
      const entry = list.body.conversations.find((c: { id: string }) => c.id === id);
      expect(entry.memberCount).toBe(n + 1);
      const all = await api(server, 'GET', `${path}/members`, late.accessToken);
      expect(all.status).toBe(200);
      expect(all.body.memberCount).toBe(n + 1);
      expect(all.body.members).toHaveLength(n + 1);
      expect(all.body.membersVersion).toBe(entry.membersVersion);
      const full = await api(server, 'GET', path, late.accessToken);
      expect(full.body.conversation.members).toEqual(all.body.members);
      // The first five in join order, and the viewer's own entry wherever it ranks.
      const ids = (members: { user: { id: string } }[]) => members.map((m) => m.user.id);
      const firstFive = ids(all.body.members).slice(0, 5);
      const preview = firstFive.includes(late.user.id) ? firstFive : [...firstFive, late.user.id];
      expect(ids(entry.members)).toEqual(preview);
      for (const outsider of [others[1]!, (await users(1, 'out'))[0]!]) {
        expect(await api(server, 'GET', `${path}/members`, outsider.accessToken)).toMatchObject({
          status: 404,
          body: notFound,
        });
      }
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
