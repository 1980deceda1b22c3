/**
 * The few parts of tar (POSIX ustar) that backups need, gzip-compressed: regular files and
 * directories, streamed both ways so a database of any size passes in bounded memory. The files
 * it writes open with `tar -xzf` too.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';

const BLOCK = 512;

export interface TarEntry {
  /** A relative path with `/` separators. */
  name: string;
  type: 'file' | 'directory';
  mode: number;
  /** Files only: where the content comes from (a path, or the bytes themselves). */
  source?: string | Buffer;
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function header(name: string, type: TarEntry['type'], mode: number, size: number): Buffer {
  const block = Buffer.alloc(BLOCK);
  let prefix = '';
  let short = type === 'directory' ? `${name}/` : name;
  if (Buffer.byteLength(short) > 100) {
    const cut = short.lastIndexOf('/', short.length - 2);
    prefix = short.slice(0, cut);
    short = short.slice(cut + 1);
    if (cut < 0 || Buffer.byteLength(short) > 100 || Buffer.byteLength(prefix) > 155) {
      throw new Error(`path too long for a backup archive: ${name}`);
    }
  }
  block.write(short, 0, 100, 'utf8');
  block.write(octal(mode & 0o7777, 8), 100, 'ascii');
  block.write(octal(0, 8), 108, 'ascii');
  block.write(octal(0, 8), 116, 'ascii');
  if (size < 0o77777777777) {
    block.write(octal(size, 12), 124, 'ascii');
  } else {
    // GNU base-256 for sizes of 8 GiB and more.
    block[124] = 0x80;
    block.writeBigUInt64BE(BigInt(size), 124 + 4);
  }
  block.write(octal(Math.floor(Date.now() / 1000), 12), 136, 'ascii');
  block.write('        ', 148, 'ascii');
  block.write(type === 'directory' ? '5' : '0', 156, 'ascii');
  block.write('ustar\0', 257, 'ascii');
  block.write('00', 263, 'ascii');
  block.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(octal(sum, 7) + ' ', 148, 'ascii');
  return block;
}

async function* archive(entries: TarEntry[]): AsyncGenerator<Buffer> {
  for (const entry of entries) {
    if (entry.type === 'directory') {
      yield header(entry.name, 'directory', entry.mode, 0);
      continue;
    }
    const source = entry.source!;
    if (Buffer.isBuffer(source)) {
      yield header(entry.name, 'file', entry.mode, source.length);
      yield source;
      yield Buffer.alloc((BLOCK - (source.length % BLOCK)) % BLOCK);
      continue;
    }
    // The size is taken from the open file, which nothing writes to any more (a snapshot or a
    // key file); a file that changed size meanwhile fails the backup rather than corrupting it.
    const handle = await open(source, 'r');
    try {
      const { size } = await handle.stat();
      yield header(entry.name, 'file', entry.mode, size);
      let written = 0;
      const stream = size === 0 ? [] : handle.createReadStream({ autoClose: false, end: size - 1 });
      for await (const chunk of stream) {
        written += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
      if (written !== size) throw new Error(`${source} changed size while being archived`);
      yield Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
    } finally {
      await handle.close();
    }
  }
  yield Buffer.alloc(BLOCK * 2);
}

/** Writes `entries` as a gzip-compressed tar to `file` (created; never overwritten). */
export async function writeTarGz(file: string, entries: TarEntry[]): Promise<void> {
  const out = createWriteStream(file, { flags: 'wx', mode: 0o600 });
  await pipeline(Readable.from(archive(entries)), createGzip(), out);
  const handle = await open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export interface TarSink {
  /** A directory entry. */
  directory(name: string, mode: number): Promise<void>;
  /** A file entry: `write` gets its content in order, then `end`. */
  file(
    name: string,
    mode: number,
    size: number,
  ): Promise<{ write(chunk: Buffer): Promise<void>; end(): Promise<void> }>;
}

function parseOctal(field: Buffer): number {
  if ((field[0]! & 0x80) !== 0) return Number(field.readBigUInt64BE(field.length - 8));
  const text = field.toString('ascii').replace(/\0.*$/s, '').trim();
  return text === '' ? 0 : parseInt(text, 8);
}

function parseHeader(block: Buffer): { name: string; type: string; mode: number; size: number } {
  const stored = block.readUInt32BE(148) === 0 ? 0 : parseOctal(block.subarray(148, 156));
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : block[i]!;
  if (sum !== stored) throw new Error('not a Letter backup (a tar header checksum is wrong)');
  const text = (start: number, length: number) =>
    block
      .subarray(start, start + length)
      .toString('utf8')
      .replace(/\0.*$/s, '');
  const prefix = text(345, 155);
  const name = (prefix ? `${prefix}/` : '') + text(0, 100);
  return {
    name: name.replace(/\/$/, ''),
    type: text(156, 1) || '0',
    mode: parseOctal(block.subarray(100, 108)),
    size: parseOctal(block.subarray(124, 136)),
  };
}

/** Reads a gzip-compressed tar from `file`, handing every entry to `sink` in order. */
export async function readTarGz(file: string, sink: TarSink): Promise<void> {
  const gunzip = createReadStream(file).pipe(createGunzip());
  let pending: Buffer = Buffer.alloc(0);
  let current: { write(chunk: Buffer): Promise<void>; end(): Promise<void> } | null = null;
  let remaining = 0;
  let padding = 0;
  let ended = false;
  for await (const chunk of gunzip) {
    pending = pending.length ? Buffer.concat([pending, chunk as Buffer]) : (chunk as Buffer);
    while (!ended) {
      if (current) {
        if (pending.length === 0) break;
        const take = Math.min(remaining, pending.length);
        await current.write(pending.subarray(0, take));
        pending = pending.subarray(take);
        remaining -= take;
        if (remaining > 0) break;
        await current.end();
        current = null;
        continue;
      }
      if (padding > 0) {
        const skip = Math.min(padding, pending.length);
        pending = pending.subarray(skip);
        padding -= skip;
        if (padding > 0) break;
      }
      if (pending.length < BLOCK) break;
      const block = pending.subarray(0, BLOCK);
      pending = pending.subarray(BLOCK);
      if (block.every((byte) => byte === 0)) {
        ended = true;
        break;
      }
      const entry = parseHeader(block);
      if (entry.type === '5') {
        await sink.directory(entry.name, entry.mode);
      } else if (entry.type === '0') {
        current = await sink.file(entry.name, entry.mode, entry.size);
        remaining = entry.size;
        padding = (BLOCK - (entry.size % BLOCK)) % BLOCK;
        if (remaining === 0) {
          await current.end();
          current = null;
        }
      } else {
        throw new Error(`unexpected entry type ${entry.type} (${entry.name}) in the backup`);
      }
    }
  }
  if (!ended || current) throw new Error('the backup archive is truncated');
}
