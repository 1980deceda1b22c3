import { describe, expect, it } from 'vitest';
import { describeSystem, tickOf } from './model';
import { alice, bob, carol, chatMessage, member } from '../testing/fixtures';

const mine = (seq: number | null, outbox?: 'sending' | 'failed') =>
  chatMessage(seq, alice.id, 'x', '2026-03-10T09:00:00Z', { outbox });

describe('tickOf', () => {
  it('follows the message from the outbox to read', () => {
    const members = (read: number, delivered: number) => [
      member(alice),
      member(bob, read, delivered),
    ];
    expect(tickOf(mine(null, 'sending'), members(0, 0), alice.id)).toBe('pending');
    expect(tickOf(mine(null, 'failed'), members(0, 0), alice.id)).toBe('failed');
    expect(tickOf(mine(5), members(0, 4), alice.id)).toBe('sent');
    expect(tickOf(mine(5), members(0, 5), alice.id)).toBe('delivered');
    expect(tickOf(mine(5), members(5, 5), alice.id)).toBe('read');
    // A read position implies delivery even if the delivered report was lost.
    expect(tickOf(mine(5), members(6, 0), alice.id)).toBe('read');
  });

  it('needs every other member of a group', () => {
    const group = [member(alice), member(bob, 9, 9), member(carol, 0, 9)];
    expect(tickOf(mine(9), group, alice.id)).toBe('delivered');
    const partly = [member(alice), member(bob, 9, 9), member(carol, 0, 3)];
    expect(tickOf(mine(9), partly, alice.id)).toBe('sent');
  });
});

describe('describeSystem', () => {
  const nameOf = (id: string) => ({ [bob.id]: 'Bob', [carol.id]: 'Carol' })[id] ?? 'Someone';
  it('speaks of the reader as "you"', () => {
    expect(
      describeSystem(
        { kind: 'added', actorId: bob.id, userIds: [alice.id, carol.id] },
        nameOf,
        alice.id,
      ),
    ).toBe('Bob added you, Carol');
    expect(
      describeSystem(
        { kind: 'created', actorId: alice.id, userIds: [], title: 'Hike' },
        nameOf,
        alice.id,
      ),
    ).toBe('You created the group "Hike"');
    expect(
      describeSystem({ kind: 'left', actorId: carol.id, userIds: [carol.id] }, nameOf, alice.id),
    ).toBe('Carol left');
  });
});
