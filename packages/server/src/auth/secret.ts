import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ensurePrivateDir, readKeyFile, writeKeyFileAtomic } from '../util/key-file.js';

/** HS256 wants a key at least as long as its hash (RFC 7518 §3.2): 256 bits. */
export const MIN_JWT_SECRET_BYTES = 32;

/** Throws a message naming the setting when `secret` is too short to sign access tokens. */
export function checkJwtSecret(
  secret: string,
  source = 'LETTER_JWT_SECRET',
  remedy = 'use for example the output of `openssl rand -base64 48`',
): void {
  const bytes = Buffer.byteLength(secret, 'utf8');
  if (bytes < MIN_JWT_SECRET_BYTES) {
    throw new Error(
      `${source} is ${bytes} bytes long; it must be at least ${MIN_JWT_SECRET_BYTES} bytes: ${remedy}.`,
    );
  }
}

/**
 * LETTER_JWT_SECRET, or a random secret created once and kept in the data dir (mode 0600 in a
 * 0700 directory, written atomically: see util/key-file.ts).
 */
export function loadJwtSecret(configured: string | undefined, dataDir: string): string {
  if (configured !== undefined) {
    checkJwtSecret(configured);
    return configured;
  }
  ensurePrivateDir(dataDir);
  const file = join(dataDir, 'jwt-secret');
  const secret =
    readKeyFile(file) ?? writeKeyFileAtomic(file, randomBytes(48).toString('base64url'));
  // A short file is not ours (written by hand, or torn by a version that wrote in place).
  checkJwtSecret(secret, file, 'delete it to have a new one made (everyone must sign in again)');
  return secret;
}
