/**
 * The machine probe's fixed work (run by probe.ts in a child pinned to the server core): the
 * three kinds of work a message costs Letter, each timed alone, so that two bench reports from
 * different days can say how fast their machine was. Prints one JSON line of `ProbeFigures`.
 *
 * - js: a message frame made and read back (`JSON.stringify` + `JSON.parse`), µs each;
 * - sqlite: rows appended to a WAL database in transactions of 20 (`synchronous=NORMAL`, no
 *   fsync: the CPU of SQLite's B-tree and WAL code), µs per row;
 * - fsync: one 4 KiB write + `fdatasync` of a file in the bench's work directory, the median
 *   in ms (the disk under every durable commit), and the CPU each costs the process, mostly in the
 *   kernel, µs on average: a server that commits more often pays it more often (the `cpu` row's
 *   relay commits every few messages, Letter every few dozen: docs/performance.md, round twenty).
 */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

export interface ProbeFigures {
  jsMicros: number;
  sqliteMicros: number;
  fsyncMs: number;
  fsyncCpuMicros: number;
}

const JS_ROUNDS = 200_000;
const SQLITE_ROWS = 40_000;
const SQLITE_BATCH = 20;
const FSYNCS = 40;

function probeJs(): number {
  const frame = {
    type: 'message',
    conversationId: 'c_0123456789abcdef',
    seq: 0,
    senderId: 'u_0123456789abcdef',
    clientMsgId: '0190f3a2-7b1c-7c3d-9e4f-0123456789ab',
    body: 'a message of about the size people send, with some words in it',
    createdAt: '2026-11-28T03:00:00.000Z',
  };
  let sink = 0;
  const started = performance.now();
  for (let i = 0; i < JS_ROUNDS; i++) {
    frame.seq = i;
    sink += (JSON.parse(JSON.stringify(frame)) as { seq: number }).seq;
  }
  const micros = ((performance.now() - started) * 1000) / JS_ROUNDS;
  return sink >= 0 ? micros : Number.NaN;
}

function probeSqlite(dir: string): number {
  const db = new Database(join(dir, 'probe.db'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(`CREATE TABLE m (id INTEGER PRIMARY KEY, conv TEXT NOT NULL, seq INTEGER NOT NULL,
      body TEXT NOT NULL, UNIQUE (conv, seq)) STRICT`);
    const insert = db.prepare('INSERT INTO m (conv, seq, body) VALUES (?, ?, ?)');
    const batch = db.transaction((from: number) => {
      for (let i = from; i < from + SQLITE_BATCH; i++) insert.run(`c${i % 100}`, i, `body ${i}`);
    });
    const started = performance.now();
    for (let i = 0; i < SQLITE_ROWS; i += SQLITE_BATCH) batch(i);
    return ((performance.now() - started) * 1000) / SQLITE_ROWS;
  } finally {
    db.close();
  }
}

function probeFsync(dir: string): { fsyncMs: number; fsyncCpuMicros: number } {
  const fd = openSync(join(dir, 'probe.sync'), 'w');
  const page = Buffer.alloc(4096, 1);
  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  try {
    for (let i = 0; i < FSYNCS; i++) {
      writeSync(fd, page, 0, page.length, (i % 16) * page.length);
      const started = performance.now();
      fdatasyncSync(fd);
      times.push(performance.now() - started);
    }
  } finally {
    closeSync(fd);
  }
  const cpu = process.cpuUsage(cpu0);
  times.sort((a, b) => a - b);
  return {
    fsyncMs: times[Math.floor(times.length / 2)]!,
    fsyncCpuMicros: (cpu.user + cpu.system) / FSYNCS,
  };
}

const [workDir = '/tmp'] = process.argv.slice(2);
const dir = mkdtempSync(join(workDir, 'probe-'));
try {
  const figures: ProbeFigures = {
    jsMicros: probeJs(),
    sqliteMicros: probeSqlite(dir),
    ...probeFsync(dir),
  };
  process.stdout.write(`${JSON.stringify(figures)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
