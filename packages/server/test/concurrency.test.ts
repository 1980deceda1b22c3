/** Guarantee 3: one order per conversation, gap-free, whatever the concurrency; sends are idempotent. */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  directConversation,
  register,
  startServer,
  TestSocket,
  type TestServer,
  type TestUser,
} from '../src/testing/harness.js';

describe('concurrent senders', () => {
  let server: TestServer;
  let users: TestUser[];

  beforeAll(async () => {
    server = await startServer();
    users = await Promise.all([0, 1, 2].map((i) => register(server, `c${i}`)));
  });
  afterAll(() => server.stop());

  it('five concurrent sends with one clientMsgId give one message and five identical answers', async () => {
    const [ana, ben] = users as [TestUser, TestUser];
    const conversationId = await directConversation(server, ana, ben);
    const sockets = await Promise.all(
      [0, 1, 2].map(() => TestSocket.connect(server, ana.accessToken)),
    );
    const frame = { type: 'send', conversationId, clientMsgId: 'same', body: 'once' };
    const answers = await Promise.all([
      ...sockets.map((socket) => socket.request(frame)),
      api(server, 'POST', `/api/conversations/${conversationId}/messages`, ana.accessToken, {
        clientMsgId: 'same',
        body: 'once',
      }).then((r) => ({ message: r.body.message })),
      api(server, 'POST', `/api/conversations/${conversationId}/messages`, ana.accessToken, {
        clientMsgId: 'same',
        body: 'once',
      }).then((r) => ({ message: r.body.message })),
    ]);
    const messages = answers.map((a) => a.message);
    for (const message of messages) expect(message).toEqual(messages[0]);
    const history = await api(
      server,
      'GET',
      `/api/conversations/${conversationId}/messages`,
      ben.accessToken,
    );
    expect(history.body.messages).toHaveLength(1);
    for (const socket of sockets) socket.close();
  });

  it('random concurrent sends from several sockets give every member the same gap-free order', async () => {
    const title = 'property';
    const group = await api(server, 'POST', '/api/conversations', users[0]!.accessToken, {
      kind: 'group',
      title,
      memberIds: users.slice(1).map((u) => u.user.id),
    });
    const conversationId = group.body.conversation.id as string;
    // Two sockets per member: every one of them must see the same order.
    const sockets = await Promise.all(
      users.flatMap((u) => [u, u]).map((u) => TestSocket.connect(server, u.accessToken)),
    );
    let round = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(sockets.length - 1), fc.string({ minLength: 1, maxLength: 20 })), {
          minLength: 1,
          maxLength: 40,
        }),
        async (plan) => {
          round++;
          const start = (
            await api(server, 'GET', `/api/conversations/${conversationId}`, users[0]!.accessToken)
          ).body.conversation.lastSeq as number;
          const answers = await Promise.all(
            plan.map(([who, text], i) =>
              sockets[who]!.request({
                type: 'send',
                conversationId,
                clientMsgId: `r${round}-${i}`,
                body: `x${text}`,
              }),
            ),
          );
          const seqs = answers.map((a) => a.message.seq as number).sort((a, b) => a - b);
          expect(seqs).toEqual(plan.map((_, i) => start + 1 + i));
          const end = start + plan.length;
          for (let s = 0; s < sockets.length; s++) {
            const socket = sockets[s]!;
            // What this socket knows: events, plus the oks of its own sends.
            await Promise.all(
              seqs.map((seq) =>
                socket.waitFor(
                  (f) => (f.type === 'message' || f.type === 'ok') && f.message?.seq === seq,
                  10_000,
                ),
              ),
            );
            const order = socket.frames
              .filter(
                (f) =>
                  f.type === 'message' &&
                  f.message.conversationId === conversationId &&
                  f.message.seq > start &&
                  f.message.seq <= end,
              )
              .map((f) => f.message.seq as number);
            expect([...order].sort((a, b) => a - b)).toEqual(order);
            expect(new Set(order).size).toBe(order.length);
          }
        },
      ),
      { numRuns: 15 },
    );
    const seqs: number[] = [];
    for (let hasMore = true; hasMore;) {
      const page = await api(
        server,
        'GET',
        `/api/conversations/${conversationId}/messages?after=${seqs.length}&limit=200`,
        users[1]!.accessToken,
      );
      seqs.push(...page.body.messages.map((m: { seq: number }) => m.seq));
      hasMore = page.body.hasMore;
    }
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    for (const socket of sockets) socket.close();
  });
});
