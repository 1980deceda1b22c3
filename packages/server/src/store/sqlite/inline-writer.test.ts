/**
 * The writer on the main thread (sqlite/inline-writer.ts): what it must keep of a worker
 * thread's behaviour. The store's conformance suite and the SQLite store's own tests run over
 * it too (sqlite.test.ts); here: the copies, a failure that ends the store and not the process,
 * and a node that chats with it.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InlineWriter } from './inline-writer.js';
import type { FromWorker, ToWorker, WorkerOptions } from './rpc.js';
import type { WriterIo, startWriter } from './writer.js';
import { defaultWriterPlace, openSqliteStore } from './worker-store.js';
import { fromWire } from './wire-calls.js';
import { directConversation, register, startServer, TestSocket } from '../../testing/harness.js';

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

/** A stand-in writer: keeps what it was sent and answers with objects it keeps too. */
function fakeWriter() {
  const seen: ToWorker[] = [];
  const kept = { value: { name: 'kept by the writer' } };
  let io: WriterIo | undefined;
  const start = ((_options: WorkerOptions, given: WriterIo) => {
    io = given;
    given.post({ type: 'ready', walFile: null });
    return {
      receive(message: ToWorker) {
        seen.push(message);
        if (message.type !== 'calls') return;
        const replies = message.calls.map((call) => ({ id: fromWire(call).id, value: kept.value }));
        given.post({ type: 'replies', replies, wrote: true, stats: {} as never });
      },
    };
  }) as typeof startWriter;
  return { start, seen, kept, io: () => io! };
}

const messages = (host: InlineWriter): Promise<FromWorker> =>
  new Promise((resolve) => host.once('message', resolve));

describe('the writer on the main thread', () => {
  it('is where the writer runs, unless told, when the process may use one core only', () => {
    expect(defaultWriterPlace(1)).toBe('inline');
    expect(defaultWriterPlace(2)).toBe('thread');
    expect(defaultWriterPlace(16)).toBe('thread');
  });

  it('copies arguments and replies as a worker would, except an append’s', async () => {
    const fake = fakeWriter();
    const host = new InlineWriter(fake.start, { file: ':memory:' });
    expect(await messages(host)).toEqual({ type: 'ready', walFile: null });

    const user = { id: 'u_1', username: 'ana' };
    const input = { id: 'm_1', body: 'hello' };
    const replied = messages(host);
    host.postMessage({
      type: 'calls',
      sentAt: 0,
      calls: [
        { id: 1, method: 'createUser', args: [user] },
        { id: 2, method: 'appendMessage', args: [input] },
      ],
    });
    const received = (fake.seen[0] as Extract<ToWorker, { type: 'calls' }>).calls.map(fromWire);
    expect(received[0]!.args).toEqual([user]);
    expect(received[0]!.args[0]).not.toBe(user);
    expect(received[1]!.args[0]).toBe(input);

    const reply = (await replied) as Extract<FromWorker, { type: 'replies' }>;
    const [created, appended] = reply.replies as { id: number; value: unknown }[];
    expect(created!.value).toEqual(fake.kept.value);
    expect(created!.value).not.toBe(fake.kept.value);
    expect(appended!.value).toBe(fake.kept.value);
    await host.terminate();
  });

  it('an exception in the writer fails the store, not the process', async () => {
    const fake = fakeWriter();
    const host = new InlineWriter(fake.start, { file: ':memory:' });
    await messages(host);
    const failed = new Promise<Error>((resolve) => host.once('error', resolve));
    // As a timer of the writer would run its work.
    setImmediate(
      fake.io().guard(() => {
        throw new Error('a bug in a batch');
      }),
    );
    expect((await failed).message).toBe('a bug in a batch');
    // Nothing reaches the writer any more.
    host.postMessage({ type: 'close' });
    expect(fake.seen).toEqual([]);
    await host.terminate();
  });

  it('a database that cannot be opened rejects the open', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'letter-inline-'));
    dirs.push(dir);
    const notADatabase = join(dir, 'letter.db');
    await writeFile(notADatabase, 'this is not an SQLite file, and it is long enough to be read');
    await expect(openSqliteStore({ file: notADatabase, writer: 'inline' })).rejects.toThrow(
      /not a database/,
    );
  });

  it('a node on it delivers, acknowledges and keeps messages', async () => {
    const server = await startServer({ config: { sqliteWriter: 'inline' } });
    try {
      const [ana, ben] = [await register(server, 'ana'), await register(server, 'ben')];
      const conversationId = await directConversation(server, ana, ben);
      const anaSocket = await TestSocket.connect(server, ana.accessToken);
      const benSocket = await TestSocket.connect(server, ben.accessToken);
      const ok = await anaSocket.request({
        type: 'send',
        conversationId,
        clientMsgId: 'inline-1',
        body: 'from the main thread',
      });
      await benSocket.waitFor((f) => f.type === 'message' && f.message.id === ok.message.id);
      anaSocket.close();
      benSocket.close();
      const history = await server.node.store.history(conversationId, ben.user.id, { limit: 5 });
      expect(history!.messages.map((m) => m.body)).toEqual(['from the main thread']);
    } finally {
      await server.stop();
    }
  });
});
