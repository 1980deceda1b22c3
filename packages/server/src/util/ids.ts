import { randomBytes } from 'node:crypto';

/** Opaque ids: a short kind prefix and 96 random bits, URL-safe. Injected so tests can count. */
export interface Ids {
  next(prefix: IdPrefix): string;
}
export type IdPrefix = 'u' | 'c' | 'm' | 's' | 'f';

export const randomIds: Ids = {
  next: (prefix) => `${prefix}_${randomBytes(12).toString('base64url')}`,
};

/** Deterministic ids for tests: u_1, u_2, … */
export class CountingIds implements Ids {
  private n = 0;
  next(prefix: IdPrefix): string {
    return `${prefix}_${++this.n}`;
  }
}
