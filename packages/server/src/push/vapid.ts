/**
 * The server's VAPID key pair (RFC 8292): LETTER_VAPID_PUBLIC_KEY/LETTER_VAPID_PRIVATE_KEY, or a
 * pair made on first start and kept in the data dir (`vapid-keys`, mode 0600, written atomically
 * like the JWT secret). Every node of a cluster must have the same pair: a browser subscribed
 * with one public key, and pushes signed with another key are refused by its push service.
 */
import { join } from 'node:path';
import webpush from 'web-push';
import { ensurePrivateDir, readKeyFile, writeKeyFileAtomic } from '../util/key-file.js';

export interface VapidKeys {
  /** base64url, uncompressed P-256 point (65 bytes): what PushManager.subscribe wants. */
  publicKey: string;
  privateKey: string;
}

function checked(keys: VapidKeys, source: string): VapidKeys {
  const pub = Buffer.from(keys.publicKey, 'base64url');
  const priv = Buffer.from(keys.privateKey, 'base64url');
  if (pub.length !== 65 || pub[0] !== 4 || priv.length !== 32)
    throw new Error(
      `${source}: not a VAPID key pair (a base64url P-256 public key of 65 bytes and private key of 32); make one with \`npx web-push generate-vapid-keys\`.`,
    );
  return keys;
}

export function loadVapidKeys(
  configured: { publicKey: string | undefined; privateKey: string | undefined },
  dataDir: string,
): VapidKeys {
  if (configured.publicKey || configured.privateKey) {
    if (!configured.publicKey || !configured.privateKey)
      throw new Error('set both LETTER_VAPID_PUBLIC_KEY and LETTER_VAPID_PRIVATE_KEY, or neither');
    return checked(
      { publicKey: configured.publicKey, privateKey: configured.privateKey },
      'LETTER_VAPID_PUBLIC_KEY/LETTER_VAPID_PRIVATE_KEY',
    );
  }
  ensurePrivateDir(dataDir);
  const file = join(dataDir, 'vapid-keys');
  const text =
    readKeyFile(file) ?? writeKeyFileAtomic(file, JSON.stringify(webpush.generateVAPIDKeys()));
  let parsed: VapidKeys;
  try {
    parsed = JSON.parse(text) as VapidKeys;
  } catch {
    throw new Error(`${file} is not a VAPID key file; delete it to have a new pair made`);
  }
  return checked(parsed, file);
}
