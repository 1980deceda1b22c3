/**
 * The app icons, drawn at build time as PNGs (no image tool, no binary in the repo): Letter's
 * envelope, white on the header green, on a full-bleed square. `maskable` shrinks the envelope
 * into the central safe zone (a circle of 80 % of the width) that any launcher mask keeps.
 */
import { deflateSync } from 'node:zlib';

const GREEN = [0x00, 0x80, 0x69] as const;
const WHITE = [0xff, 0xff, 0xff] as const;

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const byte of bytes) c = crcTable[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** Is (x, y), in units of the icon's width, on the envelope's flap lines (a V) or its body? */
function envelope(x: number, y: number, inset: number): 'line' | 'body' | 'none' {
  const left = inset;
  const right = 1 - inset;
  const width = right - left;
  const top = 0.5 - width * 0.34;
  const bottom = 0.5 + width * 0.34;
  if (x < left || x > right || y < top || y > bottom) return 'none';
  // The flap: from both top corners to the middle, 40 % down the envelope.
  const u = (x - left) / width;
  const flapY = top + (bottom - top) * 0.6 * (1 - Math.abs(u - 0.5) * 2);
  return Math.abs(y - flapY) < width * 0.045 ? 'line' : 'body';
}

export function iconPng(size: number, maskable: boolean): Buffer {
  const inset = maskable ? 0.27 : 0.19;
  const rows: Buffer[] = [];
  for (let py = 0; py < size; py++) {
    const row = Buffer.alloc(1 + size * 3);
    for (let px = 0; px < size; px++) {
      const where = envelope((px + 0.5) / size, (py + 0.5) / size, inset);
      const colour = where === 'body' ? WHITE : GREEN;
      row.set(colour, 1 + px * 3);
    }
    rows.push(row);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.concat(rows), { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
