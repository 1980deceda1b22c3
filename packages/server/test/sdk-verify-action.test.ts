/**
 * Zulip's verify_action for the sdk, against a real node: after any action, the state the real
 * client built from its snapshot plus the events it received equals a fresh snapshot from the
 * server (`GET /api/conversations`, and each held message equals the server's copy). Checked for
 * hand-picked actions and for random sequences (fast-check), including drops and reconnects.
 * The client runs on a FakeClock (backoff, heartbeats and gap checks move only when the test
 * says) over real HTTP and WebSocket; the other people act through the harness.
 */
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Conversation, Message } from '@letter/protocol';
import { FakeClock, LetterClient, clientView, summarize, settle } from '@letter/sdk';
import {
  api,
  directConversation,
  register,
  sleep,
  startServer,
  TestSocket,
  type Frame,
  type TestServer,
  type TestUser,
} from '../src/testing/harness.js';

const PASSWORD = 'correct horse battery';
/** How long the client may take to catch up with an action over the real network. */
const CONVERGE_MS = 5_000;

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server?.stop();
});

type Who = 'bob' | 'carol' | 'aliceElsewhere';

interface World {
  clock: FakeClock;
  client: LetterClient;
  /** The client's sockets, newest last: a drop ends them from the client's side. */
  clientSockets: WebSocket[];
  alice: TestUser;
  bob: TestUser;
  carol: TestUser;
  /** Sockets of the others, and of Alice on another device. */
  sockets: Record<Who, TestSocket>;
  groups: string[];
  direct: string;
  n: number;
}

let worlds = 0;
async function world(): Promise<World> {
  const id = ++worlds;
  const [alice, bob, carol] = (await Promise.all(
    [`va${id}a`, `va${id}b`, `va${id}c`].map((name) => register(server, name)),
  )) as [TestUser, TestUser, TestUser];
  const direct = await directConversation(server, bob, alice);
  const created = await api(server, 'POST', '/api/conversations', bob.accessToken, {
    kind: 'group',
    title: 'Team',
    memberIds: [alice.user.id, carol.user.id],
  });
  const sockets = {
    bob: await TestSocket.connect(server, bob.accessToken),
    carol: await TestSocket.connect(server, carol.accessToken),
    aliceElsewhere: await TestSocket.connect(server, alice.accessToken),
  };
  const clientSockets: WebSocket[] = [];
  const clock = new FakeClock();
  let ids = 0;
  const client = new LetterClient({
    baseUrl: server.url,
    WebSocket: class extends WebSocket {
      constructor(url: string) {
        super(url, { perMessageDeflate: false });
        // A browser's WebSocket never throws; ws emits 'error' and throws without a listener
        // (e.g. closed while connecting, once the sdk has let go of its handlers).
        this.on('error', () => {});
        clientSockets.push(this);
      }
    },
    authMode: 'token',
    clock,
    random: () => 0.5,
    newId: () => `cmid-${id}-${++ids}`,
    watchNetwork: false,
    refreshLock: (task) => task(),
  });
  const w: World = {
    clock,
    client,
    clientSockets,
    alice,
    bob,
    carol,
    sockets,
    groups: [created.body.conversation.id as string],
    direct,
    n: 0,
  };
  await ok(w, 'bob', { type: 'send', conversationId: direct, body: 'hello before login' });
  await client.login(alice.user.username, PASSWORD);
  // Logged in and loaded, as the fake server's world was after settle().
  const loaded = await converge(w);
  if (loaded) throw new Error(`the client did not load: ${JSON.stringify(loaded)}`);
  return w;
}

function close(w: World): void {
  w.client.close();
  for (const socket of Object.values(w.sockets)) socket.close();
}

/** A frame from one of the others (or Alice elsewhere); throws unless it is answered ok. */
async function ok(w: World, who: Who, frame: Frame): Promise<Frame> {
  const withId = frame.type === 'send' ? { clientMsgId: `f${++w.n}`, ...frame } : frame;
  const answer = await w.sockets[who].request(withId);
  if (answer.type !== 'ok') throw new Error(`${frame.type}: ${JSON.stringify(answer)}`);
  return answer;
}

function tokenOf(w: World, who: Who | 'alice'): string {
  if (who === 'bob') return w.bob.accessToken;
  if (who === 'carol') return w.carol.accessToken;
  return w.alice.accessToken;
}

/** A REST call as one of them; throws unless it answers 2xx. */
async function rest(
  w: World,
  who: Who | 'alice',
  method: string,
  path: string,
  body?: unknown,
): Promise<any> {
  const result = await api(server, method, path, tokenOf(w, who), body);
  if (result.status >= 300) {
    throw new Error(`${method} ${path}: ${result.status} ${JSON.stringify(result.body)}`);
  }
  return result.body;
}

/** Every message of a conversation, as Bob or Carol (members of every group from seq 1) read it. */
async function storedMessages(w: World, id: string): Promise<Message[]> {
  const path = `/api/conversations/${id}/messages?after=0&limit=200`;
  const page = await rest(w, 'bob', 'GET', path).catch(() => rest(w, 'carol', 'GET', path));
  return page.messages as Message[];
}

/** What a fresh `GET /api/conversations` says to Alice. */
async function freshList(w: World): Promise<Conversation[]> {
  return (await rest(w, 'alice', 'GET', '/api/conversations')).conversations as Conversation[];
}

/** Where the client and a fresh snapshot differ, or null when they agree. */
async function difference(w: World): Promise<{ got: unknown; want: unknown } | null> {
  const state = w.client.getSnapshot();
  const got = clientView(state);
  const want = (await freshList(w)).map(summarize);
  if (!isDeepStrictEqual(got, want)) return { got, want };
  // Every held message equals the server's copy: edits, tombstones and reactions arrived.
  for (const [id, timeline] of Object.entries(state.timelines)) {
    const stored = new Map((await storedMessages(w, id)).map((m) => [m.seq, m]));
    const held = timeline.messages.map((m) => ({ ...m }));
    const copies = held.map((m) => stored.get(m.seq));
    if (!isDeepStrictEqual(held, copies)) return { got: held, want: copies };
  }
  return null;
}

/**
 * Runs an action, lets every event arrive, and compares with a fresh snapshot. Over a real
 * network "arrived" is "within CONVERGE_MS": the client's clock moves on (reconnect and
 * gap-check timers) while the test waits for the two sides to agree.
 */
async function verifyAction(w: World, action: () => unknown): Promise<void> {
  await action();
  await sleep(20);
  await w.clock.advance(2_000); // reconnect and gap-check timers
  const diff = await converge(w);
  expect(diff?.got).toEqual(diff?.want);
}

/** Waits up to CONVERGE_MS for the client to agree with the server; the last difference. */
async function converge(w: World): Promise<{ got: unknown; want: unknown } | null> {
  const deadline = Date.now() + CONVERGE_MS;
  let diff = await difference(w);
  while (diff && Date.now() < deadline) {
    await sleep(25);
    await w.clock.advance(100);
    diff = await difference(w);
  }
  return diff;
}

type Action =
  | { kind: 'post'; who: Who; where: number }
  | { kind: 'send'; where: number }
  | { kind: 'markRead'; where: number }
  | { kind: 'readElsewhere'; where: number; back: number }
  | { kind: 'peerRead'; who: 'bob' | 'carol'; where: number }
  | { kind: 'rename'; where: number }
  | { kind: 'newGroup' }
  | { kind: 'removeAlice'; where: number }
  | { kind: 'addCarol'; where: number }
  | { kind: 'edit'; where: number }
  | { kind: 'delete'; where: number }
  | { kind: 'react'; who: 'bob' | 'carol' | 'alice'; where: number; emoji: string }
  | { kind: 'archive'; where: number; archived: boolean }
  | { kind: 'readdAlice'; where: number }
  | { kind: 'tick' }
  | { kind: 'drop'; missed: number; readsWhileAway: boolean };

const post = (w: World, who: Who, id: string, body: string) =>
  ok(w, who, { type: 'send', conversationId: id, body });
const read = (w: World, who: Who, id: string, seq: number) =>
  ok(w, who, { type: 'read', conversationId: id, seq });
const members = (w: World, id: string, userIds: string[]) =>
  rest(w, 'bob', 'POST', `/api/conversations/${id}/members`, { userIds });
const remove = (w: World, id: string, userId: string) =>
  rest(w, 'bob', 'DELETE', `/api/conversations/${id}/members/${userId}`);
const lastSeq = async (w: World, id: string) =>
  ((await rest(w, 'bob', 'GET', `/api/conversations/${id}`)).conversation as Conversation).lastSeq;
const newGroup = async (w: World, title: string, memberIds: string[]) =>
  (await rest(w, 'carol', 'POST', '/api/conversations', { kind: 'group', title, memberIds }))
    .conversation.id as string;

/** Whose message it is, as one of the actors (Alice's own are edited from her other device). */
function senderOf(w: World, message: Message): Who {
  if (message.senderId === w.bob.user.id) return 'bob';
  if (message.senderId === w.carol.user.id) return 'carol';
  return 'aliceElsewhere';
}

/** The newest message people can act on (not a system message, not deleted). */
async function lastActionable(w: World, id: string): Promise<Message | undefined> {
  return (await storedMessages(w, id)).findLast((m) => m.senderId !== null && !m.deletedAt);
}

function drop(w: World): void {
  for (const socket of w.clientSockets) socket.terminate();
}

async function perform(w: World, action: Action): Promise<void> {
  const mine = new Set((await freshList(w)).map((c) => c.id));
  const ids = [w.direct, ...w.groups].filter((id) => mine.has(id));
  const pick = (n: number) => ids[n % ids.length];
  // e.g. Carol is not a member of the direct conversation: the server says no, nothing happens.
  const tryIt = (fn: () => Promise<unknown>) => fn().catch(() => undefined);
  const group = (n: number) => w.groups[n % w.groups.length]!;
  switch (action.kind) {
    case 'post': {
      const id = pick(action.where);
      if (id) await tryIt(() => post(w, action.who, id, `from ${action.who}`));
      return;
    }
    case 'send': {
      const id = pick(action.where);
      if (id && w.client.getSnapshot().conversations[id]) w.client.send(id, 'sent here');
      return;
    }
    case 'markRead': {
      const id = pick(action.where);
      if (id) w.client.markRead(id);
      return;
    }
    case 'readElsewhere': {
      const id = pick(action.where);
      if (!id) return;
      const last = await lastSeq(w, id);
      await tryIt(() => read(w, 'aliceElsewhere', id, Math.max(0, last - action.back)));
      return;
    }
    case 'peerRead': {
      const id = pick(action.where);
      if (id) await tryIt(async () => read(w, action.who, id, await lastSeq(w, id)));
      return;
    }
    case 'rename': {
      const id = group(action.where);
      await tryIt(() =>
        rest(w, 'bob', 'PATCH', `/api/conversations/${id}`, { title: `Renamed ${action.where}` }),
      );
      return;
    }
    case 'newGroup':
      w.groups.push(
        await newGroup(w, `Group ${w.groups.length}`, [w.alice.user.id, w.bob.user.id]),
      );
      return;
    case 'removeAlice':
      await tryIt(() => remove(w, group(action.where), w.alice.user.id));
      return;
    case 'addCarol':
      await tryIt(() => members(w, group(action.where), [w.carol.user.id]));
      return;
    case 'edit':
    case 'delete': {
      const id = pick(action.where);
      const last = id ? await lastActionable(w, id) : undefined;
      if (!id || !last) return;
      const path = `/api/conversations/${id}/messages/${last.seq}`;
      const who = senderOf(w, last);
      await tryIt(() =>
        action.kind === 'edit'
          ? rest(w, who, 'PATCH', path, { body: 'edited' })
          : rest(w, who, 'DELETE', path),
      );
      return;
    }
    case 'react': {
      const id = pick(action.where);
      const last = id ? await lastActionable(w, id) : undefined;
      if (!id || !last) return;
      if (action.who === 'alice') {
        await tryIt(() => w.client.react(id, last.seq, action.emoji));
        return;
      }
      const path = `/api/conversations/${id}/messages/${last.seq}/reactions`;
      await tryIt(() => rest(w, action.who as Who, 'PUT', path, { emoji: action.emoji }));
      return;
    }
    case 'archive': {
      const id = pick(action.where);
      if (id) await tryIt(() => w.client.updateSettings(id, { archived: action.archived }));
      return;
    }
    case 'readdAlice': {
      const id = group(action.where);
      if (!mine.has(id)) await tryIt(() => members(w, id, [w.alice.user.id]));
      return;
    }
    case 'tick':
      void w.clock.advance(1_000);
      return;
    case 'drop': {
      drop(w);
      for (let i = 0; i < action.missed; i++) {
        const id = pick(i);
        if (id) await tryIt(() => post(w, i % 2 ? 'bob' : 'carol', id, `missed ${i}`));
      }
      if (action.readsWhileAway) {
        // sync replays messages, not receipts: these only show in a fresh snapshot.
        for (const id of ids) {
          const last = await lastSeq(w, id);
          await tryIt(() => read(w, 'aliceElsewhere', id, last - 1));
          await tryIt(() => read(w, 'bob', id, last));
        }
      }
      return;
    }
  }
}

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  fc.record({
    kind: fc.constant('post' as const),
    who: fc.constantFrom('bob' as const, 'carol' as const, 'aliceElsewhere' as const),
    where: fc.nat(5),
  }),
  fc.record({ kind: fc.constant('send' as const), where: fc.nat(5) }),
  fc.record({ kind: fc.constant('markRead' as const), where: fc.nat(5) }),
  fc.record({ kind: fc.constant('readElsewhere' as const), where: fc.nat(5), back: fc.nat(3) }),
  fc.record({
    kind: fc.constant('peerRead' as const),
    who: fc.constantFrom('bob' as const, 'carol' as const),
    where: fc.nat(5),
  }),
  fc.record({ kind: fc.constant('rename' as const), where: fc.nat(5) }),
  fc.record({ kind: fc.constant('newGroup' as const) }),
  fc.record({ kind: fc.constant('removeAlice' as const), where: fc.nat(5) }),
  fc.record({ kind: fc.constant('addCarol' as const), where: fc.nat(5) }),
  fc.record({ kind: fc.constant('edit' as const), where: fc.nat(5) }),
  fc.record({ kind: fc.constant('delete' as const), where: fc.nat(5) }),
  fc.record({
    kind: fc.constant('react' as const),
    who: fc.constantFrom('bob' as const, 'carol' as const, 'alice' as const),
    where: fc.nat(5),
    emoji: fc.constantFrom('👍', '❤️'),
  }),
  fc.record({ kind: fc.constant('archive' as const), where: fc.nat(5), archived: fc.boolean() }),
  fc.record({ kind: fc.constant('readdAlice' as const), where: fc.nat(5) }),
  fc.record({ kind: fc.constant('tick' as const) }),
  fc.record({
    kind: fc.constant('drop' as const),
    missed: fc.nat(8),
    readsWhileAway: fc.boolean(),
  }),
);

describe('verify_action against a real node: snapshot + events == fresh snapshot', () => {
  it('initial load', async () => {
    const w = await world();
    try {
      await verifyAction(w, () => undefined);
      expect(w.client.getSnapshot().conversations[w.direct]!.unreadCount).toBe(1);
    } finally {
      close(w);
    }
  });

  it.each<[string, (w: World) => Promise<unknown>]>([
    ['a peer posts', (w) => post(w, 'bob', w.direct, 'hi')],
    ['alice posts from another device', (w) => post(w, 'aliceElsewhere', w.groups[0]!, 'there')],
    ['alice sends here', async (w) => void w.client.send(w.groups[0]!, 'here')],
    ['alice marks read here', async (w) => w.client.markRead(w.direct)],
    ['alice reads on another device', (w) => read(w, 'aliceElsewhere', w.direct, 1)],
    ['a peer reads', (w) => read(w, 'bob', w.groups[0]!, 1)],
    [
      'the group is renamed',
      (w) => rest(w, 'bob', 'PATCH', `/api/conversations/${w.groups[0]!}`, { title: 'New name' }),
    ],
    ['alice is added to a new group', (w) => newGroup(w, 'Fresh', [w.alice.user.id])],
    ['alice is removed from a group', (w) => remove(w, w.groups[0]!, w.alice.user.id)],
    [
      'the last message is edited',
      (w) => rest(w, 'bob', 'PATCH', `/api/conversations/${w.direct}/messages/1`, { body: 'ed' }),
    ],
    [
      'a peer deletes a message',
      (w) => rest(w, 'bob', 'DELETE', `/api/conversations/${w.direct}/messages/1`),
    ],
    [
      'a peer reacts',
      (w) =>
        rest(w, 'bob', 'PUT', `/api/conversations/${w.direct}/messages/1/reactions`, {
          emoji: '👍',
        }),
    ],
    ['alice reacts here', (w) => w.client.react(w.direct, 1, '❤️')],
    [
      'alice archives, then a peer writes',
      async (w) => {
        await w.client.updateSettings(w.direct, { archived: true });
        await post(w, 'bob', w.direct, 'wake up');
      },
    ],
    [
      'alice is removed and added again',
      async (w) => {
        await remove(w, w.groups[0]!, w.alice.user.id);
        await members(w, w.groups[0]!, [w.alice.user.id]);
      },
    ],
    [
      'the line drops while alice reads elsewhere and bob reads',
      async (w) => {
        drop(w);
        await post(w, 'bob', w.direct, 'missed');
        await read(w, 'aliceElsewhere', w.direct, 1);
        await read(w, 'bob', w.direct, 2);
      },
    ],
    [
      'the line drops while others write',
      async (w) => {
        drop(w);
        await post(w, 'bob', w.direct, 'missed 1');
        await post(w, 'carol', w.groups[0]!, 'missed 2');
      },
    ],
  ])('%s', async (_name, action) => {
    const w = await world();
    try {
      await verifyAction(w, () => action(w));
    } finally {
      close(w);
    }
  });

  it('holds for random sequences of actions', { timeout: 600_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(actionArb, { minLength: 1, maxLength: 20 }), async (actions) => {
        const w = await world();
        try {
          for (const action of actions) await verifyAction(w, () => perform(w, action));
        } finally {
          close(w);
          await settle();
        }
      }),
      { numRuns: 40, seed: 20_260_101 },
    );
  });
});
