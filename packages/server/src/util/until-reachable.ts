/**
 * Start-up against a dependency that is not there yet (the database restarting, a container
 * started before it): retry with backoff and say so in the log, instead of crashing the process.
 * Only `unavailable` failures are retried; anything else (a wrong password, a bad schema) is a
 * configuration error and ends start-up at once.
 */
import { LetterError } from '@letter/protocol';

export interface RetryLog {
  warn(details: object, message: string): void;
}

export interface RetryOptions {
  /** First wait (default 500 ms); each next one doubles, up to `maxDelayMs` (default 30 s). */
  firstDelayMs?: number;
  maxDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

export async function untilReachable<T>(
  dependency: string,
  attempt: () => Promise<T>,
  log: RetryLog,
  options: RetryOptions = {},
): Promise<T> {
  const sleep = options.sleep ?? ((ms) => new Promise<void>((r) => setTimeout(r, ms)));
  let delayMs = options.firstDelayMs ?? 500;
  for (let attempts = 1; ; attempts++) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof LetterError && error.code === 'unavailable')) throw error;
      const cause = error.cause instanceof Error ? error.cause.message : error.message;
      log.warn(
        { dependency, attempts, cause },
        `${dependency} unreachable, retrying in ${delayMs / 1000} s`,
      );
      await sleep(delayMs);
      delayMs = Math.min(delayMs * 2, options.maxDelayMs ?? 30_000);
    }
  }
}

/** Resolves to whether `promise` settled successfully within `ms`; never rejects. */
export async function answersWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => false,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
