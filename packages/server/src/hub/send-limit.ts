import { LetterError } from '@letter/protocol';
import type { RateLimiter } from '../util/rate.js';

/**
 * Takes a token from the sender's bucket or throws `rate_limited`. Sends, edits, deletes,
 * reactions and group changes share it: each is an event for every member.
 */
export function takeSendToken(limiter: RateLimiter, userId: string): void {
  const retryAfter = limiter.take(userId);
  if (retryAfter > 0) throw new LetterError('rate_limited', 'Sending too fast.', retryAfter);
}
