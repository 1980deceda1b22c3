/** Password hashing: argon2id (OWASP's m=19 MiB, t=2, p=1 minimum). */
import { hash, verify } from '@node-rs/argon2';

const ARGON2ID = 2; // Algorithm.Argon2id; a const enum upstream, so spelled out here.

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** Verifies; with `null` it spends the same time on a dummy hash so an unknown user costs alike. */
  verify(passwordHash: string | null, password: string): Promise<boolean>;
}

export function argon2Hasher(cost: { memoryCost: number; timeCost: number }): PasswordHasher {
  const options = {
    algorithm: ARGON2ID,
    memoryCost: cost.memoryCost,
    timeCost: cost.timeCost,
    parallelism: 1,
  };
  // Hashed once, lazily, with the same parameters as real hashes so verifying it costs the same.
  let dummy: Promise<string> | undefined;
  return {
    hash: (password) => hash(password, options),
    async verify(passwordHash, password) {
      if (passwordHash === null) {
        dummy ??= hash('letter-dummy-password', options);
        await verify(await dummy, password).catch(() => false);
        return false;
      }
      return verify(passwordHash, password).catch(() => false);
    },
  };
}
