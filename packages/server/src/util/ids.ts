import { randomFillSync } from 'node:crypto';

/** Opaque ids: a short kind prefix, the creation time and 96 random bits. Injected so tests can count. */
export interface Ids {
  next(prefix: IdPrefix): string;
}
export type IdPrefix = 'u' | 'c' | 'm' | 's' | 'f';

const RANDOM_BYTES = 12;
/** Random bytes are drawn a page at a time: one call into OpenSSL per 341 ids, not per id. */
const POOL_BYTES = RANDOM_BYTES * 341;

/**
 * `<prefix>_<time><random>`: the time is milliseconds since 1970 in 9 base-36 digits, so ids
 * sort by creation time as plain strings (good until the year 5188); the random part, 96 bits
 * as base64url, makes them unguessable and unique across nodes without coordination.
 *
 * Why the time comes first: messages are the table that grows, and a B-tree index on random
 * keys dirties a different page for nearly every insert. Time-ordered keys land on the index's
 * rightmost page, so a batch of appends rewrites one page of it instead of one per row
 * (measured in docs/performance.md). The creation time an id reveals is in the record anyway.
 */
export function timeOrderedIds(now: () => number = Date.now): Ids {
  const pool = Buffer.allocUnsafe(POOL_BYTES);
  let offset = POOL_BYTES;
  return {
    next(prefix) {
      if (offset === POOL_BYTES) {
        randomFillSync(pool);
        offset = 0;
      }
      const random = pool.toString('base64url', offset, offset + RANDOM_BYTES);
      offset += RANDOM_BYTES;
      return `${prefix}_${Math.max(0, Math.trunc(now())).toString(36).padStart(9, '0')}${random}`;
    },
  };
}

export const randomIds: Ids = timeOrderedIds();

/** Deterministic ids for tests: u_1, u_2, … */
export class CountingIds implements Ids {
  private n = 0;
  next(prefix: IdPrefix): string {
    return `${prefix}_${++this.n}`;
  }
}
