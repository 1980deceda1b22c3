/**
 * What survives a restart: a clean stop and start keeps users, sessions, conversations and
 * history; and `kill -9` of a real server process right after a burst of acknowledged sends loses
 * none of them (guarantee 1), leaves seqs gap-free and the database intact.
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import {
  api,
  directConversation,
  register,
  startServer,
  TestSocket,
  type TestUser,
} from '../src/testing/harness.js';
import { cleanUp, scratchDir, startChild } from './child.js';

const dataDir = () => scratchDir('letter-durability-');

afterAll(cleanUp);

interface Message {
  seq: number;
  senderId: string | null;
  clientMsgId: string | null;
  body: string;
}

/** The whole history of a conversation, paging forward over REST. */
async function fullHistory(
  server: { url: string },
  token: string,
  conversationId: string,
): Promise<Message[]> {
  const messages: Message[] = [];
  for (;;) {
    const after = messages.at(-1)?.seq ?? 0;
    const page = await api(
      server,
      'GET',
      `/api/conversations/${conversationId}/messages?after=${after}&limit=200`,
      token,
    );
    expect(page.status).toBe(200);
    messages.push(...(page.body.messages as Message[]));
    if (!page.body.hasMore) return messages;
  }
}

function expectGapFree(messages: Message[]): void {
  expect(messages.map((m) => m.seq)).toEqual(messages.map((_m, i) => i + 1));
}

function integrityCheck(file: string): string {
  const db = new Database(file, { fileMustExist: true });
  try {
    return db.pragma('integrity_check', { simple: true }) as string;
  } finally {
    db.close();
  }
}

describe('stop and start on the same data dir', () => {
  it('keeps users, sessions, conversations and history', async () => {
    const dir = dataDir();
    let server = await startServer({ dataDir: dir });
    let alice: TestUser;
    let bob: TestUser;
    let conversationId: string;
    try {
      alice = await register(server, 'dur_a');
      bob = await register(server, 'dur_b');
      conversationId = await directConversation(server, alice, bob);
      const group = await api(server, 'POST', '/api/conversations', alice.accessToken, {
        kind: 'group',
        title: 'Durable group',
        memberIds: [bob.user.id],
      });
      expect(group.status).toBe(201);
      for (let i = 1; i <= 10; i++) {
        const sender = i % 2 ? alice : bob;
        const sent = await api(
          server,
          'POST',
          `/api/conversations/${conversationId}/messages`,
          sender.accessToken,
          {
            clientMsgId: `m${i}`,
            body: `message ${i}`,
          },
        );
        expect(sent.status).toBe(201);
      }
      const read = await api(
        server,
        'POST',
        `/api/conversations/${conversationId}/read`,
        bob.accessToken,
        { seq: 10 },
      );
      expect(read.status).toBe(204);
    } finally {
      await server.stop();
    }

    server = await startServer({ dataDir: dir });
    try {
      // The session (and the JWT secret kept in the data dir) survived: the old tokens still work.
      const me = await api(server, 'GET', '/api/me', alice.accessToken);
      expect(me.status).toBe(200);
      expect(me.body.user).toEqual(alice.user);
      const relogin = await api(server, 'POST', '/api/auth/login', undefined, {
        username: bob.user.username,
        password: 'correct horse battery',
      });
      expect(relogin.status).toBe(200);
      const refreshed = await api(server, 'POST', '/api/auth/refresh', undefined, {
        refreshToken: bob.refreshToken,
      });
      expect(refreshed.status).toBe(200);

      const list = await api(server, 'GET', '/api/conversations', alice.accessToken);
      expect(list.body.conversations).toHaveLength(2);
      const direct = list.body.conversations.find((c: { id: string }) => c.id === conversationId);
      expect(direct).toMatchObject({ kind: 'direct', lastSeq: 10 });
      expect(list.body.conversations.find((c: { kind: string }) => c.kind === 'group')?.title).toBe(
        'Durable group',
      );
      const bobView = await api(
        server,
        'GET',
        `/api/conversations/${conversationId}`,
        bob.accessToken,
      );
      expect(bobView.body.conversation).toMatchObject({ readSeq: 10, unreadCount: 0 });

      const history = await fullHistory(server, alice.accessToken, conversationId);
      expectGapFree(history);
      expect(history.map((m) => m.clientMsgId)).toEqual(
        Array.from({ length: 10 }, (_v, i) => `m${i + 1}`),
      );
      expect(history.map((m) => m.body)).toEqual(
        Array.from({ length: 10 }, (_v, i) => `message ${i + 1}`),
      );

      // Seqs continue where they stopped, and idempotency survives too.
      const next = await api(
        server,
        'POST',
        `/api/conversations/${conversationId}/messages`,
        alice.accessToken,
        {
          clientMsgId: 'after-restart',
          body: 'after restart',
        },
      );
      expect(next.status).toBe(201);
      expect(next.body.message.seq).toBe(11);
      const repeat = await api(
        server,
        'POST',
        `/api/conversations/${conversationId}/messages`,
        alice.accessToken,
        {
          clientMsgId: 'm1',
          body: 'message 1',
        },
      );
      expect(repeat.status).toBe(200);
      expect(repeat.body.message.seq).toBe(1);
    } finally {
      await server.stop();
    }
    expect(integrityCheck(join(dir, 'letter.db'))).toBe('ok');
  });
});

describe('kill -9 after a burst of acknowledged sends', () => {
  it(
    'loses no acknowledged message, keeps seqs gap-free and the database intact',
    { timeout: 180_000 },
    async () => {
      const dir = dataDir();
      const first = await startChild(dir);
      const alice = await register(first, 'kill_a');
      const bob = await register(first, 'kill_b');
      const conversationId = await directConversation(first, alice, bob);
      const aliceSocket = await TestSocket.connect(first, alice.accessToken);
      const bobSocket = await TestSocket.connect(first, bob.accessToken);

      // Two senders at once in one conversation, each keeping a window of sends in flight so the
      // store batches them. The server is killed the moment the 200th ok arrives, while about
      // 2 × window sends are still on their way: some committed, some not, none acknowledged.
      const window = 30;
      const killAfter = 200;
      const acked = new Map<string, number>();
      let sent = 0;
      let killed = false;
      const send = (socket: TestSocket, who: string, i: number) => {
        sent++;
        socket.sendRaw(
          JSON.stringify({
            type: 'send',
            id: `${who}${i}`,
            conversationId,
            clientMsgId: `${who}-${i}`,
            body: `${who} ${i}`,
          }),
        );
      };
      const allAcked = new Promise<void>((resolve) => {
        for (const [socket, who] of [
          [aliceSocket, 'a'],
          [bobSocket, 'b'],
        ] as const) {
          let next = window;
          socket.ws.on('message', (data) => {
            if (killed) return;
            const frame = JSON.parse(String(data)) as {
              type: string;
              message?: { clientMsgId: string; seq: number };
            };
            if (frame.type !== 'ok' || !frame.message) return;
            acked.set(frame.message.clientMsgId, frame.message.seq);
            if (acked.size >= killAfter) {
              killed = true;
              first.process.kill('SIGKILL');
              resolve();
              return;
            }
            send(socket, who, next++);
          });
          for (let i = 0; i < window; i++) send(socket, who, i);
        }
      });
      await allAcked;
      const exit = await first.exited;
      expect(exit.signal).toBe('SIGKILL');
      expect(acked.size).toBe(killAfter);

      // The files exactly as the kill left them, checked on a copy so the server recovers the original.
      const copy = join(dir, 'after-kill');
      mkdirSync(copy);
      for (const suffix of ['', '-wal', '-shm']) {
        const file = join(dir, `letter.db${suffix}`);
        if (existsSync(file)) copyFileSync(file, join(copy, `letter.db${suffix}`));
      }
      expect(integrityCheck(join(copy, 'letter.db'))).toBe('ok');

      const second = await startChild(dir);
      try {
        const history = await fullHistory(second, alice.accessToken, conversationId);
        expectGapFree(history);
        expect(history.length).toBeGreaterThanOrEqual(acked.size);
        expect(history.length).toBeLessThanOrEqual(sent);
        const byClientId = new Map<string, Message[]>();
        for (const message of history) {
          if (message.clientMsgId === null) continue;
          byClientId.set(message.clientMsgId, [
            ...(byClientId.get(message.clientMsgId) ?? []),
            message,
          ]);
        }
        for (const [clientMsgId, seq] of acked) {
          const found = byClientId.get(clientMsgId) ?? [];
          expect(found, clientMsgId).toHaveLength(1);
          expect(found[0]!.seq, clientMsgId).toBe(seq);
        }
        // Whatever else made it in (sent but not yet acknowledged) is there once too.
        for (const [clientMsgId, found] of byClientId) expect(found, clientMsgId).toHaveLength(1);

        // A resend of an acknowledged message after the restart is recognised, not duplicated.
        const [someId, someSeq] = [...acked][0]!;
        const who = someId.startsWith('a-') ? alice : bob;
        const resend = await api(
          second,
          'POST',
          `/api/conversations/${conversationId}/messages`,
          who.accessToken,
          {
            clientMsgId: someId,
            body: someId.replace('-', ' '),
          },
        );
        expect(resend.status).toBe(200);
        expect(resend.body.message.seq).toBe(someSeq);
      } finally {
        const exit = await second.stop('SIGTERM');
        expect(exit.code).toBe(0);
      }
      expect(integrityCheck(join(dir, 'letter.db'))).toBe('ok');
    },
  );
});
