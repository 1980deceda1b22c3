/** The replay window of routed deliveries (hub/recent.ts): bounded in time and in size. */
import { describe, expect, it } from 'vitest';
import { RecentDeliveries } from '../src/hub/recent.js';
import type { RoutedDelivery } from '../src/hub/recent.js';

const delivery = (json: string, nodes: string[] = []): RoutedDelivery => ({
  except: '',
  keyText: '',
  json,
  nodes,
});

describe('RecentDeliveries', () => {
  it('keeps a delivery between one and two windows, then forgets it', () => {
    let now = 0;
    const recent = new RecentDeliveries(1000, 100, () => now);
    recent.record(['ben'], delivery('a'));
    now = 1500; // rotated once: still in the previous generation
    expect(recent.missedBy('ben', 'c').map((d) => d.json)).toEqual(['a']);
    recent.record(['ben'], delivery('b'));
    now = 2600; // rotated again: 'a' is gone, 'b' is kept
    expect(recent.missedBy('ben', 'd').map((d) => d.json)).toEqual(['b']);
    recent.record(['ben'], delivery('c'));
    now = 10_000; // long idle: both generations are stale, 'c' too
    expect(recent.missedBy('ben', 'e')).toEqual([]);
  });

  it('skips nodes that carried it, replays once per node and user', () => {
    const recent = new RecentDeliveries(1000, 100, () => 0);
    recent.record(['ben', 'cy'], delivery('a', ['b']));
    expect(recent.missedBy('ben', 'b')).toEqual([]);
    expect(recent.missedBy('ben', 'c')).toHaveLength(1);
    expect(recent.missedBy('ben', 'c')).toEqual([]);
    expect(recent.missedBy('cy', 'c')).toHaveLength(1);
  });

  it('gives back each delivery as it was recorded, past the first chunk and in any script', () => {
    const recent = new RecentDeliveries(1000, 100_000, () => 0);
    const sent: RoutedDelivery[] = [];
    for (let i = 0; i < 3000; i++) {
      // ~60 bytes to ~4 KB each (~6 MB in all), one of 300 KB: many chunks, one of its own.
      const body = i === 1500 ? 'y'.repeat(300_000) : `héllo 👋 مرحبا ${'x'.repeat(i % 4000)}\n`;
      const d = {
        except: i % 2 ? `c_${i}` : '',
        keyText: `${i} conv "${i % 7}" | ,`,
        json: JSON.stringify({ seq: i, body }),
        nodes: i % 3 ? ['n1', `n${i}`] : [],
      };
      sent.push(d);
      recent.record(['ben', i % 2 ? 'cy' : 'di'], d);
    }
    expect(recent.missedBy('ben', 'z')).toEqual(sent);
    expect(recent.missedBy('cy', 'n1')).toEqual(
      sent.filter((d, i) => i % 2 === 1 && !d.nodes.includes('n1')),
    );
    expect(recent.missedBy('ben', 'z')).toEqual([]);
  });

  it('records nothing for a delivery without recipients', () => {
    const recent = new RecentDeliveries(1000, 1, () => 0);
    recent.record([], delivery('none'));
    recent.record(['ben'], delivery('a'));
    expect(recent.dropped).toBe(0);
    expect(recent.missedBy('ben', 'x').map((d) => d.json)).toEqual(['a']);
  });

  it('stops recording when a generation is full, and counts what it dropped', () => {
    const recent = new RecentDeliveries(1000, 3, () => 0);
    recent.record(['a', 'b'], delivery('1'));
    recent.record(['c', 'd'], delivery('2'));
    expect(recent.dropped).toBe(2);
    expect(recent.missedBy('c', 'x')).toEqual([]);
    expect(recent.missedBy('a', 'x')).toHaveLength(1);
  });
});
