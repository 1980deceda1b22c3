/**
 * Replies, edits, deletes for everyone, reactions and receipts through real HTTP and WebSocket,
 * and that outsiders get nothing from any of them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  directConversation,
  register,
  sleep,
  startServer,
  storedRows,
  TestSocket,
  type Frame,
  type TestServer,
  type TestUser,
} from '../src/testing/harness.js';

const notFound = { error: { code: 'not_found', message: expect.any(String) } };
const forbidden = { error: { code: 'forbidden', message: expect.any(String) } };

const next = (socket: TestSocket, predicate: (frame: Frame) => boolean): Promise<Frame> => {
  const from = socket.frames.length;
  return socket.waitFor((f) => socket.frames.indexOf(f) >= from && predicate(f));
};
const updated = (socket: TestSocket, seq: number) =>
  next(socket, (f) => f.type === 'message.updated' && f.message.seq === seq);

describe('message actions', () => {
  let server: TestServer;
  let ana: TestUser;
  let ben: TestUser;
  let cat: TestUser;
  let eve: TestUser;
  let direct: string;
  let group: string;
  let anaLaptop: TestSocket;
  let benPhone: TestSocket;
  let eveSocket: TestSocket;
  let clientMsg = 0;

  beforeAll(async () => {
    server = await startServer();
    [ana, ben, cat, eve] = (await Promise.all(
      ['ana', 'ben', 'cat', 'eve'].map((name) => register(server, name)),
    )) as [TestUser, TestUser, TestUser, TestUser];
    direct = await directConversation(server, ana, ben);
    const created = await api(server, 'POST', '/api/conversations', ana.accessToken, {
      kind: 'group',
      title: 'Crew',
      memberIds: [ben.user.id, cat.user.id],
    });
    group = created.body.conversation.id;
    [anaLaptop, benPhone, eveSocket] = (await Promise.all(
      [ana, ben, eve].map((user) => TestSocket.connect(server, user.accessToken)),
    )) as [TestSocket, TestSocket, TestSocket];
  });
  afterAll(async () => {
    for (const socket of [anaLaptop, benPhone, eveSocket]) socket.close();
    await server.stop();
  });

  const path = (conversationId: string, seq: number | string, suffix = '') =>
    `/api/conversations/${conversationId}/messages/${seq}${suffix}`;
  const send = async (
    user: TestUser,
    conversationId: string,
    body: string,
    replyToSeq?: number,
  ) => {
    const result = await api(
      server,
      'POST',
      `/api/conversations/${conversationId}/messages`,
      user.accessToken,
      { clientMsgId: `c${++clientMsg}`, body, ...(replyToSeq && { replyToSeq }) },
    );
    expect(result.status).toBe(201);
    return result.body.message as { seq: number; replyToSeq: number | null };
  };

  it('replies keep the seq they answer', async () => {
    const first = await send(ana, direct, 'lunch?');
    const reply = await send(ben, direct, 'yes!', first.seq);
    expect(reply.replyToSeq).toBe(first.seq);
    const bad = await api(
      server,
      'POST',
      `/api/conversations/${direct}/messages`,
      ben.accessToken,
      {
        clientMsgId: 'bad-reply',
        body: 'x',
        replyToSeq: 999,
      },
    );
    expect(bad.status).toBe(400);
  });

  it('edits one’s own message and tells every member, the editor’s other sessions too', async () => {
    const { seq } = await send(ana, direct, 'teh plan');
    const [benSees, anaSees] = [updated(benPhone, seq), updated(anaLaptop, seq)];
    const edited = await api(server, 'PATCH', path(direct, seq), ana.accessToken, {
      body: ' the plan ',
    });
    expect(edited.status).toBe(200);
    expect(edited.body.message).toMatchObject({ seq, body: 'the plan', deletedAt: null });
    expect(edited.body.message.editedAt).toEqual(expect.any(String));
    expect((await benSees).message).toEqual(edited.body.message);
    expect((await anaSees).message).toEqual(edited.body.message);
    const history = await api(
      server,
      'GET',
      `/api/conversations/${direct}/messages`,
      ben.accessToken,
    );
    expect(history.body.messages.find((m: any) => m.seq === seq)).toEqual(edited.body.message);

    const notMine = await api(server, 'PATCH', path(direct, seq), ben.accessToken, { body: 'x' });
    expect(notMine).toMatchObject({ status: 403, body: forbidden });
    const outsider = await api(server, 'PATCH', path(direct, seq), eve.accessToken, { body: 'x' });
    expect(outsider).toMatchObject({ status: 404, body: notFound });
    const missing = await api(server, 'PATCH', path(direct, 9999), ana.accessToken, { body: 'x' });
    expect(missing).toMatchObject({ status: 404, body: notFound });
    for (const [seqText, body] of [
      ['abc', { body: 'x' }],
      ['0', { body: 'x' }],
      ['1.5', { body: 'x' }],
      [String(seq), { body: '   ' }],
      [String(seq), { text: 'x' }],
    ] as const) {
      const bad = await api(server, 'PATCH', path(direct, seqText), ana.accessToken, body);
      expect(bad.status, `${seqText} ${JSON.stringify(body)}`).toBe(400);
    }
  });

  it('deletes for everyone: a tombstone keeps the seq, the text is gone from storage', async () => {
    const { seq } = await send(ana, direct, 'regrettable words');
    // The reaction's own event must be in before the delete's waiter is armed, or it could be
    // the frame that waiter catches.
    const reacted = updated(benPhone, seq);
    await api(server, 'PUT', path(direct, seq, '/reactions'), ben.accessToken, { emoji: '😮' });
    expect((await reacted).message.reactions).toEqual({ '😮': [ben.user.id] });
    const benSees = updated(benPhone, seq);
    const deleted = await api(server, 'DELETE', path(direct, seq), ana.accessToken);
    expect(deleted.status).toBe(204);
    const tombstone = (await benSees).message;
    expect(tombstone).toMatchObject({ seq, body: '', reactions: {}, senderId: ana.user.id });
    expect(tombstone.deletedAt).toEqual(expect.any(String));
    const again = await api(server, 'DELETE', path(direct, seq), ana.accessToken);
    expect(again.status).toBe(204);
    const edit = await api(server, 'PATCH', path(direct, seq), ana.accessToken, { body: 'undo' });
    expect(edit).toMatchObject({ status: 403, body: forbidden });
    const react = await api(server, 'PUT', path(direct, seq, '/reactions'), ben.accessToken, {
      emoji: '👍',
    });
    expect(react).toMatchObject({ status: 403, body: forbidden });
    // seq - 1 is Ana's edited "the plan": not Ben's to delete in a direct conversation.
    const notMine = await api(server, 'DELETE', path(direct, seq - 1), ben.accessToken);
    expect(notMine).toMatchObject({ status: 403, body: forbidden });

    const search = await api(server, 'GET', '/api/search?q=regrettable', ben.accessToken);
    expect(search.body.results).toEqual([]);
    // Not only hidden: the words are gone from the database itself.
    const [row] = await storedRows<{ body: string; deleted_at: number }>(
      server,
      'SELECT body, deleted_at FROM messages WHERE conversation_id = $1 AND seq = $2',
      [direct, seq],
    );
    expect(row!.body).toBe('');
    expect(row!.deleted_at).toEqual(expect.any(Number));
    const [count] = await storedRows<{ n: number }>(
      server,
      'SELECT count(*) AS n FROM reactions WHERE conversation_id = $1 AND seq = $2',
      [direct, seq],
    );
    expect(count!.n).toBe(0);
  });

  it('lets group admins delete anyone’s message, and members only their own', async () => {
    const fromCat = await send(cat, group, 'from cat');
    const byBen = await api(server, 'DELETE', path(group, fromCat.seq), ben.accessToken);
    expect(byBen).toMatchObject({ status: 403, body: forbidden });
    const systemMessage = await api(server, 'DELETE', path(group, 1), ana.accessToken);
    expect(systemMessage).toMatchObject({ status: 403, body: forbidden });
    const benSees = updated(benPhone, fromCat.seq);
    const byAdmin = await api(server, 'DELETE', path(group, fromCat.seq), ana.accessToken);
    expect(byAdmin.status).toBe(204);
    expect((await benSees).message).toMatchObject({ body: '', senderId: cat.user.id });
  });

  it('keeps one reaction per person, replacing it, and tells every member', async () => {
    const { seq } = await send(ben, group, 'pizza tonight');
    const react = (user: TestUser, emoji: string) =>
      api(server, 'PUT', path(group, seq, '/reactions'), user.accessToken, { emoji });

    const benSees = updated(benPhone, seq);
    const first = await react(ana, '👍');
    expect(first.status).toBe(200);
    expect(first.body.message.reactions).toEqual({ '👍': [ana.user.id] });
    expect((await benSees).message.reactions).toEqual({ '👍': [ana.user.id] });
    expect((await react(cat, '👍')).body.message.reactions).toEqual({
      '👍': [ana.user.id, cat.user.id],
    });
    expect((await react(ana, '🍕')).body.message.reactions).toEqual({
      '👍': [cat.user.id],
      '🍕': [ana.user.id],
    });
    for (const emoji of ['👨‍👩‍👧', '🇩🇪', '1️⃣', '👍🏽'])
      expect((await react(cat, emoji)).status).toBe(200);
    for (const emoji of ['', 'a', '👍👍', 'ok', ':)', 'x'.repeat(40)]) {
      expect((await react(cat, emoji)).status, emoji).toBe(400);
    }
    const removed = await api(server, 'DELETE', path(group, seq, '/reactions'), ana.accessToken);
    expect(removed.status).toBe(200);
    expect(removed.body.message.reactions).toEqual({ '👍🏽': [cat.user.id] });
    const outsider = await api(server, 'PUT', path(group, seq, '/reactions'), eve.accessToken, {
      emoji: '👍',
    });
    expect(outsider).toMatchObject({ status: 404, body: notFound });
  });

  it('answers receipts per member but the sender, to members only', async () => {
    const { seq } = await send(ana, group, 'did everyone see this?');
    await benPhone.request({ type: 'delivered', conversationId: group, seq });
    await api(server, 'POST', `/api/conversations/${group}/read`, cat.accessToken, { seq });
    const receipts = await api(server, 'GET', path(group, seq, '/receipts'), ben.accessToken);
    expect(receipts.status).toBe(200);
    const byUser = Object.fromEntries(
      receipts.body.receipts.map((r: any) => [
        r.userId,
        [r.deliveredAt !== null, r.readAt !== null],
      ]),
    );
    expect(byUser).toEqual({ [ben.user.id]: [true, false], [cat.user.id]: [true, true] });
    for (const [user, target] of [
      [eve, seq],
      [ana, 9999],
    ] as const) {
      const result = await api(server, 'GET', path(group, target, '/receipts'), user.accessToken);
      expect(result).toMatchObject({ status: 404, body: notFound });
    }
  });

  it('refuses edits and reactions in a direct conversation blocked either way', async () => {
    const { seq } = await send(ana, direct, 'before the block');
    await api(server, 'POST', '/api/blocks', ben.accessToken, { userId: ana.user.id });
    const edit = await api(server, 'PATCH', path(direct, seq), ana.accessToken, { body: 'x' });
    expect(edit.body.error.code).toBe('blocked');
    const react = await api(server, 'PUT', path(direct, seq, '/reactions'), ana.accessToken, {
      emoji: '👍',
    });
    expect(react.body.error.code).toBe('blocked');
    // Taking one's words back is always allowed.
    expect((await api(server, 'DELETE', path(direct, seq), ana.accessToken)).status).toBe(204);
    await api(server, 'DELETE', `/api/blocks/${ana.user.id}`, ben.accessToken);
  });

  it('gives an outsider nothing: 404 on every route, no event on their socket', async () => {
    const { seq } = await send(ana, group, 'members only');
    const calls: [string, string, unknown?][] = [
      ['PATCH', path(group, seq), { body: 'mine' }],
      ['DELETE', path(group, seq)],
      ['PUT', path(group, seq, '/reactions'), { emoji: '👍' }],
      ['DELETE', path(group, seq, '/reactions')],
      ['GET', path(group, seq, '/receipts')],
      ['PATCH', path('c_nonexistent', 1), { body: 'x' }],
      ['GET', path('c_nonexistent', 1, '/receipts')],
    ];
    for (const [method, route, body] of calls) {
      const result = await api(server, method, route, eve.accessToken, body);
      expect({ route, method, status: result.status, body: result.body }).toEqual({
        route,
        method,
        status: 404,
        body: notFound,
      });
    }
    await api(server, 'PATCH', path(group, seq), ana.accessToken, { body: 'members only!' });
    await api(server, 'PUT', path(group, seq, '/reactions'), ben.accessToken, { emoji: '🙌' });
    await api(server, 'DELETE', path(group, seq), ana.accessToken);
    await sleep(150);
    const leaked = eveSocket.frames.filter((f) => !['ready', 'ok', 'error'].includes(f.type));
    expect(leaked).toEqual([]);
  });
});
