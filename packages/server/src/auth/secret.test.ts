import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { writeKeyFileAtomic } from '../util/key-file.js';
import { loadJwtSecret } from './secret.js';

const mode = (path: string) => statSync(path).mode & 0o777;

describe('the JWT secret', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'letter-secret-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('is created once, 0600 in a 0700 data dir, with no temporary file left behind', () => {
    const dataDir = join(root, 'data');
    const secret = loadJwtSecret(undefined, dataDir);
    expect(Buffer.byteLength(secret)).toBeGreaterThanOrEqual(32);
    expect(mode(dataDir)).toBe(0o700);
    expect(mode(join(dataDir, 'jwt-secret'))).toBe(0o600);
    expect(readdirSync(dataDir)).toEqual(['jwt-secret']);
    expect(loadJwtSecret(undefined, dataDir)).toBe(secret);
  });

  it('narrows a data dir and a key file that others could read', () => {
    const dataDir = join(root, 'data');
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    const file = join(dataDir, 'jwt-secret');
    writeFileSync(file, 'k'.repeat(64));
    chmodSync(file, 0o644);
    expect(loadJwtSecret(undefined, dataDir)).toBe('k'.repeat(64));
    expect(mode(dataDir)).toBe(0o700);
    expect(mode(file)).toBe(0o600);
  });

  it('leaves a shared sticky directory such as /tmp as it is; the key inside is still 0600', () => {
    const shared = join(root, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    loadJwtSecret(undefined, shared);
    expect(statSync(shared).mode & 0o7777).toBe(0o1777);
    expect(mode(join(shared, 'jwt-secret'))).toBe(0o600);
  });

  it('refuses a torn or hand-written key file that is too short, naming the file', () => {
    const dataDir = join(root, 'data');
    mkdirSync(dataDir);
    writeFileSync(join(dataDir, 'jwt-secret'), '');
    expect(() => loadJwtSecret(undefined, dataDir)).toThrow(
      /jwt-secret is 0 bytes long.*delete it/,
    );
  });

  it('LETTER_JWT_SECRET shorter than 32 bytes is refused at start-up', () => {
    expect(() => loadConfig({ LETTER_JWT_SECRET: 'too-short-secret' })).toThrow(
      /LETTER_JWT_SECRET is 16 bytes long; it must be at least 32 bytes/,
    );
    expect(() => loadJwtSecret('x'.repeat(31), root)).toThrow(/at least 32 bytes/);
    const long = 'y'.repeat(32);
    expect(loadConfig({ LETTER_JWT_SECRET: long }).jwtSecret).toBe(long);
    expect(loadJwtSecret(long, root)).toBe(long);
  });
});

describe('writeKeyFileAtomic', () => {
  let dir: string;
  beforeEach(() => {
    dir = join(mkdtempSync(join(tmpdir(), 'letter-key-')), 'keys');
  });
  afterEach(() => rmSync(join(dir, '..'), { recursive: true, force: true }));

  it('never overwrites a key another process made first, and says which one holds', () => {
    const file = join(dir, 'key');
    expect(writeKeyFileAtomic(file, 'first')).toBe('first');
    expect(writeKeyFileAtomic(file, 'second')).toBe('first');
    expect(readdirSync(dir)).toEqual(['key']);
    expect(mode(file)).toBe(0o600);
    expect(mode(dir)).toBe(0o700);
  });

  it('replaces on request (rotation), still 0600 and without leftovers', () => {
    const file = join(dir, 'key');
    writeKeyFileAtomic(file, 'old');
    expect(writeKeyFileAtomic(file, 'new', { replace: true })).toBe('new');
    expect(readFileSync(file, 'utf8')).toBe('new');
    expect(mode(file)).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['key']);
  });
});
