/**
 * The checks themselves: a lost ack, a duplicate on the server or in a client, a seq gap and a
 * stuck outbox are each found (so a chaos run reading 0 means 0).
 */
import type { Message } from '@letter/protocol';
import { describe, expect, it } from 'vitest';
import type { ChaosClient } from './clients.js';
import { converged, verify, type Conversation } from './verify.js';

const message = (seq: number, senderId: string, clientMsgId: string): Message =>
  ({ seq, senderId, clientMsgId, conversationId: 'c1', body: clientMsgId }) as unknown as Message;

/** Just what verify reads of a ChaosClient. */
function fakeClient(
  name: string,
  held: Message[],
  server: Message[],
  acked: [string, number][] = [],
  pending: { clientMsgId: string; status: string }[] = [],
): ChaosClient {
  return {
    username: name,
    userId: `u_${name}`,
    acks: new Map(acked.map(([id, seq]) => [id, { conversationId: 'c1', clientMsgId: id, seq }])),
    conflictingAcks: [],
    state: {
      connection: 'online',
      syncing: false,
      timelines: { c1: { messages: held, cursor: held.length } },
      pending: pending.length ? { c1: pending } : {},
    },
    pendingCount: () => pending.length,
    sdk: { api: { history: async () => ({ messages: server, hasMore: false }) } },
  } as unknown as ChaosClient;
}

function world(aliceHeld: Message[], bobHeld: Message[], server: Message[], pending = false) {
  const alice = fakeClient(
    'alice',
    aliceHeld,
    server,
    [
      ['a-1', 1],
      ['a-2', 2],
    ],
    pending ? [{ clientMsgId: 'a-3', status: 'pending' }] : [],
  );
  const bob = fakeClient('bob', bobHeld, server);
  const conversations: Conversation[] = [{ id: 'c1', members: [alice, bob] }];
  return { conversations, clients: [alice, bob] };
}

const m1 = message(1, 'u_alice', 'a-1');
const m2 = message(2, 'u_alice', 'a-2');

describe('chaos checks', () => {
  it('read all zero when every ack is everywhere once', async () => {
    const { conversations, clients } = world([m1, m2], [m1, m2], [m1, m2]);
    expect(converged(conversations, clients)).toBe(true);
    expect(await verify(conversations, clients)).toEqual({
      lost: [],
      duplicated: [],
      gaps: [],
      stuck: [],
    });
  });

  it('count an ack missing on the server and one missing on a member', async () => {
    const { conversations, clients } = world([m1, m2], [m1], [m1]);
    expect(converged(conversations, clients)).toBe(false);
    const findings = await verify(conversations, clients);
    expect(findings.lost).toHaveLength(2);
    expect(findings.lost.join()).toMatch(/server c1: u_alice\/a-2/);
    expect(findings.lost.join()).toMatch(/bob c1: u_alice\/a-2/);
  });

  it('count duplicates on the server and in a client, and seq gaps', async () => {
    const again = message(3, 'u_alice', 'a-1');
    const { conversations, clients } = world(
      [m1, m2, again],
      [m1, m2],
      [m1, m2, again, message(5, 'u_bob', 'b-1')],
    );
    const findings = await verify(conversations, clients);
    expect(findings.duplicated).toHaveLength(2);
    expect(findings.gaps).toEqual(['c1: seq 5 at 4']);
  });

  it('count what is still in an outbox as stuck', async () => {
    const { conversations, clients } = world([m1, m2], [m1, m2], [m1, m2], true);
    expect(converged(conversations, clients)).toBe(false);
    expect((await verify(conversations, clients)).stuck).toHaveLength(1);
  });
});
