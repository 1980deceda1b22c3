import { describe, expect, it } from 'vitest';
import { onPeerNode } from './letter-targets.js';
import { median } from './scenarios-cluster.js';

describe('row (h) helpers', () => {
  it('takes the middle of an odd count and the mean of the middle two of an even one', () => {
    expect(median([32.7, 14.5, 26.1])).toBe(26.1);
    expect(median([5])).toBe(5);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('puts each pair across the nodes, then from the local users on, each pair on one node', () => {
    const pairs = 4;
    const from = 2 * pairs;
    const node = (user: number) => (onPeerNode(user, from) ? 'B' : 'A');
    for (let p = 0; p < pairs; p++) {
      // Across: the pair's two users on different nodes.
      expect(node(2 * p)).not.toBe(node(2 * p + 1));
      // Local: both users of the pair on the same node, pairs alternating between the nodes.
      expect(node(from + 2 * p)).toBe(node(from + 2 * p + 1));
      expect(node(from + 2 * p)).toBe(p % 2 === 0 ? 'A' : 'B');
    }
    // Without local users (the default), every odd user is on node B.
    expect([0, 1, 2, 3].map((u) => onPeerNode(u, Number.POSITIVE_INFINITY))).toEqual([
      false,
      true,
      false,
      true,
    ]);
  });
});
