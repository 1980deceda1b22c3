import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import webpush from 'web-push';
import { describe, expect, it } from 'vitest';
import { loadVapidKeys } from './vapid.js';

const none = { publicKey: undefined, privateKey: undefined };

describe('VAPID keys', () => {
  it('are made once on first start, kept 0600 in the data dir, and the same after a restart', () => {
    const dir = mkdtempSync(join(tmpdir(), 'letter-vapid-'));
    const first = loadVapidKeys(none, dir);
    expect(Buffer.from(first.publicKey, 'base64url')).toHaveLength(65);
    expect(statSync(join(dir, 'vapid-keys')).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(join(dir, 'vapid-keys'), 'utf8'))).toEqual(first);
    expect(loadVapidKeys(none, dir)).toEqual(first);
  });

  it('come from LETTER_VAPID_PUBLIC_KEY/PRIVATE_KEY when set (a cluster shares them)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'letter-vapid-'));
    const pair = webpush.generateVAPIDKeys();
    expect(loadVapidKeys(pair, dir)).toEqual(pair);
    expect(() => loadVapidKeys({ ...pair, privateKey: undefined }, dir)).toThrow(/both/);
    expect(() => loadVapidKeys({ ...pair, publicKey: 'short' }, dir)).toThrow(/VAPID key pair/);
  });
});
