/**
 * `node packages/bench/dist/validate-bench.js [iterations]`: the cost of validating the hot
 * client frames on the event loop, zod's `safeParse` against the hand-written fast path
 * (`parseHotFrame`, protocol/hot-frames.ts), on frames shaped like the bench's. One thread,
 * no I/O: run it on a quiet core; it reports ns per frame and the ratio.
 */
import { clientFrameSchemas, parseHotFrame } from '@letter/protocol';

const iterations = Number(process.argv[2] ?? 300_000);
const conversationId = 'c_0mhx3k2a1AbCdEfGhIjKlMnOp';
const frames = {
  send: {
    type: 'send',
    conversationId,
    id: '~b1.123.4567890~',
    clientMsgId: '~b1.123.4567890~',
    body: '~b1.123.4567890~ lorem ipsum dolor sit amet, consectetur adipiscing',
  },
  delivered: { type: 'delivered', conversationId, seq: 123_456 },
  read: { type: 'read', id: 7, conversationId, seq: 123_456 },
  typing: { type: 'typing', conversationId },
} as const;

function time(run: () => void): number {
  for (let i = 0; i < 20_000; i++) run(); // warm-up: JIT
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) run();
  return Number(process.hrtime.bigint() - started) / iterations;
}

const lines = [
  '| frame | JSON.parse ns | + zod safeParse ns | + fast path ns |',
  '|---|---:|---:|---:|',
];
for (const [type, frame] of Object.entries(frames)) {
  // A fresh object per frame, as JSON.parse gives one per message.
  const text = JSON.stringify(frame);
  const schema = clientFrameSchemas[type as keyof typeof frames];
  const parse = time(() => JSON.parse(text));
  const zod = time(() => {
    if (!schema.safeParse(JSON.parse(text)).success) throw new Error('zod refused');
  });
  const fast = time(() => {
    if (!parseHotFrame(JSON.parse(text) as Record<string, unknown>)) throw new Error('refused');
  });
  lines.push(`| ${type} | ${parse.toFixed(0)} | ${zod.toFixed(0)} | ${fast.toFixed(0)} |`);
}
process.stdout.write(`${lines.join('\n')}\n\n${iterations} iterations each, after a warm-up.\n`);
