import { describe, expect, it } from 'vitest';
import { parseRange } from '../http/file-routes.js';
import { contentDisposition, safeFileName } from './names.js';
import { SIGNED_URL_MAX_SECONDS, SIGNED_URL_MIN_SECONDS, UrlSigner } from './signed-urls.js';

const NOW = Date.UTC(2026, 0, 1);

describe('signed file URLs', () => {
  const signer = new UrlSigner(Buffer.alloc(32, 7));
  const query = (q: string) => Object.fromEntries(new URLSearchParams(q));

  it('grants the user it was signed for until the expiry, within 5 min – 24 h', () => {
    const q = query(signer.sign('f1', 'u1', NOW, 3600));
    expect(signer.verify('f1', q, NOW)).toEqual({ userId: 'u1', expiresAt: NOW / 1000 + 3600 });
    expect(signer.verify('f1', q, NOW + 3600_000)).toBe('invalid');
    const short = query(signer.sign('f1', 'u1', NOW, 1));
    expect(Number(short.e)).toBe(NOW / 1000 + SIGNED_URL_MIN_SECONDS);
    const long = query(signer.sign('f1', 'u1', NOW, 10 * 24 * 3600));
    expect(Number(long.e)).toBe(NOW / 1000 + SIGNED_URL_MAX_SECONDS);
  });

  it('refuses another file, another user, another expiry or another key', () => {
    const q = query(signer.sign('f1', 'u1', NOW, 3600));
    expect(signer.verify('f2', q, NOW)).toBe('invalid');
    expect(signer.verify('f1', { ...q, u: 'u2' }, NOW)).toBe('invalid');
    expect(signer.verify('f1', { ...q, e: String(Number(q.e) + 1) }, NOW)).toBe('invalid');
    expect(new UrlSigner(Buffer.alloc(32, 8)).verify('f1', q, NOW)).toBe('invalid');
    expect(signer.verify('f1', { ...q, s: ['a', 'b'] }, NOW)).toBe('invalid');
    expect(signer.verify('f1', {}, NOW)).toBeNull();
  });

  it('writes the query as URLSearchParams would, escaping the user id', () => {
    for (const userId of ['u_01jabc', 'ü ser&e=1#x+y/z']) {
      const written = signer.sign('f1', userId, NOW, 3600);
      const q = query(written);
      expect(q.u).toBe(userId);
      expect(signer.verify('f1', q, NOW)).toEqual({ userId, expiresAt: NOW / 1000 + 3600 });
      expect(Object.keys(q)).toEqual(['u', 'e', 's']);
    }
    expect(signer.sign('f1', 'u_01jabc', NOW, 3600)).toBe(
      new URLSearchParams(query(signer.sign('f1', 'u_01jabc', NOW, 3600))).toString(),
    );
  });
});

describe('file names', () => {
  it('keeps the last path segment, without controls, bidi overrides or leading dots', () => {
    expect(safeFileName('../../etc/passwd')).toBe('passwd');
    expect(safeFileName('C:\\Users\\me\\cat.png')).toBe('cat.png');
    expect(safeFileName('a\u0000b\r\nc\u202egpj.exe')).toBe('abcgpj.exe');
    expect(safeFileName('.htaccess')).toBe('htaccess');
    expect(safeFileName('')).toBe('file');
    expect(safeFileName(undefined)).toBe('file');
    expect([...safeFileName('x'.repeat(1000))].length).toBe(200);
  });

  it('writes Content-Disposition with an ASCII fallback and the UTF-8 name', () => {
    expect(contentDisposition('attachment', 'résumé "v2".pdf')).toBe(
      `attachment; filename="r_sum_ _v2_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22v2%22.pdf`,
    );
  });
});

describe('Range', () => {
  it('takes one satisfiable range and ignores the rest', () => {
    expect(parseRange('bytes=0-9', 100)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=90-', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=50-500', 100)).toEqual({ start: 50, end: 99 });
    for (const header of [
      'bytes=100-',
      'bytes=5-1',
      'bytes=0-1,3-4',
      'items=0-1',
      'bytes=-0',
      'bytes=-',
    ])
      expect(parseRange(header, 100)).toBeNull();
    expect(parseRange(undefined, 100)).toBeNull();
    expect(parseRange('bytes=0-0', 0)).toBeNull();
  });
});
