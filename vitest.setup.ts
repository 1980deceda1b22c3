/**
 * The unhandled-rejection guard for every suite: a promise that rejects with nobody listening
 * (a fire-and-forget call without its error path) fails the test it happened in, by name, and so
 * the run. Vitest reports such errors too, but only for the run as a whole, and a config flag
 * (dangerouslyIgnoreUnhandledErrors) turns that off; this guard cannot be. Its own test:
 * packages/server/test/unhandled-guard.test.ts.
 */
import { afterAll, afterEach } from 'vitest';

interface Guard {
  raised: unknown[];
}

const key = Symbol.for('letter.unhandled-guard');
const holder = globalThis as typeof globalThis & { [key]?: Guard };
// One listener per process, however many test files the process runs.
const guard: Guard = (holder[key] ??= (() => {
  const created: Guard = { raised: [] };
  process.on('unhandledRejection', (reason) => created.raised.push(reason));
  return created;
})());

function check(when: string): void {
  if (guard.raised.length === 0) return;
  const found = guard.raised
    .splice(0)
    .map((reason) =>
      reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason),
    );
  throw new Error(`unhandled promise rejection ${when}: ${found.join('; ')}`);
}

afterEach(() => check('during this test'));
afterAll(() => check('after the last test of this file'));
