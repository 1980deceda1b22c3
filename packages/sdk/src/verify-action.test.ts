/**
 * Zulip's verify_action for the sdk: after any action, the state the client built from its
 * snapshot plus the events it received equals a fresh snapshot from the server. Checked for
 * hand-picked actions and for random sequences (fast-check), including drops and reconnects.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LetterClient } from './client.js';
import { fakeDelete, fakeReact } from './testing/fake-actions.js';
import {
  FakeClock,
  FakeServer,
  clientView,
  createTestClient,
  freshView,
  settle,
} from './testing/index.js';

interface World {
  clock: FakeClock;
  server: FakeServer;
  client: LetterClient;
  alice: string;
  bob: string;
  carol: string;
  groups: string[];
  direct: string;
}

async function world(): Promise<World> {
  const clock = new FakeClock();
  const server = new FakeServer({ clock });
  const alice = server.addUser('alice', 'Alice').id;
  const bob = server.addUser('bob', 'Bob').id;
  const carol = server.addUser('carol', 'Carol').id;
  const direct = server.openDirect(alice, bob).id;
  const group = server.createGroup(bob, 'Team', [alice, carol]).id;
  server.post(bob, direct, 'hello before login');
  const client = createTestClient(server);
  await client.login('alice', 'password123');
  await settle();
  return { clock, server, client, alice, bob, carol, groups: [group], direct };
}

/** Runs an action, lets every event arrive, and compares with a fresh snapshot. */
async function verifyAction(w: World, action: () => unknown): Promise<void> {
  await action();
  await settle();
  await w.clock.advance(2_000); // reconnect and gap-check timers
  const state = w.client.getSnapshot();
  expect(clientView(state)).toEqual(freshView(w.server, w.alice));
  // Every held message equals the server's copy: edits, tombstones and reactions arrived.
  for (const [id, timeline] of Object.entries(state.timelines)) {
    const stored = w.server.conversations.get(id)!.messages;
    for (const message of timeline.messages) expect(message).toEqual(stored[message.seq - 1]);
  }
}

type Action =
  | { kind: 'post'; who: 'bob' | 'carol' | 'aliceElsewhere'; where: number }
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

function conversationIds(w: World): string[] {
  return [w.direct, ...w.groups].filter((id) =>
    w.server.member(w.server.conversations.get(id)!, w.alice),
  );
}

/** The newest message people can act on (not a system message, not deleted). */
function lastActionable(w: World, id: string) {
  return w.server.conversations
    .get(id)!
    .messages.findLast((m) => m.senderId !== null && m.deletedAt === null);
}

function perform(w: World, action: Action): void | Promise<unknown> {
  const ids = conversationIds(w);
  const pick = (n: number) => ids[n % ids.length];
  const user = (who: 'bob' | 'carol' | 'aliceElsewhere') =>
    who === 'bob' ? w.bob : who === 'carol' ? w.carol : w.alice;
  const tryIt = (fn: () => void) => {
    try {
      fn();
    } catch {
      // e.g. carol is not a member of the direct conversation: nothing happens.
    }
  };
  switch (action.kind) {
    case 'post': {
      const id = pick(action.where);
      if (id) tryIt(() => w.server.post(user(action.who), id, `from ${action.who}`));
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
      const last = w.server.conversations.get(id)!.messages.length;
      tryIt(() => w.server.advance(w.alice, id, 'read', Math.max(0, last - action.back)));
      return;
    }
    case 'peerRead': {
      const id = pick(action.where);
      if (!id) return;
      const last = w.server.conversations.get(id)!.messages.length;
      tryIt(() => w.server.advance(user(action.who), id, 'read', last));
      return;
    }
    case 'rename': {
      const id = w.groups[action.where % w.groups.length]!;
      tryIt(() => w.server.rename(w.bob, id, `Renamed ${action.where}`));
      return;
    }
    case 'newGroup':
      w.groups.push(w.server.createGroup(w.carol, `Group ${w.groups.length}`, [w.alice, w.bob]).id);
      return;
    case 'removeAlice': {
      const id = w.groups[action.where % w.groups.length]!;
      tryIt(() => w.server.removeMember(w.bob, id, w.alice));
      return;
    }
    case 'addCarol': {
      const id = w.groups[action.where % w.groups.length]!;
      const conversation = w.server.conversations.get(id)!;
      if (!w.server.member(conversation, w.carol))
        tryIt(() => w.server.addMembers(w.bob, id, [w.carol]));
      return;
    }
    case 'edit': {
      const id = pick(action.where);
      const last = id ? w.server.conversations.get(id)!.messages.at(-1) : undefined;
      if (id && last) w.server.edit(id, last.seq, 'edited');
      return;
    }
    case 'delete': {
      const id = pick(action.where);
      const last = id ? lastActionable(w, id) : undefined;
      if (id && last) tryIt(() => fakeDelete(w.server, last.senderId!, id, last.seq));
      return;
    }
    case 'react': {
      const id = pick(action.where);
      const last = id ? lastActionable(w, id) : undefined;
      if (!id || !last) return;
      if (action.who === 'alice') return w.client.react(id, last.seq, action.emoji);
      tryIt(() => fakeReact(w.server, user(action.who as 'bob'), id, last.seq, action.emoji));
      return;
    }
    case 'archive': {
      const id = pick(action.where);
      if (id) return w.client.updateSettings(id, { archived: action.archived });
      return;
    }
    case 'readdAlice': {
      const id = w.groups[action.where % w.groups.length]!;
      if (!w.server.member(w.server.conversations.get(id)!, w.alice))
        tryIt(() => w.server.addMembers(w.bob, id, [w.alice]));
      return;
    }
    case 'tick':
      void w.clock.advance(1_000);
      return;
    case 'drop': {
      for (const socket of w.server.socketsOf(w.alice)) socket.drop();
      for (let i = 0; i < action.missed; i++) {
        const id = pick(i);
        if (id) tryIt(() => w.server.post(i % 2 ? w.bob : w.carol, id, `missed ${i}`));
      }
      if (action.readsWhileAway) {
        // sync replays messages, not receipts: these only show in a fresh snapshot.
        for (const id of ids) {
          const last = w.server.conversations.get(id)!.messages.length;
          tryIt(() => w.server.advance(w.alice, id, 'read', last - 1));
          tryIt(() => w.server.advance(w.bob, id, 'read', last));
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

describe('verify_action: snapshot + events == fresh snapshot', () => {
  it('initial load', async () => {
    const w = await world();
    await verifyAction(w, () => undefined);
    expect(w.client.getSnapshot().conversations[w.direct]!.unreadCount).toBe(1);
    w.client.close();
  });

  it.each<[string, (w: World) => void | Promise<void>]>([
    ['a peer posts', (w) => void w.server.post(w.bob, w.direct, 'hi')],
    [
      'alice posts from another device',
      (w) => void w.server.post(w.alice, w.groups[0]!, 'elsewhere'),
    ],
    ['alice sends here', (w) => void w.client.send(w.groups[0]!, 'here')],
    ['alice marks read here', (w) => w.client.markRead(w.direct)],
    ['alice reads on another device', (w) => w.server.advance(w.alice, w.direct, 'read', 1)],
    ['a peer reads', (w) => w.server.advance(w.bob, w.groups[0]!, 'read', 1)],
    ['the group is renamed', (w) => w.server.rename(w.bob, w.groups[0]!, 'New name')],
    [
      'alice is added to a new group',
      (w) => void w.server.createGroup(w.carol, 'Fresh', [w.alice]),
    ],
    ['alice is removed from a group', (w) => w.server.removeMember(w.bob, w.groups[0]!, w.alice)],
    ['the last message is edited', (w) => void w.server.edit(w.direct, 1, 'edited')],
    ['a peer deletes a message', (w) => fakeDelete(w.server, w.bob, w.direct, 1)],
    ['a peer reacts', (w) => void fakeReact(w.server, w.bob, w.direct, 1, '👍')],
    ['alice reacts here', (w) => w.client.react(w.direct, 1, '❤️').then(() => undefined)],
    [
      'alice archives, then a peer writes',
      async (w) => {
        await w.client.updateSettings(w.direct, { archived: true });
        w.server.post(w.bob, w.direct, 'wake up');
      },
    ],
    [
      'alice is removed and added again',
      (w) => {
        w.server.removeMember(w.bob, w.groups[0]!, w.alice);
        w.server.addMembers(w.bob, w.groups[0]!, [w.alice]);
      },
    ],
    [
      'the line drops while alice reads elsewhere and bob reads',
      (w) => {
        w.server.socketsOf(w.alice)[0]!.drop();
        w.server.post(w.bob, w.direct, 'missed');
        w.server.advance(w.alice, w.direct, 'read', 1);
        w.server.advance(w.bob, w.direct, 'read', 2);
      },
    ],
    [
      'the line drops while others write',
      (w) => {
        w.server.socketsOf(w.alice)[0]!.drop();
        w.server.post(w.bob, w.direct, 'missed 1');
        w.server.post(w.carol, w.groups[0]!, 'missed 2');
      },
    ],
  ])('%s', async (_name, action) => {
    const w = await world();
    await verifyAction(w, () => action(w));
    w.client.close();
  });

  it('holds for random sequences of actions', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(actionArb, { minLength: 1, maxLength: 20 }), async (actions) => {
        const w = await world();
        try {
          for (const action of actions) await verifyAction(w, () => perform(w, action));
        } finally {
          w.client.close();
        }
      }),
      { numRuns: 40, seed: 20_260_101 },
    );
  });
});
