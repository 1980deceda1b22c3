/** A user's data: the export download, and deleting the account with all it implies. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  directConversation,
  register,
  startServer,
  TestSocket,
  type Frame,
  type TestServer,
  type TestUser,
} from '../src/testing/harness.js';

const PASSWORD = 'correct horse battery';

const next = (socket: TestSocket, predicate: (frame: Frame) => boolean): Promise<Frame> => {
  const from = socket.frames.length;
  return socket.waitFor((f) => socket.frames.indexOf(f) >= from && predicate(f));
};

describe('account data', () => {
  let server: TestServer;
  let ana: TestUser;
  let ben: TestUser;
  let cat: TestUser;
  let direct: string;
  let group: string;
  let n = 0;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    server = await startServer();
    [ana, ben, cat] = (await Promise.all(
      ['ana', 'ben', 'cat'].map((u) => register(server, u)),
    )) as [TestUser, TestUser, TestUser];
    await api(server, 'POST', '/api/contacts', ana.accessToken, { username: ben.user.username });
    await api(server, 'POST', '/api/contacts', ben.accessToken, { username: ana.user.username });
    direct = await directConversation(server, ana, ben);
    const created = await api(server, 'POST', '/api/conversations', ana.accessToken, {
      kind: 'group',
      title: 'Book club',
      memberIds: [ben.user.id, cat.user.id],
    });
    group = created.body.conversation.id;
    // After the group: nobody can be put into a group with someone blocked either way.
    await api(server, 'POST', '/api/blocks', ana.accessToken, { userId: cat.user.id });
    await api(server, 'POST', '/api/blocks', cat.accessToken, { userId: ana.user.id });
    await send(ana, direct, 'hello Ben');
    await send(ben, direct, 'hi Ana');
    const regret = await send(ana, direct, 'never mind');
    await api(
      server,
      'DELETE',
      `/api/conversations/${direct}/messages/${regret.seq}`,
      ana.accessToken,
    );
    await send(ana, group, 'next book?');
  });
  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await server.stop();
  });

  async function send(user: TestUser, conversationId: string, body: string) {
    const result = await api(
      server,
      'POST',
      `/api/conversations/${conversationId}/messages`,
      user.accessToken,
      { clientMsgId: `a${++n}`, body },
    );
    expect(result.status).toBe(201);
    return result.body.message as { seq: number };
  }
  const connect = async (token: string) => {
    const socket = await TestSocket.connect(server, token);
    sockets.push(socket);
    return socket;
  };

  it('exports the profile, contacts, blocks, conversations and sent messages as one download', async () => {
    const result = await api(server, 'GET', '/api/me/export', ana.accessToken);
    expect(result.status).toBe(200);
    expect(result.headers.get('content-disposition')).toBe(
      `attachment; filename="letter-export-${ana.user.username}.json"`,
    );
    expect(result.headers.get('content-type')).toMatch(/^application\/json/);
    const document = result.body;
    expect(document).toMatchObject({
      format: 'letter-export/1',
      exportedAt: expect.any(String),
      user: { ...ana.user, createdAt: expect.any(String) },
      contacts: [ben.user],
      blocks: [cat.user],
    });
    expect(document.conversations.map((c: any) => c.id).sort()).toEqual([direct, group].sort());
    expect(document.messages.map((m: any) => m.body)).toEqual(
      [direct, group].sort()[0] === direct
        ? ['hello Ben', 'next book?']
        : ['next book?', 'hello Ben'],
    );
    expect(JSON.stringify(document)).not.toContain('never mind');
    expect(JSON.stringify(document)).not.toMatch(/password|hash|token/i);
    expect((await api(server, 'GET', '/api/me/export')).status).toBe(401);
  });

  it('refuses to delete without the right password, and changes nothing', async () => {
    const wrong = await api(server, 'DELETE', '/api/me', ana.accessToken, {
      password: 'nope nope',
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('invalid_credentials');
    expect((await api(server, 'DELETE', '/api/me', ana.accessToken, {})).status).toBe(400);
    expect((await api(server, 'DELETE', '/api/me', ana.accessToken)).status).toBe(400);
    expect((await api(server, 'GET', '/api/me', ana.accessToken)).status).toBe(200);
  });

  describe('deleting the account', () => {
    let anaSockets: TestSocket[];
    let benSocket: TestSocket;
    let catSocket: TestSocket;
    let otherSession: TestUser;

    beforeAll(async () => {
      const login = await api(server, 'POST', '/api/auth/login', undefined, {
        username: ana.user.username,
        password: PASSWORD,
      });
      otherSession = login.body;
      anaSockets = [await connect(ana.accessToken), await connect(otherSession.accessToken)];
      benSocket = await connect(ben.accessToken);
      catSocket = await connect(cat.accessToken);
      const benHears = next(
        benSocket,
        (f) => f.type === 'conversation' && f.conversation.id === direct,
      );
      const catHears = next(
        catSocket,
        (f) => f.type === 'message' && f.message.system?.kind === 'promoted',
      );
      const deleted = await api(server, 'DELETE', '/api/me', ana.accessToken, {
        password: PASSWORD,
      });
      expect(deleted.status).toBe(204);
      await Promise.all([benHears, catHears]);
    });

    it('ends every session: sockets close with 4401, tokens stop working', async () => {
      for (const socket of anaSockets) expect((await socket.closed).code).toBe(4401);
      for (const token of [ana.accessToken, otherSession.accessToken]) {
        expect((await api(server, 'GET', '/api/me', token)).status).toBe(401);
      }
      for (const refreshToken of [ana.refreshToken, otherSession.refreshToken]) {
        const refreshed = await api(server, 'POST', '/api/auth/refresh', undefined, {
          refreshToken,
        });
        expect(refreshed.status).toBe(401);
      }
      const login = await api(server, 'POST', '/api/auth/login', undefined, {
        username: ana.user.username,
        password: PASSWORD,
      });
      expect(login.status).toBe(401);
      expect(login.body.error.code).toBe('invalid_credentials');
    });

    it('leaves every group, handing admin over', async () => {
      const view = await api(server, 'GET', `/api/conversations/${group}`, cat.accessToken);
      const members = view.body.conversation.members;
      expect(members.map((m: any) => m.user.id)).not.toContain(ana.user.id);
      expect(members.filter((m: any) => m.role === 'admin')).toHaveLength(1);
      const kinds = catSocket
        .of('message')
        .filter((f) => f.message.conversationId === group)
        .map((f) => [f.message.system?.kind, f.message.system?.actorId]);
      expect(kinds).toEqual([
        ['left', ana.user.id],
        ['promoted', null],
      ]);
    });

    it('keeps their messages, now from "Deleted account"', async () => {
      const direct_ = await api(server, 'GET', `/api/conversations/${direct}`, ben.accessToken);
      expect(direct_.body.conversation.title).toBe('Deleted account');
      const heard = benSocket
        .of('conversation')
        .filter((f) => f.conversation.id === direct)
        .at(-1);
      expect(heard!.conversation.title).toBe('Deleted account');
      const history = await api(
        server,
        'GET',
        `/api/conversations/${direct}/messages`,
        ben.accessToken,
      );
      expect(
        history.body.messages
          .filter((m: any) => m.senderId === ana.user.id)
          .map((m: any) => m.body),
      ).toEqual(['hello Ben', '']);
      const groupHistory = await api(
        server,
        'GET',
        `/api/conversations/${group}/messages`,
        cat.accessToken,
      );
      expect(groupHistory.body.messages.find((m: any) => m.body === 'next book?').senderId).toBe(
        ana.user.id,
      );
      const lookup = await api(server, 'GET', `/api/users/${ana.user.id}`, ben.accessToken);
      expect(lookup.body.user).toMatchObject({ id: ana.user.id, displayName: 'Deleted account' });
      expect(lookup.body.user.username).not.toBe(ana.user.username);
    });

    it('removes contacts and blocks of and by them; nobody can reach them any more', async () => {
      expect((await api(server, 'GET', '/api/contacts', ben.accessToken)).body.contacts).toEqual(
        [],
      );
      expect((await api(server, 'GET', '/api/blocks', cat.accessToken)).body.users).toEqual([]);
      const found = await api(
        server,
        'GET',
        `/api/users?query=${ana.user.username.slice(0, 6)}`,
        ben.accessToken,
      );
      expect(found.body.users.map((u: any) => u.id)).not.toContain(ana.user.id);

      // Who inherited admin depends on the ids; ask the one who did.
      const view = await api(server, 'GET', `/api/conversations/${group}`, ben.accessToken);
      const adminId = view.body.conversation.members.find((m: any) => m.role === 'admin').user.id;
      const admin = adminId === ben.user.id ? ben : cat;
      const attempts = await Promise.all([
        api(server, 'POST', '/api/contacts', ben.accessToken, { username: ana.user.username }),
        api(server, 'POST', '/api/blocks', ben.accessToken, { userId: ana.user.id }),
        api(server, 'POST', '/api/conversations', ben.accessToken, {
          kind: 'direct',
          userId: ana.user.id,
        }),
        api(server, 'POST', '/api/conversations', ben.accessToken, {
          kind: 'group',
          title: 'x',
          memberIds: [ana.user.id],
        }),
        api(server, 'POST', `/api/conversations/${group}/members`, admin.accessToken, {
          userIds: [ana.user.id],
        }),
      ]);
      for (const attempt of attempts) expect(attempt.status).toBe(404);
      const inDirect = await api(
        server,
        'POST',
        `/api/conversations/${direct}/messages`,
        ben.accessToken,
        {
          clientMsgId: 'to-the-void',
          body: 'are you there?',
        },
      );
      expect(inDirect.status).toBe(403);
      expect(inDirect.body.error.code).toBe('forbidden');
      const byFrame = await benSocket.request({
        type: 'send',
        to: ana.user.id,
        clientMsgId: 'to-the-void-2',
        body: 'hello?',
      });
      expect(byFrame).toMatchObject({ type: 'error', code: 'not_found' });
    });

    it('frees the username for someone new, who inherits nothing', async () => {
      const again = await api(server, 'POST', '/api/auth/register', undefined, {
        username: ana.user.username,
        password: 'another password',
      });
      expect(again.status).toBe(201);
      expect(again.body.user.id).not.toBe(ana.user.id);
      const list = await api(server, 'GET', '/api/conversations', again.body.accessToken);
      expect(list.body.conversations).toEqual([]);
      expect(
        (await api(server, 'GET', '/api/contacts', again.body.accessToken)).body.contacts,
      ).toEqual([]);
    });
  });
});
