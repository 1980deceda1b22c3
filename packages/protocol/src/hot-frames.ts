/**
 * A fast path for the hot client frames (`send`, `typing`, `delivered`, `read`): plain checks
 * that accept only what the zod schemas in frames.ts accept, and give the same data. Anything
 * it is not sure of (an unknown key, a number that is not a plain one, a body longer than the
 * code-point limit in UTF-16 units, any error) it leaves to zod, which stays the single
 * source of the rules and of every error message. hot-frames.test.ts checks the equivalence
 * with fast-check over generated valid and invalid frames.
 */
import { limits } from './limits.js';
import type { ClientFrame } from './frames.js';

const ID_MAX = 64; // models.ts `id`
const REQUEST_ID_MAX = 64; // frames.ts `requestId`

type Raw = Record<string, unknown>;

/** `undefined`: absent; `false`: not a valid request id. */
function requestId(value: unknown): string | number | undefined | false {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value.length <= REQUEST_ID_MAX ? value : false;
  if (typeof value === 'number') return Number.isFinite(value) ? value : false;
  return false;
}

function isId(value: unknown): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= ID_MAX;
}

function isSeq(value: unknown, min: number): value is number {
  return (
    typeof value === 'number' &&
    Number.isSafeInteger(value) &&
    value >= min &&
    value <= limits.maxSeq
  );
}

/** Only these keys, each with a defined value (zod strips others; leave that case to zod). */
function onlyKeys(raw: Raw, allowed: ReadonlySet<string>): boolean {
  for (const key in raw) {
    if (!allowed.has(key) || raw[key] === undefined) return false;
  }
  return true;
}

const SEND_KEYS = new Set([
  'type',
  'id',
  'conversationId',
  'to',
  'clientMsgId',
  'body',
  'replyToSeq',
]);
const TYPING_KEYS = new Set(['type', 'id', 'conversationId']);
const POSITION_KEYS = new Set(['type', 'id', 'conversationId', 'seq']);

function send(raw: Raw): ClientFrame | undefined {
  if (!onlyKeys(raw, SEND_KEYS)) return undefined;
  const id = requestId(raw.id);
  if (id === false) return undefined;
  const { conversationId, to, clientMsgId, body, replyToSeq } = raw;
  if ((conversationId === undefined) === (to === undefined)) return undefined;
  if (conversationId !== undefined && !isId(conversationId)) return undefined;
  if (to !== undefined && !isId(to)) return undefined;
  if (
    typeof clientMsgId !== 'string' ||
    clientMsgId.length < 1 ||
    clientMsgId.length > limits.maxClientMsgIdChars ||
    clientMsgId.includes('\u0000')
  ) {
    return undefined;
  }
  if (typeof body !== 'string') return undefined;
  const trimmed = body.trim();
  // Code points ≤ UTF-16 units: within the limit in units is within it in code points.
  if (trimmed.length === 0 || trimmed.length > limits.maxBodyChars) return undefined;
  if (trimmed.includes('\u0000')) return undefined;
  if (replyToSeq !== undefined && !isSeq(replyToSeq, 1)) return undefined;
  const frame: Raw = { type: 'send', clientMsgId, body: trimmed };
  if (id !== undefined) frame.id = id;
  if (conversationId !== undefined) frame.conversationId = conversationId;
  if (to !== undefined) frame.to = to;
  if (replyToSeq !== undefined) frame.replyToSeq = replyToSeq;
  return frame as ClientFrame;
}

function typing(raw: Raw): ClientFrame | undefined {
  if (!onlyKeys(raw, TYPING_KEYS) || !isId(raw.conversationId)) return undefined;
  const id = requestId(raw.id);
  if (id === false) return undefined;
  const frame: Raw = { type: 'typing', conversationId: raw.conversationId };
  if (id !== undefined) frame.id = id;
  return frame as ClientFrame;
}

function position(raw: Raw, type: 'delivered' | 'read'): ClientFrame | undefined {
  if (!onlyKeys(raw, POSITION_KEYS) || !isId(raw.conversationId)) return undefined;
  if (!isSeq(raw.seq, 0)) return undefined;
  const id = requestId(raw.id);
  if (id === false) return undefined;
  const frame: Raw = { type, conversationId: raw.conversationId, seq: raw.seq };
  if (id !== undefined) frame.id = id;
  return frame as ClientFrame;
}

/**
 * The parsed frame when `raw` (a JSON object whose `type` is a string) is a valid hot frame;
 * `undefined` when it is not one or the fast path cannot tell: then parse it with zod.
 */
export function parseHotFrame(raw: Raw): ClientFrame | undefined {
  switch (raw.type) {
    case 'send':
      return send(raw);
    case 'typing':
      return typing(raw);
    case 'delivered':
      return position(raw, 'delivered');
    case 'read':
      return position(raw, 'read');
    default:
      return undefined;
  }
}
