/**
 * Run by promotion.test.ts as `node --single-threaded-gc --trace-gc-nvp promotion-child.mjs
 * <variant>`: one structure of calls in flight (or of messages' JSON), used as the server uses
 * it, through a burst that holds 100,000 at once, then back to a few dozen. The test reads how
 * much each minor collection promoted, from V8's trace, before and after the burst. The amount
 * of work is fixed (calls, not seconds), so the collections fall at the same allocations on any
 * machine. It imports the compiled code (`npm test` builds before it runs the tests).
 */
import { InFlight } from '../../dist/util/in-flight.js';
import { messageJson } from '../../dist/util/message-json.js';

const variant = process.argv[2];

/** A message as the server holds one: a few small objects and strings. */
const message = (n) => ({
  id: `m_${n}`,
  conversationId: 'c_1',
  senderId: 'u_1',
  seq: n,
  body: `message number ${n} `.repeat(4),
  attachments: [{ n }, { n: n + 1 }],
});

/** In-flight calls: one Map for the whole run (as before the fix) or InFlight. */
function calls(store) {
  let next = 1;
  let oldest = 1;
  return (inFlight) => {
    store.set(next, { resolve: message(next) });
    next += 1;
    while (next - oldest > inFlight) {
      if (store instanceof Map) store.delete(oldest);
      else store.take(oldest);
      oldest += 1;
    }
  };
}

/**
 * Messages in flight, held as the server holds them (by their calls: InFlight), with their JSON
 * kept in a WeakMap (as before) or by messageJson.
 */
function jsons(weak) {
  const cache = new WeakMap();
  const held = new InFlight();
  let next = 1;
  let oldest = 1;
  return (inFlight) => {
    const m = message(next);
    if (weak) cache.set(m, JSON.stringify(m));
    else messageJson(m);
    held.set(next, m);
    next += 1;
    while (next - oldest > inFlight) held.take(oldest++);
  };
}

const step = {
  map: () => calls(new Map()),
  'in-flight': () => calls(new InFlight()),
  weakmap: () => jsons(true),
  'message-json': () => jsons(false),
}[variant]();

const run = (phase, inFlight, count) => {
  console.log(`PHASE ${phase}`);
  for (let i = 0; i < count; i++) step(inFlight);
};
run('before', 30, 300_000);
run('burst', 100_000, 300_000);
run('drain', 0, 1);
run('after', 30, 300_000);
console.log('PHASE end');
