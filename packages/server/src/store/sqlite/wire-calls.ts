/**
 * How a call crosses to the worker thread: a plain append as one string, every other call as
 * it is. A structured clone of an object graph writes each property's name and value and, on
 * the worker's side, makes every object again and looks each name up; a string is copied
 * whole. For the append's call (nine fields) that is ~2 µs against ~7 µs per call, both sides
 * together, on this project's machine (docs/performance.md, "Round thirteen").
 *
 * The string is the fields in a fixed order, separated by NUL, the body last (so it may hold
 * anything, NUL included). A call whose other fields could not be read back exactly (a NUL in
 * an id, a number that is not a safe integer) or that carries mentions or files crosses as it
 * is: `fromWire(toWire(call))` equals `call` for every call, but for keys whose value is
 * undefined (`mentions: undefined` comes back absent; wire-calls.test.ts).
 */
import type { NewMessage } from '../store.js';
import type { Call } from './rpc.js';

/** A call as it is posted to the worker. */
export type WireCall = Call | string;

const SEP = '\u0000';
/** Fields before the body: the call's id, then the message's. */
const HEAD_FIELDS = 8;

const plainId = (value: unknown): value is string =>
  typeof value === 'string' && !value.includes(SEP);
const integer = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && !Object.is(value, -0);

/** The call as a string when it is a plain append that reads back exactly; else the call. */
export function toWire(call: Call): WireCall {
  if (call.method !== 'appendMessage' || call.args.length !== 1) return call;
  const m = call.args[0] as NewMessage;
  const keys = Object.keys(m);
  if (
    !keys.every((key) => KNOWN.has(key)) ||
    m.mentions !== undefined ||
    m.attachments !== undefined ||
    !plainId(m.id) ||
    !plainId(m.conversationId) ||
    !plainId(m.senderId) ||
    !plainId(m.clientMsgId) ||
    typeof m.body !== 'string' ||
    !(m.replyToSeq === null || integer(m.replyToSeq)) ||
    !integer(m.createdAt) ||
    !(m.knownMembersVersion === undefined || integer(m.knownMembersVersion)) ||
    !integer(call.id)
  ) {
    return call;
  }
  return [
    call.id,
    m.id,
    m.conversationId,
    m.senderId,
    m.clientMsgId,
    m.replyToSeq ?? '',
    m.createdAt,
    m.knownMembersVersion ?? '',
    m.body,
  ].join(SEP);
}

/**
 * Keys a packed append may have: the ones it writes, and the two whose value must be undefined
 * (given as undefined by the chat service; they come back absent).
 */
const KNOWN: ReadonlySet<string> = new Set([
  'id',
  'conversationId',
  'senderId',
  'clientMsgId',
  'body',
  'replyToSeq',
  'createdAt',
  'knownMembersVersion',
  'mentions',
  'attachments',
]);

/** The call `toWire` made `wire` from. */
export function fromWire(wire: WireCall): Call {
  if (typeof wire !== 'string') return wire;
  const fields: string[] = [];
  let start = 0;
  for (let i = 0; i < HEAD_FIELDS; i++) {
    const end = wire.indexOf(SEP, start);
    fields.push(wire.slice(start, end));
    start = end + 1;
  }
  const [id, messageId, conversationId, senderId, clientMsgId, replyToSeq, createdAt, version] =
    fields as [string, string, string, string, string, string, string, string];
  const message: NewMessage = {
    id: messageId,
    conversationId,
    senderId,
    clientMsgId,
    body: wire.slice(start),
    replyToSeq: replyToSeq === '' ? null : Number(replyToSeq),
    createdAt: Number(createdAt),
  };
  if (version !== '') message.knownMembersVersion = Number(version);
  return { id: Number(id), method: 'appendMessage', args: [message] };
}
