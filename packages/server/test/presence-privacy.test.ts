/**
 * Presence and typing reach only whom the rule allows (store/presence-rule.ts): mutual contacts
 * and people who share a conversation, minus blocks either way. Adding someone alone reveals
 * nothing about them.
 */
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

let server: TestServer;
const sockets: TestSocket[] = [];
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  for (const socket of sockets) socket.close();
  await server.stop();
});

async function connect(user: TestUser): Promise<TestSocket> {
  const socket = await TestSocket.connect(server, user.accessToken);
  sockets.push(socket);
  return socket;
}

async function disconnect(socket: TestSocket): Promise<void> {
  socket.close();
  await socket.closed;
}

const presenceOf = (socket: TestSocket, user: TestUser) =>
  socket.of('presence').filter((f) => f.userId === user.user.id);

/** Waits until `user` is offline with a last-seen time (past the test grace period of 200 ms). */
async function seenAndGone(user: TestUser, observer: TestUser): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const contacts = (await api(server, 'GET', '/api/contacts', observer.accessToken)).body
      .contacts as { user: { id: string }; online: boolean; lastSeenAt: string | null }[];
    const entry = contacts.find((c) => c.user.id === user.user.id);
    if (entry && !entry.online && entry.lastSeenAt) return;
    await sleep(50);
  }
  throw new Error('never went offline');
}

const contactOf = async (owner: TestUser, peer: TestUser) =>
  (await api(server, 'GET', '/api/contacts', owner.accessToken)).body.contacts.find(
    (c: { user: { id: string } }) => c.user.id === peer.user.id,
  );

describe('presence', () => {
  it('is hidden from someone who added you while you have not added them back', async () => {
    const [fan, star, helper, never] = await Promise.all([
      register(server, 'fan'),
      register(server, 'star'),
      register(server, 'helper'),
      register(server, 'never'),
    ]);
    // The star has been online before (a last-seen time exists) and is online now.
    await api(server, 'POST', '/api/contacts', helper.accessToken, {
      username: star.user.username,
    });
    await api(server, 'POST', '/api/contacts', star.accessToken, {
      username: helper.user.username,
    });
    await disconnect(await connect(star));
    await seenAndGone(star, helper);
    const fanSocket = await connect(fan);
    await connect(star);

    const added = await api(server, 'POST', '/api/contacts', fan.accessToken, {
      username: star.user.username,
    });
    expect(added.status).toBe(201);
    // Online with a last-seen time, yet the answer equals the one for a user never seen.
    const addedNever = await api(server, 'POST', '/api/contacts', fan.accessToken, {
      username: never.user.username,
    });
    expect(added.body.contact).toEqual({ user: star.user, online: false, lastSeenAt: null });
    expect(addedNever.body.contact).toEqual({ user: never.user, online: false, lastSeenAt: null });
    expect(await contactOf(fan, star)).toEqual({
      user: star.user,
      online: false,
      lastSeenAt: null,
    });

    // The star going offline and online again tells the fan nothing.
    await disconnect(sockets.at(-1)!);
    await seenAndGone(star, helper);
    await connect(star);
    await sleep(100);
    expect(presenceOf(fanSocket, star)).toEqual([]);

    // Once the star adds the fan back, the fan sees the star.
    await api(server, 'POST', '/api/contacts', star.accessToken, { username: fan.user.username });
    expect(await contactOf(fan, star)).toMatchObject({ online: true });
    await disconnect(sockets.at(-1)!);
    await fanSocket.waitFor(
      (f) => f.type === 'presence' && f.userId === star.user.id && f.online === false,
    );
  });

  it('reaches both at once when they become able to see it: added back, or unblocked', async () => {
    const [first, second] = await Promise.all([
      register(server, 'first'),
      register(server, 'second'),
    ]);
    const firstSocket = await connect(first);
    const secondSocket = await connect(second);
    await api(server, 'POST', '/api/contacts', first.accessToken, {
      username: second.user.username,
    });
    await sleep(100);
    // One-way: nothing about the other yet.
    expect(presenceOf(firstSocket, second)).toEqual([]);
    expect(presenceOf(secondSocket, first)).toEqual([]);
    await api(server, 'POST', '/api/contacts', second.accessToken, {
      username: first.user.username,
    });
    await firstSocket.waitFor((f) => f.type === 'presence' && f.userId === second.user.id);
    await secondSocket.waitFor((f) => f.type === 'presence' && f.userId === first.user.id);
    expect(presenceOf(firstSocket, second).at(-1)).toMatchObject({ online: true });

    await api(server, 'POST', '/api/blocks', first.accessToken, { userId: second.user.id });
    const before = presenceOf(firstSocket, second).length;
    await api(server, 'DELETE', `/api/blocks/${second.user.id}`, first.accessToken);
    await firstSocket.waitFor(() => presenceOf(firstSocket, second).length > before);
    expect(presenceOf(firstSocket, second).at(-1)).toMatchObject({ online: true });
  });

  it('is hidden between a blocked pair, even mutual contacts with a conversation', async () => {
    const [ana, ben] = await Promise.all([register(server, 'bana'), register(server, 'bben')]);
    await api(server, 'POST', '/api/contacts', ana.accessToken, { username: ben.user.username });
    await api(server, 'POST', '/api/contacts', ben.accessToken, { username: ana.user.username });
    await directConversation(server, ana, ben);
    await disconnect(await connect(ben));
    await seenAndGone(ben, ana);

    expect(
      (await api(server, 'POST', '/api/blocks', ben.accessToken, { userId: ana.user.id })).status,
    ).toBe(204);
    const anaSocket = await connect(ana);
    const benSocket = await connect(ben);
    // Neither sees the other: not in the list, not in the answer to adding again, not live.
    expect(await contactOf(ana, ben)).toEqual({ user: ben.user, online: false, lastSeenAt: null });
    expect(await contactOf(ben, ana)).toMatchObject({ online: false, lastSeenAt: null });
    const again = await api(server, 'POST', '/api/contacts', ana.accessToken, {
      username: ben.user.username,
    });
    expect(again.body.contact).toEqual({ user: ben.user, online: false, lastSeenAt: null });
    await disconnect(benSocket);
    await disconnect(anaSocket);
    const anaAgain = await connect(ana);
    const benAgain = await connect(ben);
    await sleep(400); // past the grace period: any offline/online event would have gone out
    expect(presenceOf(anaAgain, ben)).toEqual([]);
    expect(presenceOf(benAgain, ana)).toEqual([]);

    // Unblocked, it shows again.
    await api(server, 'DELETE', `/api/blocks/${ana.user.id}`, ben.accessToken);
    expect(await contactOf(ana, ben)).toMatchObject({ online: true });
  });
});

describe('typing', () => {
  it('does not pass between a blocked pair, in a direct conversation or a group', async () => {
    const [ana, ben, cat] = await Promise.all([
      register(server, 'tana'),
      register(server, 'tben'),
      register(server, 'tcat'),
    ]);
    const direct = await directConversation(server, ana, ben);
    const group = (
      await api(server, 'POST', '/api/conversations', ana.accessToken, {
        kind: 'group',
        title: 'Typists',
        memberIds: [ben.user.id, cat.user.id],
      })
    ).body.conversation.id as string;
    await api(server, 'POST', '/api/blocks', ana.accessToken, { userId: ben.user.id });
    const [anaSocket, benSocket, catSocket] = await Promise.all([
      connect(ana),
      connect(ben),
      connect(cat),
    ]);

    // Ana blocked Ben: Ben's typing does not reach Ana, Ana's does not reach Ben.
    await benSocket.request({ type: 'typing', conversationId: group });
    await benSocket.request({ type: 'typing', conversationId: direct });
    await anaSocket.request({ type: 'typing', conversationId: group });
    await anaSocket.request({ type: 'typing', conversationId: direct });
    // Cat hears both: delivery ran, and anything for Ana or Ben went out with it.
    await catSocket.waitFor((f) => f.type === 'typing' && f.userId === ben.user.id);
    await catSocket.waitFor((f) => f.type === 'typing' && f.userId === ana.user.id);
    await catSocket.request({ type: 'typing', conversationId: group });
    await anaSocket.waitFor((f) => f.type === 'typing' && f.userId === cat.user.id);
    await benSocket.waitFor((f) => f.type === 'typing' && f.userId === cat.user.id);
    expect(anaSocket.of('typing').filter((f) => f.userId === ben.user.id)).toEqual([]);
    expect(benSocket.of('typing').filter((f) => f.userId === ana.user.id)).toEqual([]);
  });
});
