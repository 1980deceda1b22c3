/** The OutboxStorage contract, run against every implementation. */
import { describe, expect, it } from 'vitest';
import type { OutboxEntry, OutboxStorage } from './storage.js';

export function entry(overrides: Partial<OutboxEntry> = {}): OutboxEntry {
  return {
    userId: 'u1',
    clientMsgId: 'm1',
    conversationId: 'c1',
    body: 'hello',
    replyToSeq: null,
    createdAt: '2026-01-01T00:00:00.000Z',
    position: 1,
    status: 'pending',
    error: null,
    ...overrides,
  };
}

export function describeOutboxStorage(name: string, make: () => OutboxStorage): void {
  describe(`OutboxStorage: ${name}`, () => {
    it('puts, loads per user, replaces by clientMsgId and deletes', async () => {
      const storage = make();
      await storage.put(entry());
      await storage.put(entry({ clientMsgId: 'm2', position: 2 }));
      await storage.put(entry({ userId: 'u2', clientMsgId: 'm1' }));
      await storage.put(
        entry({ clientMsgId: 'm2', position: 2, status: 'failed', error: 'blocked' }),
      );
      const loaded = (await storage.load('u1')).sort((a, b) => a.position - b.position);
      expect(loaded).toEqual([
        entry(),
        entry({ clientMsgId: 'm2', position: 2, status: 'failed', error: 'blocked' }),
      ]);
      await storage.delete('u1', 'm1');
      await storage.delete('u1', 'missing');
      expect((await storage.load('u1')).map((e) => e.clientMsgId)).toEqual(['m2']);
      expect((await storage.load('u2')).map((e) => e.clientMsgId)).toEqual(['m1']);
      expect(await storage.load('nobody')).toEqual([]);
    });

    it('returns copies: changing a loaded entry does not change storage', async () => {
      const storage = make();
      await storage.put(entry());
      const [loaded] = await storage.load('u1');
      loaded!.body = 'changed';
      expect((await storage.load('u1'))[0]!.body).toBe('hello');
    });
  });
}
