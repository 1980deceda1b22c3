import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { NewMessage } from '../store.js';
import type { Call } from './rpc.js';
import { fromWire, toWire } from './wire-calls.js';

/** Any string, separators and lone surrogates included. */
const text = fc.string({ unit: 'binary', maxLength: 40 });
const idText = fc.oneof(text, fc.constant('a\u0000b'), fc.constant(''));
const number = fc.oneof(
  fc.integer({ min: -1000, max: 2 ** 40 }),
  fc.constant(Number.MAX_SAFE_INTEGER),
  fc.constant(2 ** 60),
  fc.constant(1.5),
  fc.constant(-0),
  fc.constant(Number.NaN),
);

/** An append's fields, its ids and numbers drawn from `id` and `n`. */
const appendFields = (id: fc.Arbitrary<string>, n: fc.Arbitrary<number>) => ({
  id,
  conversationId: id,
  senderId: id,
  clientMsgId: id,
  body: fc.oneof(text, fc.constant('\u0000\u0000x\u0000')),
  replyToSeq: fc.option(n, { nil: null }),
  createdAt: n,
  knownMembersVersion: fc.option(n, { nil: undefined }),
});

/** Any append, packable or not. */
const message = fc.record(
  {
    ...appendFields(idText, number),
    mentions: fc.option(fc.array(text, { maxLength: 2 }), { nil: undefined }),
    attachments: fc.option(fc.array(text, { maxLength: 2 }), { nil: undefined }),
  },
  { requiredKeys: ['id', 'conversationId', 'senderId', 'clientMsgId', 'body', 'replyToSeq'] },
);

const appendCall = (id: number, m: unknown): Call => ({
  id,
  method: 'appendMessage',
  args: [m],
});

/** Appends toWire packs: every field readable back. */
const safe = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.integer(),
  fc.constant(Number.MAX_SAFE_INTEGER),
  fc.constant(Number.MIN_SAFE_INTEGER),
);
const packable = fc.record(
  appendFields(
    text.filter((s) => !s.includes('\u0000')),
    safe,
  ),
);

describe('calls across the thread boundary', () => {
  it('packs every plain append into a string that reads back exactly', () => {
    fc.assert(
      fc.property(fc.nat(), packable, (id, m) => {
        const call = appendCall(id, m);
        const wire = toWire(call);
        expect(typeof wire).toBe('string');
        const got = fromWire(wire).args[0] as Partial<NewMessage>;
        expect(fromWire(wire)).toEqual(call);
        for (const key of ['replyToSeq', 'createdAt', 'knownMembersVersion'] as const) {
          expect(Object.is(got[key], m[key])).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('read back equal to what was sent, packed or not', () => {
    fc.assert(
      fc.property(fc.oneof(fc.nat(), fc.constant(-0)), message, (id, m) => {
        const call = appendCall(id, m);
        const back = fromWire(toWire(call));
        expect(back).toEqual(call);
        // toEqual ignores undefined-valued keys; the kinds of the values must match too.
        const sent = m as Partial<NewMessage>;
        const got = back.args[0] as Partial<NewMessage>;
        expect(Object.is(back.id, call.id)).toBe(true);
        for (const key of ['replyToSeq', 'createdAt', 'knownMembersVersion'] as const) {
          expect(Object.is(got[key], sent[key])).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('packs a plain append into one string, the body holding anything', () => {
    const m: NewMessage = {
      id: 'm_1',
      conversationId: 'c_1',
      senderId: 'u_1',
      clientMsgId: '019acb3e-4f2a-7b3c-8d9e-0123456789ab',
      body: 'a\u0000b\u0000\u0000',
      replyToSeq: null,
      createdAt: 1_764_290_000_000,
      knownMembersVersion: undefined,
      mentions: undefined,
      attachments: undefined,
    };
    const wire = toWire(appendCall(7, m));
    expect(typeof wire).toBe('string');
    expect(fromWire(wire)).toEqual(appendCall(7, m));
    expect(
      fromWire(toWire(appendCall(8, { ...m, replyToSeq: 3, knownMembersVersion: 2 }))),
    ).toEqual(appendCall(8, { ...m, replyToSeq: 3, knownMembersVersion: 2 }));
  });

  it('leaves as they are: other methods, appends with mentions or files, and odd fields', () => {
    const m = { id: 'm_1', conversationId: 'c_1', senderId: 'u_1', clientMsgId: 'k', body: 'x' };
    const plain = { ...m, replyToSeq: null, createdAt: 1 };
    for (const call of [
      { id: 1, method: 'createUser', args: [{ id: 'u_1' }] } as Call,
      appendCall(2, { ...plain, mentions: ['u_2'] }),
      appendCall(3, { ...plain, attachments: [] }),
      appendCall(4, { ...plain, senderId: 'u\u00001' }),
      appendCall(5, { ...plain, createdAt: 1.5 }),
      appendCall(6, { ...plain, extra: true }),
      { id: 7, method: 'appendMessage', args: [plain, 'more'] } as Call,
    ]) {
      expect(toWire(call)).toBe(call);
    }
  });
});
