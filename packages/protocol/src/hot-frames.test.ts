/**
 * The fast path for hot frames agrees with zod: whatever it accepts zod accepts, with the same
 * data; and it does accept the frames clients actually send (a fast path that never answered
 * would pass the first property trivially).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clientFrameSchemas } from './frames.js';
import { parseHotFrame } from './hot-frames.js';
import { limits } from './limits.js';

const hot = ['send', 'typing', 'delivered', 'read'] as const;

/** Strings near every limit: empty, blank, NUL, long, astral characters. */
const text = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.string({ maxLength: 10 }).map((s) => `${s}\u0000${s}`),
  fc.string({ maxLength: 10 }).map((s) => ` ${s}\u0000 `),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom('', ' ', '  \n\t', 'a\u0000b', '\u0000', '😀'),
  fc.integer({ min: 60, max: 70 }).map((n) => 'x'.repeat(n)),
  fc.constantFrom('i'.repeat(64), 'i'.repeat(65), '😀'.repeat(32), '😀'.repeat(33)),
  fc
    .integer({ min: limits.maxBodyChars - 2, max: limits.maxBodyChars + 2 })
    .map((n) => 'y'.repeat(n)),
  fc.integer({ min: 1999, max: 2002 }).map((n) => '😀'.repeat(n)),
  fc.constantFrom(`  ${'z'.repeat(limits.maxBodyChars)}  `),
);
const number = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom(limits.maxSeq, limits.maxSeq + 1, 2 ** 53, -0, 1.5, NaN, Infinity, -Infinity),
  fc.double(),
);
const anyValue = fc.oneof(
  text,
  number,
  fc.constant(null),
  fc.boolean(),
  fc.constant(undefined),
  fc.constant([]),
  fc.constant({}),
);

const validFrame = fc.oneof(
  fc.record(
    {
      type: fc.constant('send'),
      id: fc.oneof(fc.string({ maxLength: 64 }), fc.integer()),
      conversationId: fc.string({ minLength: 1, maxLength: 64 }),
      clientMsgId: fc.string({ minLength: 1, maxLength: 64 }).filter((s) => !s.includes('\u0000')),
      body: fc
        .string({ minLength: 1, maxLength: 200 })
        .filter((s) => s.trim().length > 0 && !s.includes('\u0000')),
      replyToSeq: fc.integer({ min: 1, max: limits.maxSeq }),
    },
    { requiredKeys: ['type', 'conversationId', 'clientMsgId', 'body'] },
  ),
  fc.record(
    {
      type: fc.constantFrom('delivered', 'read'),
      id: fc.oneof(fc.string({ maxLength: 64 }), fc.integer()),
      conversationId: fc.string({ minLength: 1, maxLength: 64 }),
      seq: fc.integer({ min: 0, max: limits.maxSeq }),
    },
    { requiredKeys: ['type', 'conversationId', 'seq'] },
  ),
  fc.record(
    {
      type: fc.constant('typing'),
      id: fc.string({ maxLength: 64 }),
      conversationId: fc.string({ minLength: 1, maxLength: 64 }),
    },
    { requiredKeys: ['type', 'conversationId'] },
  ),
);

/** Valid frames with one field changed, dropped or added, and frames made of anything. */
const keys = [
  'type',
  'id',
  'conversationId',
  'to',
  'clientMsgId',
  'body',
  'replyToSeq',
  'seq',
  'extra',
];
const mutated = fc
  .tuple(validFrame, fc.constantFrom(...keys), anyValue, fc.boolean())
  .map(([frame, key, value, drop]) => {
    const copy: Record<string, unknown> = { ...frame };
    if (drop) delete copy[key];
    else copy[key] = key === 'type' ? fc.sample(fc.constantFrom(...hot), 1)[0] : value;
    return copy;
  });
const arbitrary = fc
  .tuple(fc.constantFrom(...hot), fc.dictionary(fc.constantFrom(...keys), anyValue))
  .map(([type, rest]) => ({ ...rest, type }));

function agrees(raw: Record<string, unknown>): void {
  const fast = parseHotFrame(raw);
  if (fast === undefined) return; // left to zod
  const type = raw.type as (typeof hot)[number];
  const zod = clientFrameSchemas[type].safeParse(raw);
  expect(zod.success, JSON.stringify(raw)).toBe(true);
  expect(fast).toStrictEqual(zod.data);
}

describe('parseHotFrame', () => {
  it('accepts only what zod accepts, with the same data', () => {
    fc.assert(fc.property(fc.oneof(validFrame, mutated, arbitrary), agrees), { numRuns: 40_000 });
  });

  it('answers for the frames clients send (the fast path is taken)', () => {
    fc.assert(
      fc.property(validFrame, (raw) => {
        expect(parseHotFrame(raw)).toBeDefined();
        agrees(raw);
      }),
      { numRuns: 5000 },
    );
  });

  it('leaves every other frame type to zod', () => {
    for (const type of ['auth', 'sync', 'ping', 'nope']) {
      expect(parseHotFrame({ type, id: 1, token: 't', cursors: {} })).toBeUndefined();
    }
  });
});
