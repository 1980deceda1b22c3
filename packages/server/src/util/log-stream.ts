/**
 * Where the node's JSON log lines go when LETTER_LOG_WRITES is `buffered` (the default): standard
 * output, but not one system call per line (two per HTTP request, ~15 % of a history page's time
 * on the event loop). Lines collect in memory and leave in one write when `LOG_BUFFER_BYTES` have
 * gathered, and at the latest `LOG_FLUSH_MS` after the first of them; at exit, including the
 * `process.exit` after a fatal line, whatever is left is written before the process ends.
 *
 * The trade: a line may appear up to `LOG_FLUSH_MS` late, and a process killed outright
 * (SIGKILL, the OOM killer, a native abort) loses at most that long's lines. `sync` (pino's own
 * destination) writes each line as it is logged.
 */
import { writeSync } from 'node:fs';

export type LogWrites = 'buffered' | 'sync';

/** Lines wait at most this long for company (ms). */
export const LOG_FLUSH_MS = 100;
/** Bytes gathered before a write, whatever the time. */
export const LOG_BUFFER_BYTES = 4096;

export interface LogStream {
  write(line: string): void;
  /** Writes what is buffered now (synchronously). */
  flush(): void;
}

const open = new Set<LogStream>();
let exitHooked = false;

export function bufferedLogStream(fd = 1): LogStream {
  let lines: string[] = [];
  let bytes = 0;
  let timer: NodeJS.Timeout | undefined;
  const stream: LogStream = {
    write(line) {
      lines.push(line);
      bytes += line.length;
      if (bytes >= LOG_BUFFER_BYTES) stream.flush();
      else timer ??= setTimeout(() => stream.flush(), LOG_FLUSH_MS).unref();
    },
    flush() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      if (lines.length === 0) return;
      const text = lines.join('');
      lines = [];
      bytes = 0;
      writeFully(fd, Buffer.from(text));
    },
  };
  open.add(stream);
  if (!exitHooked) {
    exitHooked = true;
    process.on('exit', () => {
      for (const each of open) each.flush();
    });
  }
  return stream;
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/** All of `data`, however the fd takes it (a full non-blocking pipe answers EAGAIN). */
function writeFully(fd: number, data: Buffer): void {
  let offset = 0;
  let retries = 0;
  while (offset < data.length) {
    try {
      offset += writeSync(fd, data, offset);
      retries = 0;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      // A reader that never drains must not hang the node: after ~1 s the lines are dropped.
      if ((code !== 'EAGAIN' && code !== 'EBUSY') || ++retries > 100) return;
      Atomics.wait(pause, 0, 0, 10);
    }
  }
}
