/**
 * The server writes its text frames itself (transport/ws.ts `textFrame`): every payload length
 * class of RFC 6455 (7-bit, 16-bit, 64-bit) must decode, with ws's own client-side parser, to
 * exactly the payload, and back to back as a corked write sends them.
 */
import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import type { Writable } from 'node:stream';
import { framed, textFrame } from '../src/transport/ws.js';

/** ws's frame parser: exported by ws at run time, absent from @types/ws. */
const { Receiver } = createRequire(import.meta.url)('ws') as {
  Receiver: new (options: { isServer: boolean; maxPayload: number }) => Writable;
};

function decode(bytes: Buffer): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const receiver = new Receiver({ isServer: false, maxPayload: 0 });
    const texts: string[] = [];
    receiver.on('message', (data: Buffer, isBinary: boolean) => {
      expect(isBinary).toBe(false);
      texts.push(data.toString());
    });
    receiver.on('error', reject);
    receiver.write(bytes, () => resolve(texts));
  });
}

describe('textFrame', () => {
  const lengths = [0, 1, 125, 126, 127, 65_535, 65_536, 70_001];
  it.each(lengths)('a payload of %i bytes decodes to itself', async (length) => {
    const text = Array.from({ length }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
    expect(await decode(textFrame(Buffer.from(text)))).toEqual([text]);
  });

  it('frames written back to back decode in order, multi-byte UTF-8 included', async () => {
    const texts = ['{"type":"ok"}', 'é'.repeat(100), '✓'.repeat(50), 'x'.repeat(300)];
    const bytes = Buffer.concat(texts.map((t) => textFrame(Buffer.from(t))));
    expect(await decode(bytes)).toEqual(texts);
  });

  it('one payload handed to many sockets is framed once; each payload keeps its own bytes', async () => {
    // The hub hands one Buffer to every recipient of a delivery (hub.ts sendToLocal).
    const group = Buffer.from('{"type":"message"}');
    const ok = Buffer.from('{"type":"ok","id":"1"}');
    const sent = [group, group, ok, group, Buffer.from('{"type":"message"}')].map(framed);
    expect(sent[1]).toBe(sent[0]);
    expect(await decode(Buffer.concat(sent))).toEqual([
      '{"type":"message"}',
      '{"type":"message"}',
      '{"type":"ok","id":"1"}',
      '{"type":"message"}',
      '{"type":"message"}',
    ]);
  });
});
