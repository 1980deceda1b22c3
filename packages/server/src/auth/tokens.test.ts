import fc from 'fast-check';
import { jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { describe, expect, it } from 'vitest';
import { AccessTokens } from './tokens.js';

const SECRET = 'a-test-secret-that-is-long-enough-for-hs256-0123456789';
// Mid-second: JWT dates are whole seconds, and both must round the same way.
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0) + 500;
const clock = { now: () => NOW };
const tokens = new AccessTokens(SECRET, 900, clock);
const key = new TextEncoder().encode(SECRET);

/** What jose, the reference, says of a token under the rules tokens.ts enforces. */
async function joseVerdict(token: string): Promise<{ userId: string; sessionId: string } | null> {
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: ['HS256'],
      issuer: 'letter',
      audience: 'letter-access',
      requiredClaims: ['sub', 'sid', 'exp'],
      currentDate: new Date(NOW),
    });
    if (typeof payload.sub !== 'string' || typeof payload.sid !== 'string') return null;
    return { userId: payload.sub, sessionId: payload.sid };
  } catch {
    return null;
  }
}

const nowSeconds = Math.floor(NOW / 1000);
const claimValue = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.constant(null),
  fc.boolean(),
  fc.array(fc.string(), { maxLength: 2 }),
);
/** Seconds around now, some fractional (allowed by RFC 7519, never issued by us). */
const near = (min: number, max: number) =>
  fc
    .tuple(fc.integer({ min, max }), fc.constantFrom(0, 0, 0.3, 0.7))
    .map(([whole, part]) => whole + part);
/** Mostly a right value, sometimes anything else, sometimes missing (requiredKeys: []). */
const mostly = <T>(right: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: right, weight: 6 }, { arbitrary: claimValue, weight: 1 });
/** Claims near the valid ones: each field right, wrong, missing or of another type. */
const claims = fc.record(
  {
    sub: mostly(fc.string({ minLength: 1 })),
    sid: mostly(fc.string({ minLength: 1 })),
    iss: mostly(fc.constantFrom('letter', 'letter', 'letter2')),
    aud: mostly(fc.constantFrom('letter-access', ['other', 'letter-access'], 'letter-refresh')),
    exp: mostly(near(nowSeconds - 3, nowSeconds + 5)),
    nbf: mostly(near(nowSeconds - 5, nowSeconds + 3)),
    iat: mostly(fc.integer({ min: nowSeconds - 5, max: nowSeconds + 5 })),
  },
  { requiredKeys: [] },
);

async function sign(payload: JWTPayload, alg = 'HS256', secret = key): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg, typ: 'JWT' }).sign(secret);
}

describe('AccessTokens.verify', () => {
  it('accepts what it signed, with the claims it put in', async () => {
    const token = await tokens.sign({ userId: 'u_1', sessionId: 's_1' });
    expect(tokens.verify(token)).toEqual({ userId: 'u_1', sessionId: 's_1' });
    expect(await joseVerdict(token)).toEqual({ userId: 'u_1', sessionId: 's_1' });
  });

  it('refuses what an attacker can make without the key', async () => {
    const good = await tokens.sign({ userId: 'u_1', sessionId: 's_1' });
    const [, payload] = good.split('.');
    const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const forged = [
      `${none}.${payload}.`,
      `${none}.${payload}`,
      await sign(
        { sub: 'u_1', sid: 's_1', iss: 'letter', aud: 'letter-access', exp: 2e9 },
        'HS256',
        new TextEncoder().encode('another secret, also long enough 0123'),
      ),
      await sign(
        { sub: 'u_1', sid: 's_1', iss: 'letter', aud: 'letter-access', exp: 2e9 },
        'HS512',
      ),
      good.slice(0, -2),
      `${good}.`,
      '',
      'a.b.c',
      `${good.split('.').slice(0, 2).join('.')}.${'A'.repeat(43)}`,
      'x'.repeat(5000),
    ];
    for (const token of forged) {
      expect(tokens.verify(token), token).toBeNull();
      expect(await joseVerdict(token), token).toBeNull();
    }
  });

  it('agrees with jose on generated claims and on every one-character change', async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(
        claims,
        fc.nat(),
        fc.constantFrom(...'AQgw_-.x'),
        async (payload, at, replacement) => {
          const token = await sign(payload as JWTPayload);
          const verdict = tokens.verify(token);
          if (verdict) accepted++;
          expect(verdict).toEqual(await joseVerdict(token));
          const i = at % token.length;
          const mutated = token.slice(0, i) + replacement + token.slice(i + 1);
          expect(tokens.verify(mutated)).toEqual(await joseVerdict(mutated));
        },
      ),
      { numRuns: 400 },
    );
    // The generator reaches valid tokens too, not only refusals.
    expect(accepted).toBeGreaterThan(0);
  });
});
