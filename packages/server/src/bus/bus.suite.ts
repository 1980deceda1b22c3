/**
 * The one conformance suite every Bus implementation runs (`memory.test.ts`, `redis.test.ts`).
 * `open` gives two buses that behave as two nodes of one cluster.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Bus } from './bus.js';

export interface BusPair {
  a: Bus;
  b: Bus;
  close(): Promise<void>;
}

const settle = (ms = 50) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await settle(5);
  }
}

export function describeBus(name: string, open: () => Promise<BusPair>): void {
  describe(`Bus conformance: ${name}`, () => {
    let pair: BusPair | undefined;
    afterEach(async () => {
      await pair?.close();
      pair = undefined;
    });

    it('delivers a publish to subscribers on every node, the publisher’s own included', async () => {
      pair = await open();
      const seenA: string[] = [];
      const seenB: string[] = [];
      await pair.a.subscribe('events', (p) => seenA.push(p));
      await pair.b.subscribe('events', (p) => seenB.push(p));
      await pair.a.publish('events', 'hello');
      await until(() => seenA.length === 1 && seenB.length === 1);
      expect(seenA).toEqual(['hello']);
      expect(seenB).toEqual(['hello']);
    });

    it('keeps one publisher’s order', async () => {
      pair = await open();
      const seen: string[] = [];
      await pair.b.subscribe('order', (p) => seen.push(p));
      const sent = Array.from({ length: 500 }, (_, i) => `m${i}`);
      await Promise.all(sent.map((payload) => pair!.a.publish('order', payload)));
      await until(() => seen.length === sent.length);
      expect(seen).toEqual(sent);
    });

    it('keeps channels apart and stops after unsubscribe', async () => {
      pair = await open();
      const one: string[] = [];
      const two: string[] = [];
      const stop = await pair.b.subscribe('one', (p) => one.push(p));
      await pair.b.subscribe('two', (p) => two.push(p));
      await pair.a.publish('one', 'x');
      await pair.a.publish('two', 'y');
      await until(() => one.length === 1 && two.length === 1);
      await stop();
      await pair.a.publish('one', 'lost');
      await pair.a.publish('two', 'z');
      await until(() => two.length === 2);
      await settle();
      expect(one).toEqual(['x']);
      expect(two).toEqual(['y', 'z']);
    });

    it('carries any text, newlines and unicode included', async () => {
      pair = await open();
      const seen: string[] = [];
      await pair.b.subscribe('text', (p) => seen.push(p));
      const payload = 'D|1 c_1|u_1,u_2\n{"body":"héllo 👋\\n"}';
      await pair.a.publish('text', payload);
      await until(() => seen.length === 1);
      expect(seen[0]).toBe(payload);
    });
  });
}
