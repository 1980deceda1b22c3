import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FaultProxy } from './fault-proxy.js';

/** An echo server and a client that collects what comes back. */
let echo: Server;
let proxy: FaultProxy;

beforeEach(async () => {
  echo = createServer((socket) => socket.on('error', () => {}).pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  const address = echo.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  proxy = await FaultProxy.start({ host: '127.0.0.1', port: address.port });
});

afterEach(async () => {
  await proxy.close();
  await new Promise((resolve) => echo.close(resolve));
});

function open(): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    let text = '';
    const socket = connect(proxy.port, '127.0.0.1');
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const closed = new Promise<void>((done) => socket.on('close', () => done()));
    socket.on('error', () => {});
    socket.once('connect', () => resolve({ socket, received: () => text, closed }));
    socket.once('error', reject);
  });
}

const until = async (check: () => boolean, ms = 2000) => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('FaultProxy', () => {
  it('passes bytes both ways, in order, also when delayed', async () => {
    const client = await open();
    client.socket.write('one ');
    await until(() => client.received() === 'one ');
    proxy.delay(60);
    const sent = Date.now();
    client.socket.write('two ');
    client.socket.write('three');
    await until(() => client.received() === 'one two three');
    // Delayed on the way there and on the way back.
    expect(Date.now() - sent).toBeGreaterThanOrEqual(110);
    client.socket.destroy();
  });

  it('keeps the order when the delay ends with bytes still held back', async () => {
    // TCP never reorders bytes: a chunk sent just after delay(0) waits behind the held ones.
    // (It once went straight through, so a pipelined PostgreSQL connection read one query's
    // answer as another's.)
    const client = await open();
    proxy.delay(200);
    client.socket.write('first ');
    await sleep(50);
    proxy.delay(0);
    client.socket.write('second');
    await until(() => client.received().length === 'first second'.length);
    expect(client.received()).toBe('first second');
    client.socket.destroy();
  });

  it('cut resets open connections and refuses new ones until restored', async () => {
    const client = await open();
    proxy.cut();
    await client.closed;
    // A new connection is reset during or right after its handshake.
    await open().then(
      (refused) => refused.closed,
      () => undefined,
    );
    expect(proxy.openConnections).toBe(0);
    proxy.restore();
    const again = await open();
    again.socket.write('back');
    await until(() => again.received() === 'back');
    again.socket.destroy();
  });

  it('blackhole keeps connections open and drops every byte; restore resets them', async () => {
    const client = await open();
    proxy.blackhole();
    client.socket.write('lost');
    await sleep(100);
    expect(client.received()).toBe('');
    expect(client.socket.destroyed).toBe(false);
    proxy.restore();
    await client.closed;
    const fresh = await open();
    fresh.socket.write('ok');
    await until(() => fresh.received() === 'ok');
    fresh.socket.destroy();
  });
});
