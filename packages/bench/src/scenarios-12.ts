/**
 * Scenarios added for issue 12: (h) a fixed rate on one node vs two, (e) connect + auth with
 * raw sockets (so the generator is not the limit), (i) 1,000,000 stored messages.
 */
import { randomBytes } from 'node:crypto';
import { connect as tcpConnect } from 'node:net';
import type { Socket } from 'node:net';
import Database from 'better-sqlite3';
import type { BenchConfig } from './config.js';
import { quiesce } from './load.js';
import { processCpuMicros, sleep } from './proc.js';
import type { LoadResult } from './load.js';
import { keepAliveGetter, postJson } from './letter-api.js';
import { pairRun } from './scenarios.js';
import type { Pairs } from './scenarios.js';
import type { ConnectResult } from './scenarios.js';
import type { LetterTarget, Target } from './targets.js';

// ---------------------------------------------------------------- (h) fixed rate, one node vs two

/** The pairs at `rate` for `durationMs`, acks timed (scenarios-cluster.ts runs (h)'s rounds). */
export async function measureFixedAt(
  target: Target,
  pairs: Pairs,
  config: BenchConfig,
  rate: number,
  durationMs: number,
  /** Letter's `ok`s are awaited and timed; the relays' answers are not counted. */
  expectAcks = true,
): Promise<LoadResult> {
  await quiesce(pairs.hooks, 300, 20_000);
  return pairRun(target, pairs, config, rate, durationMs, {
    maxBacklogSeconds: 5,
    expectAcks,
  });
}

// ---------------------------------------------------------------- (e) connect + auth, raw sockets

/**
 * One handshake on a bare TCP socket: the HTTP upgrade written by hand, then bytes are only
 * searched for `done` (server frames are unmasked text). No ws client, no JSON parse: the
 * generator's cost per handshake is the kernel's, so it stays far below the server's.
 * Letter: the bearer token in the header, done at `"type":"ready"`. The bare ws relay (the
 * baseline) has no auth and sends nothing: done at the end of its 101.
 */
function rawHandshake(
  port: number,
  path: string,
  token: string | undefined,
  done: string,
  timeoutMs: number,
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, '127.0.0.1');
    let seen = '';
    const timer = setTimeout(() => fail(new Error(`timed out before ${done}`)), timeoutMs);
    const fail = (error: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    socket.setNoDelay(true);
    socket.once('error', fail);
    socket.on('data', (chunk: Buffer) => {
      seen += chunk.toString('latin1');
      if (seen.startsWith('HTTP/1.1 101 ') && seen.includes(done)) {
        clearTimeout(timer);
        socket.removeAllListeners('data');
        resolve(socket);
      } else if (seen.length > 64 * 1024 || /^HTTP\/1\.1 [^1]/.test(seen)) {
        fail(new Error(seen.split('\r\n')[0] ?? 'bad answer'));
      }
    });
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
        `Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n` +
        // 16 random bytes: a shorter key (Math.random() can print fewer than 16 digits) gets a 400.
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n` +
        (token === undefined ? '' : `Authorization: Bearer ${token}\r\n`) +
        '\r\n',
    );
  });
}

export async function measureRawConnect(
  target: LetterTarget | Target,
  config: BenchConfig,
  users: number,
): Promise<ConnectResult> {
  const port = Number(new URL(target.baseUrl).port);
  const letter = 'user' in target ? target : undefined;
  const open = (i: number) =>
    letter
      ? rawHandshake(port, '/ws', letter.user(i % users).accessToken, '"type":"ready"', 30_000)
      : rawHandshake(port, `/?id=c${i}`, undefined, '\r\n\r\n', 30_000);
  const run = async (count: number, concurrency: number) => {
    const sockets: Socket[] = [];
    const reasons: string[] = [];
    let next = 0;
    let failures = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: Math.min(concurrency, count) }, async () => {
        while (next < count) {
          const i = next++;
          try {
            sockets.push(await open(i));
          } catch (err) {
            failures++;
            const reason = (err as Error).message;
            if (reasons.length < 5 && !reasons.includes(reason)) reasons.push(reason);
          }
        }
      }),
    );
    return { sockets, failures, reasons, elapsedMs: performance.now() - started };
  };
  const close = (sockets: Socket[]) => {
    for (const s of sockets) s.destroy();
  };
  // Warm-up: JIT and lazy modules on both sides. Measured too, as the cold rate: with the 20
  // handshakes it once was, the row's CPU per handshake was about half V8 compiling (on its
  // helper threads) and the main thread's unoptimised code (docs/performance.md, round four).
  const coldCpu0 = processCpuMicros(target.pid);
  const warm = await run(config.connectWarmup, config.connectConcurrency);
  const coldCpu = processCpuMicros(target.pid) - coldCpu0;
  close(warm.sockets);
  const cold = {
    perSec: warm.sockets.length / (warm.elapsedMs / 1000),
    serverCpuMicros: coldCpu / Math.max(1, warm.sockets.length),
  };
  await sleep(500); // the closes handled
  const cpu0 = process.cpuUsage();
  const server0 = processCpuMicros(target.pid);
  const result = await run(config.connectCount, config.connectConcurrency);
  const serverCpu = processCpuMicros(target.pid) - server0;
  const cpu = process.cpuUsage(cpu0);
  close(result.sockets);
  return {
    attempted: config.connectCount,
    connected: result.sockets.length,
    failures: result.failures,
    reasons: result.reasons,
    perSec: result.sockets.length / (result.elapsedMs / 1000),
    generatorCpu: (cpu.user + cpu.system) / 1000 / result.elapsedMs,
    serverCpuMicros: serverCpu / Math.max(1, result.sockets.length),
    cold,
  };
}

// ---------------------------------------------------------------- (i) 1,000,000 stored messages

export interface StoredResult {
  messages: number;
  /** How long filling the database took (not a figure of Letter's). */
  fillMs: number;
  startupMs: number;
  /** Timed after the cold round and `storedWarmup` untimed pairs. */
  history: Summary;
  search: Summary;
  /** The first `storedSamples` pairs after start-up. */
  cold: { history: Summary; search: Summary };
}

interface Summary {
  p50: number;
  p99: number;
  samples: number;
}

function summary(xs: number[]): Summary {
  const sorted = [...xs].sort((a, b) => a - b);
  return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), samples: xs.length };
}

const WORDS = (
  'alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november ' +
  'oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu apple banana ' +
  'cherry dinner evening friday garden holiday island jacket kitchen lemon meeting morning ' +
  'number orange pizza question river summer ticket umbrella village window yellow zebra'
).split(' ');

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
}

/**
 * Stops Letter, fills its SQLite file directly (a copy of one real message row per generated
 * one, so any column the store adds is filled like the store fills it; then the search and
 * export indexes completed), starts it again (start-up time: spawn to healthy), and times
 * history pages at random points and searches for random words, one at a time: a cold round
 * right after the start, `storedWarmup` untimed pairs, then the round the target is judged on.
 */
export async function measureStored(
  target: LetterTarget,
  config: BenchConfig,
): Promise<StoredResult> {
  await target.start();
  await target.renewStale(0, 2);
  const conversationId = await target.directId(0, 1);
  await postJson(
    target.baseUrl,
    `/api/conversations/${conversationId}/messages`,
    target.user(0).accessToken,
    {
      clientMsgId: `stored-${Date.now()}`,
      body: 'template',
    },
  );
  await target.stop();

  const fillStarted = performance.now();
  const db = new Database(target.databaseFile);
  let last: number;
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = OFF');
    const template = db
      .prepare('SELECT * FROM messages WHERE conversation_id = ? ORDER BY seq DESC LIMIT 1')
      .get(conversationId) as Record<string, unknown>;
    const columns = Object.keys(template);
    const insert = db.prepare(
      `INSERT INTO messages (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`,
    );
    const senders = db
      .prepare('SELECT user_id FROM members WHERE conversation_id = ?')
      .all(conversationId)
      .map((r) => (r as { user_id: string }).user_id);
    const first = Number(template.seq) + 1;
    const t0 = Number(template.created_at) - config.storedMessages * 1000;
    const fill = db.transaction((from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const seq = first + i;
        const body = Array.from({ length: 8 }, (_, k) => WORDS[(i * 7 + k * 13) % WORDS.length])
          .join(' ')
          .concat(` ${i}`);
        insert.run({
          ...template,
          id: `m_${(t0 + i * 1000).toString(36).padStart(9, '0')}bench${i.toString(36).padStart(11, '0')}`,
          seq,
          sender_id: senders[i % senders.length] ?? template.sender_id,
          client_msg_id: `stored-${i}`,
          body,
          created_at: t0 + i * 1000,
        });
      }
    });
    for (let i = 0; i < config.storedMessages; i += 50_000)
      fill(i, Math.min(config.storedMessages, i + 50_000));
    last = first + config.storedMessages - 1;
    db.prepare('UPDATE conversations SET last_seq = ?, last_activity_at = ? WHERE id = ?').run(
      last,
      Date.now(),
      conversationId,
    );
    // Both indexes complete, as the store leaves them (SqliteStore.indexPending): the search
    // index rebuilt, the export index given every new row in its key order and its mark moved.
    db.exec(`INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')`);
    db.exec(`INSERT INTO sent_messages (sender_id, conversation_id, seq, created_at)
      SELECT sender_id, conversation_id, seq, created_at FROM messages
      WHERE rowid > (SELECT upto FROM sent_messages_mark) AND sender_id IS NOT NULL
      ORDER BY sender_id, conversation_id, seq`);
    db.exec(`UPDATE sent_messages_mark SET upto = (SELECT max(rowid) FROM messages)`);
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
  const fillMs = performance.now() - fillStarted;

  await target.start();
  const startupMs = target.startupMs;
  try {
    await target.renewStale(0, 2);
    const client = keepAliveGetter(target.baseUrl, target.user(0).accessToken);
    const time = async (path: string) => {
      const t = performance.now();
      await client.get(path);
      return performance.now() - t;
    };
    /** `count` history pages at random points, each followed by a search for a random word. */
    const round = async (count: number) => {
      const history: number[] = [];
      const search: number[] = [];
      for (let k = 0; k < count; k++) {
        const before = 2 + Math.floor(Math.random() * (last - 1));
        history.push(await time(`/api/conversations/${conversationId}/messages?before=${before}`));
        const word = WORDS[Math.floor(Math.random() * WORDS.length)]!;
        search.push(await time(`/api/search?q=${encodeURIComponent(word)}`));
      }
      return { history: summary(history), search: summary(search) };
    };
    try {
      const cold = await round(config.storedSamples);
      await round(config.storedWarmup);
      const warm = await round(config.storedSamples);
      return { messages: config.storedMessages, fillMs, startupMs, ...warm, cold };
    } finally {
      client.close();
    }
  } finally {
    await target.stop();
  }
}
