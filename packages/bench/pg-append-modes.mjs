// Store-level A/B of the PostgreSQL append batch's two read modes (append-batch.ts): one store
// (one node), 100 direct conversations, appends at a fixed rate with each message acked by its
// recipient (a delivered and a read position move, as clients do), for `seconds`. Prints the
// appends' p50/p99 latency and the node's CPU per append. Usage:
//   node packages/bench/pg-append-modes.mjs <postgres url> [rate=4000] [seconds=8] [rounds=3]
import { randomBytes } from 'node:crypto';
import { openPostgresStore } from '../server/dist/store/postgres/open.js';
import { dropSchema } from '../server/dist/store/postgres/testing.js';

const [url, rate = '4000', seconds = '8', rounds = '3'] = process.argv.slice(2);
if (!url) throw new Error('usage: pg-append-modes.mjs <postgres url> [rate] [seconds] [rounds]');

async function run(mode) {
  const schema = `letter_${randomBytes(6).toString('hex')}`;
  const store = await openPostgresStore({ url, schema, appendReads: mode, maxConnections: 8 });
  try {
    const users = [];
    for (let i = 0; i < 200; i++) {
      users.push(
        await store.createUser({
          id: `u${i}`,
          username: `user${i}_${schema}`,
          displayName: `U${i}`,
          passwordHash: 'x',
          createdAt: Date.now(),
        }),
      );
    }
    const conversations = [];
    for (let i = 0; i < 100; i++) {
      const opened = await store.openDirect(
        `c${i}`,
        users[2 * i].id,
        users[2 * i + 1].id,
        Date.now(),
      );
      conversations.push(opened.conversation.id);
    }
    const latencies = [];
    let n = 0;
    const pending = new Set();
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    const end = start + Number(seconds) * 1000;
    const interval = 1000 / Number(rate);
    let next = start;
    while (performance.now() < end) {
      const now = performance.now();
      while (next <= now) {
        const i = n++ % 200;
        const pair = i >> 1;
        const sender = users[i];
        const recipient = users[i ^ 1];
        const t0 = performance.now();
        const p = store
          .appendMessage({
            id: `m${n}`,
            conversationId: conversations[pair],
            senderId: sender.id,
            clientMsgId: `k${n}`,
            body: 'hello there, a message of some length',
            replyToSeq: null,
            createdAt: Date.now(),
          })
          .then(async (result) => {
            latencies.push(performance.now() - t0);
            const seq = result.message.seq;
            await store.advancePosition(
              conversations[pair],
              recipient.id,
              'delivered',
              seq,
              Date.now(),
            );
            await store.advancePosition(conversations[pair], recipient.id, 'read', seq, Date.now());
          });
        pending.add(p);
        const settled = () => pending.delete(p);
        p.then(settled, settled);
        next += interval;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(pending);
    const cpu = process.cpuUsage(cpu0);
    latencies.sort((a, b) => a - b);
    const q = (f) => latencies[Math.min(latencies.length - 1, Math.floor(f * latencies.length))];
    return {
      mode,
      appends: latencies.length,
      p50: q(0.5).toFixed(1),
      p99: q(0.99).toFixed(1),
      cpuPerAppendUs: ((cpu.user + cpu.system) / latencies.length) | 0,
    };
  } finally {
    await store.close();
    await dropSchema(url, schema);
  }
}

for (let r = 0; r < Number(rounds); r++) {
  for (const mode of ['locked', 'unlocked']) console.log(JSON.stringify(await run(mode)));
}
