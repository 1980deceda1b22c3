/**
 * Reads JWT claims WITHOUT verifying the signature: the client only needs `exp`/`iat` to time
 * its refresh; the server is the one that trusts or rejects the token.
 */
export interface JwtTimes {
  /** Expiry, epoch seconds. */
  exp?: number;
  /** Issued at, epoch seconds. */
  iat?: number;
}

export function readJwtTimes(token: string): JwtTimes | null {
  const payload = token.split('.')[1];
  if (!payload) return null;
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/');
    const padded = base64 + '='.repeat((4 - (base64.length % 4)) % 4);
    const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
    const claims: unknown = JSON.parse(new TextDecoder().decode(bytes));
    if (typeof claims !== 'object' || claims === null) return null;
    const { exp, iat } = claims as Record<string, unknown>;
    const times: JwtTimes = {};
    if (typeof exp === 'number') times.exp = exp;
    if (typeof iat === 'number') times.iat = iat;
    return times;
  } catch {
    return null;
  }
}

/**
 * When this token should be considered expired on the LOCAL clock. With `iat` we use the token's
 * lifetime (exp − iat, both server time) counted from when we received it, so a client whose
 * clock is off by minutes still refreshes on time. Null when the token carries no `exp`.
 */
export function localExpiry(token: string, receivedAt: number): number | null {
  const times = readJwtTimes(token);
  if (times?.exp === undefined) return null;
  if (times.iat !== undefined && times.exp > times.iat) {
    return receivedAt + (times.exp - times.iat) * 1000;
  }
  return times.exp * 1000;
}
