/**
 * Access tokens are short-lived HS256 JWTs carrying the user and session ids; only HS256 is
 * accepted (no `alg: none`, no key confusion). Refresh tokens are 256 random bits, stored as a
 * SHA-256 hash: a leaked database does not leak usable tokens.
 *
 * jose signs. Verification, done on every WebSocket handshake, is the few lines below on
 * node:crypto: jose's verify imports the key and runs the HMAC as a thread-pool job each time
 * (about a tenth of a handshake's CPU, docs/performance.md). tokens.test.ts checks that both
 * accept and reject the same tokens, over generated and mutated ones.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Clock } from '../util/clock.js';

const ISSUER = 'letter';
const AUDIENCE = 'letter-access';
const ALG = 'HS256';

export interface AccessClaims {
  userId: string;
  sessionId: string;
}

export class AccessTokens {
  private readonly key: Uint8Array;

  constructor(
    secret: string,
    private readonly ttlSeconds: number,
    private readonly clock: Clock,
  ) {
    this.key = new TextEncoder().encode(secret);
  }

  async sign(claims: AccessClaims): Promise<string> {
    const now = Math.floor(this.clock.now() / 1000);
    return new SignJWT({ sid: claims.sessionId })
      .setProtectedHeader({ alg: ALG, typ: 'JWT' })
      .setSubject(claims.userId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(now)
      .setExpirationTime(now + this.ttlSeconds)
      .sign(this.key);
  }

  /** The claims, or null for anything forged, expired, of another kind or malformed. */
  verify(token: string): AccessClaims | null {
    if (token.length > MAX_TOKEN_LENGTH) return null;
    const parts = token.split('.');
    if (parts.length !== 3 || !parts.every((part) => BASE64URL.test(part))) return null;
    const [header, payload, signature] = parts as [string, string, string];
    const expected = createHmac('sha256', this.key).update(`${header}.${payload}`).digest();
    const given = Buffer.from(signature, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    const head = decodeJson(header);
    // RFC 7515: an unknown `crit` must be refused; `b64: false` would change what was signed.
    if (!head || head.alg !== ALG || 'crit' in head || 'b64' in head) return null;
    const claims = decodeJson(payload);
    if (!claims) return null;
    // Whole seconds, as JWT dates are and as jose compares them.
    const now = Math.floor(this.clock.now() / 1000);
    const { sub, sid, exp, nbf, iat, iss, aud } = claims;
    if (typeof sub !== 'string' || typeof sid !== 'string') return null;
    if (iss !== ISSUER) return null;
    if (!(aud === AUDIENCE || (Array.isArray(aud) && aud.includes(AUDIENCE)))) return null;
    if (!isNumericDate(exp) || exp <= now) return null;
    if (nbf !== undefined && (!isNumericDate(nbf) || nbf > now)) return null;
    if (iat !== undefined && !isNumericDate(iat)) return null;
    return { userId: sub, sessionId: sid };
  }
}

/** Far above any token we issue; refuses pathological input before any work. */
const MAX_TOKEN_LENGTH = 4096;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** A JSON object from a base64url segment, or null for anything else. */
function decodeJson(segment: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

export function newRefreshToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}
