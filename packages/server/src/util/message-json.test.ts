import { describe, expect, it } from 'vitest';
import { messageJson, withMessageJson } from './message-json.js';

describe('messageJson', () => {
  it("is the message's JSON, made once: later frames carry the same string", () => {
    const message = { id: 'm1', body: 'hi' };
    const json = messageJson(message);
    expect(JSON.parse(json)).toEqual({ id: 'm1', body: 'hi' });
    message.body = 'changed';
    expect(messageJson(message)).toBe(json);
  });

  it('takes the JSON made elsewhere (the SQLite worker) and never makes it again', () => {
    const message = withMessageJson({ id: 'm2' }, '{"id":"m2","made":"elsewhere"}');
    expect(messageJson(message)).toBe('{"id":"m2","made":"elsewhere"}');
  });

  it('is invisible to everything that reads the message: its JSON, keys, spreads and clones', () => {
    const message = { id: 'm3', body: 'x' };
    const json = messageJson(message);
    expect(JSON.stringify(message)).toBe(json);
    expect(Object.keys(message)).toEqual(['id', 'body']);
    expect({ ...message }).toStrictEqual({ id: 'm3', body: 'x' });
    const copy = structuredClone(message);
    copy.body = 'y';
    // A copy is a message of its own: its JSON is made from what it holds.
    expect(messageJson(copy)).toBe('{"id":"m3","body":"y"}');
    expect(message).toStrictEqual({ id: 'm3', body: 'x' });
  });

  it('works on a frozen message, making its JSON each time', () => {
    const message = Object.freeze({ id: 'm4' });
    expect(messageJson(message)).toBe('{"id":"m4"}');
    expect(messageJson(message)).toBe('{"id":"m4"}');
  });
});
