import type { Message } from '@letter/protocol';
import { describe, expect, it } from 'vitest';
import type { PushSubscriptionRecord, Store } from '../store/store.js';
import { previewText, Pusher } from './pusher.js';
import type { PushTarget, SendOutcome } from './sender.js';

const sub = (userId: string): PushSubscriptionRecord => ({
  endpoint: `https://push.example/${userId}`,
  sessionId: `s-${userId}`,
  userId,
  p256dh: 'k',
  auth: 'a',
  preview: true,
});

function fakeStore(calls: string[]): Store {
  return {
    pushSubscriptions: async (ids: string[]) => {
      calls.push('subscriptions');
      return ids.map(sub);
    },
    conversationViews: async (conversationId: string, ids: string[]) =>
      ids.map((userId) => ({
        userId,
        conversation: { id: conversationId, kind: 'direct', title: 'Ann', muted: false },
      })),
    getUsers: async (ids: string[]) => ids.map((id) => ({ id, username: id, displayName: id })),
    deletePushEndpoint: async (endpoint: string) => {
      calls.push(`delete ${endpoint}`);
    },
  } as unknown as Store;
}

const message = (seq: number, body = `m${seq}`): Message =>
  ({ conversationId: 'c1', seq, senderId: 'ann', body, attachments: [] }) as unknown as Message;

/** A push service whose answers the test releases one by one. */
function gatedSend() {
  const pending: { target: PushTarget; payload: string; answer: (o: SendOutcome) => void }[] = [];
  const send = (target: PushTarget, payload: string) =>
    new Promise<SendOutcome>((answer) => pending.push({ target, payload, answer }));
  return { pending, send };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));
const waitFor = async (check: () => boolean) => {
  for (let i = 0; i < 100 && !check(); i++) await flush();
  expect(check()).toBe(true);
};

describe('the pusher', () => {
  it('queues without touching the store on the caller’s turn, skips the sender and connected users', async () => {
    const calls: string[] = [];
    const service = gatedSend();
    const pusher = new Pusher({
      store: fakeStore(calls),
      connected: (id) => id === 'cat',
      send: service.send,
    });
    pusher.messageCommitted(message(1), ['ann', 'bob', 'cat']);
    expect(calls).toEqual([]);
    await waitFor(() => service.pending.length === 1);
    expect(service.pending[0]!.target.endpoint).toBe('https://push.example/bob');
    service.pending[0]!.answer({ kind: 'sent', status: 201 });
    await pusher.idle();
    expect(pusher.stats.sent).toBe(1);
  });

  it('coalesces the pushes waiting for one subscription into the newest', async () => {
    const service = gatedSend();
    const pusher = new Pusher({ store: fakeStore([]), connected: () => false, send: service.send });
    pusher.messageCommitted(message(1), ['ann', 'bob']);
    await waitFor(() => service.pending.length === 1);
    // While the first is in flight, three more come: one push follows, with the newest.
    for (const seq of [2, 3, 4]) pusher.messageCommitted(message(seq), ['ann', 'bob']);
    await flush();
    await flush();
    service.pending[0]!.answer({ kind: 'sent', status: 201 });
    await waitFor(() => service.pending.length === 2);
    expect(JSON.parse(service.pending[1]!.payload)).toMatchObject({ seq: 4, body: 'm4' });
    service.pending[1]!.answer({ kind: 'sent', status: 201 });
    await pusher.idle();
    expect(pusher.stats).toMatchObject({ sent: 2, coalesced: 2 });
  });

  it('drops what does not fit its bound', () => {
    const pusher = new Pusher({
      store: fakeStore([]),
      connected: () => false,
      send: gatedSend().send,
      maxQueued: 2,
      concurrency: 1,
    });
    // One being expanded, two waiting: the fourth and fifth do not fit.
    for (const seq of [1, 2, 3, 4, 5]) pusher.messageCommitted(message(seq), ['ann', 'bob']);
    expect(pusher.stats.dropped).toBe(2);
    pusher.stop();
  });

  it('retries 429/5xx with a capped number of attempts, and deletes a gone subscription', async () => {
    const calls: string[] = [];
    let attempts = 0;
    const pusher = new Pusher({
      store: fakeStore(calls),
      connected: () => false,
      send: async (target) => {
        if (target.endpoint.endsWith('/gone')) return { kind: 'gone', status: 410 };
        attempts++;
        return { kind: 'retry', status: 503, retryAfterMs: undefined };
      },
      maxAttempts: 3,
      backoffMs: 1,
    });
    pusher.messageCommitted(message(1), ['ann', 'bob', 'gone']);
    await pusher.idle();
    expect(attempts).toBe(3);
    expect(pusher.stats).toMatchObject({ retried: 2, failed: 1, gone: 1 });
    expect(calls).toContain('delete https://push.example/gone');
  });
});

describe('previewText', () => {
  const file = (name: string, mime: string) => ({ id: 'f', name, mime, size: 1, url: '/x' });
  const withFiles = (body: string, ...attachments: ReturnType<typeof file>[]) =>
    ({ ...message(1, body), attachments }) as Message;
  it('says what a message of files only carries', () => {
    expect(previewText(withFiles('look', file('a.png', 'image/png')))).toBe('look');
    expect(previewText(withFiles('', file('a.png', 'image/png')))).toBe('📷 Photo');
    expect(previewText(withFiles('', file('a.png', 'image/png'), file('b.png', 'image/png')))).toBe(
      '📷 Photo (+1)',
    );
    expect(previewText(withFiles('', file('n.ogg', 'audio/ogg')))).toBe('🎤 Voice message');
    expect(previewText(withFiles('', file('plan.pdf', 'application/pdf')))).toBe('📄 plan.pdf');
  });
});
