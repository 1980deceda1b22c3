/**
 * The ws + SQLite group-commit relay: the bare ws relay made durable the way Letter's `ok` is.
 * Every frame is stored before it is forwarded: frames that arrive while a transaction runs
 * are gathered and written together in the next one (group commit), one INSERT per frame in
 * WAL mode with `synchronous=FULL` (an fsync per commit), then forwarded. No auth, no acks.
 * The database lives in `RELAY_DB` (a file in a temp dir the harness removes).
 *
 * `RELAY_PAD_US` (for `loop-cpu.mjs` only; 0 in the bench): each frame also spins that many µs
 * of CPU on the event loop, so the relay's latency can be read at Letter's CPU per message.
 * `RELAY_ACK=1` (the same): each frame is also answered to its sender after the commit, as
 * Letter's `ok` is, carrying the frame with its bench tag defused (the generator ignores it).
 * `RELAY_SCHEMA=<layer>` (the same; default `relay`, the table above): the frames are stored in
 * that layer of Letter's schema (relays/floor-schema.ts: `+search` is every index Letter's
 * features need, filled as Letter's writer fills them), each 1:1 pair a conversation. With
 * `RELAY_ACK=1` that is the floor of Letter's whole path: a message read, stored with Letter's
 * indexes, answered and forwarded, with none of Letter's code (no auth, validation, threads).
 * `RELAY_CORK=1` (the same): the frames of one flush leave each socket in one write, as
 * Letter's transport sends a turn's frames (transport/ws.ts), not one system call a frame.
 */
import Database from 'better-sqlite3';
import type { WebSocket } from 'ws';
import type { Duplex } from 'node:stream';
import { RelayDirectory, serveWsRelay, type RelayFrame } from './directory.js';
import { isFloorLayer, openFloor } from './floor-schema.js';

const layer = process.env.RELAY_SCHEMA ?? 'relay';
if (!isFloorLayer(layer)) throw new Error(`RELAY_SCHEMA: ${layer}?`);
const db = new Database(process.env.RELAY_DB ?? ':memory:');
const store = openFloor(db, layer);
/** Time-ordered ids (as Letter's message ids and the sdk's client ids are), made cheaply. */
let counter = 0;
const nextId = (prefix: string): string =>
  `${prefix}${Date.now().toString(36)}${(counter++ % 1e9).toString(36).padStart(6, '0')}`;

const directory = new RelayDirectory();
const padMs = Number(process.env.RELAY_PAD_US ?? 0) / 1000;
const ack = process.env.RELAY_ACK === '1';
const cork = process.env.RELAY_CORK === '1';

/** Spins `padMs` of CPU (RELAY_PAD_US). */
function pad(): void {
  const end = performance.now() + padMs;
  while (performance.now() < end);
}

interface Pending {
  from: string;
  socket: WebSocket;
  frame: RelayFrame;
}

let batch: Pending[] = [];
let scheduled = false;
const commit = db.transaction((items: Pending[]) => {
  const now = Date.now();
  for (const { from, frame } of items) {
    const to = frame.to ?? `#${frame.room}`;
    const body = frame.body ?? '';
    if (layer === 'relay') {
      // The baseline's own row: no ids to make.
      store.append({
        id: '',
        conversationId: to,
        senderId: from,
        clientMsgId: '',
        body,
        createdAt: now,
      });
      continue;
    }
    store.append({
      id: nextId('m'),
      conversationId: from < to ? `${from}|${to}` : `${to}|${from}`,
      senderId: from,
      clientMsgId: nextId('c'),
      body,
      createdAt: now,
    });
  }
  store.flush();
});

/** Durable first (one transaction for everything gathered), then forwarded. */
function flush(): void {
  scheduled = false;
  const items = batch;
  batch = [];
  commit(items);
  store.committed(items.length);
  const corked = cork ? corkAll(items) : null;
  for (const { from, socket, frame } of items) {
    directory.forward(socket, from, frame);
    if (ack) socket.send(`{"type":"ok","message":${JSON.stringify(frame).replace('~b', '~a')}}`);
  }
  if (corked) for (const tcp of corked) tcp.uncork();
}

/** Corks the TCP stream of every sender and addressee of `items` (RELAY_CORK). */
function corkAll(items: Pending[]): Set<Duplex> {
  const streams = new Set<Duplex>();
  const add = (socket: WebSocket | undefined): void => {
    const tcp = (socket as unknown as { _socket?: Duplex } | undefined)?._socket;
    if (tcp && !streams.has(tcp)) {
      streams.add(tcp);
      tcp.cork();
    }
  };
  for (const { socket, frame } of items) {
    add(socket);
    if (frame.to !== undefined) add(directory.socket(frame.to));
  }
  return streams;
}

serveWsRelay(directory, (socket, id, frame) => {
  if (typeof frame.body !== 'string') return;
  if (padMs > 0) pad();
  batch.push({ from: id, socket, frame });
  if (!scheduled) {
    scheduled = true;
    // After the frames already read in this turn: they share the transaction.
    setImmediate(flush);
  }
});
process.on('exit', () => db.close());
