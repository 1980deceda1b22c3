/**
 * Buffered log lines (util/log-stream.ts) still reach standard output: within LOG_FLUSH_MS while
 * the process runs, at once past the buffer's size, and at exit, the `process.exit(1)` after a
 * fatal line included. Each child writes a marker straight to fd 1 (unbuffered): where the
 * lines stand relative to it tells when they were written.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { distScript } from '../store/sqlite/dist-script.js';

const script = distScript('./log-stream.js', import.meta.url).href;

/** Runs `body` in a child with `stream` made; resolves to its stdout and exit code. */
function run(body: string): Promise<{ out: string; code: number }> {
  const code = `import { writeSync } from 'node:fs';
import { bufferedLogStream } from ${JSON.stringify(script)};
const stream = bufferedLogStream();
const mark = () => writeSync(1, 'MARK\\n');
${body}`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code]);
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (text: string) => (out += text));
  return new Promise((resolve) => child.on('close', (exit) => resolve({ out, code: exit ?? -1 })));
}

describe('buffered log lines', () => {
  it('leave within the flush interval while the process runs on, in one write', async () => {
    const { out } = await run(`
stream.write('{"msg":"one"}\\n');
stream.write('{"msg":"two"}\\n');
setTimeout(() => { mark(); process.exit(0); }, 1000);`);
    expect(out).toBe('{"msg":"one"}\n{"msg":"two"}\nMARK\n');
  });

  it('leave at once past the buffer size', async () => {
    const { out } = await run(`
const line = JSON.stringify({ msg: 'x'.repeat(300) }) + '\\n';
for (let i = 0; i < 20; i++) stream.write(line);
mark();`);
    const lines = out.split('\n').filter(Boolean);
    // 14 lines make 4 KiB: they were written before the marker, the other 6 at exit.
    expect(lines.indexOf('MARK')).toBe(14);
    expect(lines).toHaveLength(21);
  });

  it('are written at exit, even by process.exit right after logging', async () => {
    const { out, code } = await run(`
stream.write('{"msg":"fatal"}\\n');
mark();
process.exit(1);`);
    expect(code).toBe(1);
    expect(out).toBe('MARK\n{"msg":"fatal"}\n');
  });
});
