/** Guarantee 2: after a reconnect, `sync` closes every gap; every message arrives once, in order. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  directConversation,
  register,
  sleep,
  startServer,
  TestSocket,
  type TestServer,
  type TestUser,
} from '../src/testing/harness.js';

describe('reconnect in the middle of a burst', () => {
  let server: TestServer;
  let ana: TestUser;
  let ben: TestUser;
  let conversationId: string;

  beforeAll(async () => {
    server = await startServer();
    ana = await register(server, 'ana');
    ben = await register(server, 'ben');
    conversationId = await directConversation(server, ana, ben);
  });
  afterAll(() => server.stop());

  it('replays what was missed after the last seen seq, then answers ok', async () => {
    const sender = await TestSocket.connect(server, ana.accessToken);
    let receiver = await TestSocket.connect(server, ben.accessToken);
    const total = 300;
    const seen = new Map<number, string>();
    const collect = (socket: TestSocket) =>
      socket.frames
        .filter((f) => f.type === 'message')
        .forEach((f) => seen.set(f.message.seq, f.message.clientMsgId));

    const burst = (async () => {
      for (let i = 0; i < total; i++) {
        await sender.request({
          type: 'send',
          conversationId,
          clientMsgId: `burst-${i}`,
          body: `message ${i}`,
        });
        if (i % 50 === 0) await sleep(5);
      }
    })();
    // Drop the receiver mid-burst, twice.
    for (let round = 0; round < 2; round++) {
      await receiver.waitFor(
        (f) => f.type === 'message' && f.message.seq > 60 + round * 90,
        15_000,
      );
      receiver.ws.terminate();
      collect(receiver);
      let lastSeen = 0;
      while (seen.has(lastSeen + 1)) lastSeen++;
      await sleep(30);
      // `sync` right behind `auth`: no live event can come first (the sdk waits for `ready`
      // instead, and drops the duplicates that gap can bring by seq).
      receiver = await TestSocket.pipelined(server, ben.accessToken);
      const answer = await receiver.request(
        { type: 'sync', cursors: { [conversationId]: lastSeen } },
        15_000,
      );
      expect(answer.type).toBe('ok');
      expect(answer.truncated).toEqual([]);
      expect(answer.conversations).toContainEqual({
        id: conversationId,
        lastSeq: expect.any(Number),
      });
      // Replayed messages come before the ok, in seq order with no gap after the cursor, and
      // live events that happened meanwhile come after it: the wire order is seq order.
      const replayed = receiver.frames
        .slice(0, receiver.frames.indexOf(answer))
        .filter((f) => f.type === 'message')
        .map((f) => f.message.seq as number);
      expect(replayed).toEqual(Array.from({ length: replayed.length }, (_, i) => lastSeen + 1 + i));
    }
    await burst;
    await receiver.waitFor((f) => f.type === 'message' && f.message.seq === total, 15_000);
    collect(receiver);
    expect([...seen.keys()].sort((a, b) => a - b)).toEqual(
      Array.from({ length: total }, (_, i) => i + 1),
    );
    for (const [seq, clientMsgId] of seen) expect(clientMsgId).toBe(`burst-${seq - 1}`);
    // Within the last connection every message arrives once, in seq order, with no gap.
    const last = receiver.frames
      .filter((f) => f.type === 'message')
      .map((f) => f.message.seq as number);
    expect(last).toEqual(Array.from({ length: last.length }, (_, i) => last[0]! + i));
    sender.close();
    receiver.close();
  });

  it('marks conversations with more than 500 missed messages as truncated', async () => {
    const sender = await TestSocket.connect(server, ana.accessToken);
    const { body } = await api(
      server,
      'GET',
      `/api/conversations/${conversationId}`,
      ben.accessToken,
    );
    const start = body.conversation.lastSeq as number;
    await Promise.all(
      Array.from({ length: 520 }, (_, i) =>
        sender.request(
          { type: 'send', conversationId, clientMsgId: `t-${i}`, body: `t${i}` },
          20_000,
        ),
      ),
    );
    const receiver = await TestSocket.connect(server, ben.accessToken);
    const answer = await receiver.request(
      { type: 'sync', cursors: { [conversationId]: start } },
      20_000,
    );
    expect(answer.truncated).toEqual([conversationId]);
    const replayed = receiver.frames
      .slice(0, receiver.frames.indexOf(answer))
      .filter((f) => f.type === 'message')
      .map((f) => f.message.seq);
    expect(replayed).toEqual(Array.from({ length: 500 }, (_, i) => start + 1 + i));
    sender.close();
    receiver.close();
  });
});
