import { LetterError } from '@letter/protocol';
import type { RateLimiter } from '../util/rate.js';

/**
 * Takes a token from the sender's bucket or throws `rate_limited`. Sends, edits, deletes and
 * reactions share it: each is an event for every member.
 */
export function takeSendToken(limiter: RateLimiter, userId: string): void {
  const retryAfter = limiter.take(userId);
  if (retryAfter > 0) throw new LetterError('rate_limited', 'Sending too fast.', retryAfter);
}

/**
 * Takes a token from the actor's group bucket or throws `rate_limited`. Creating a group and
 * every group change (rename, add, remove or leave, roles) share it: each reaches every member
 * and may add up to limits.groupMaxMembers people at once, so it has a bucket of its own, far
 * smaller than the send bucket.
 */
export function takeGroupToken(limiter: RateLimiter, userId: string): void {
  const retryAfter = limiter.take(userId);
  if (retryAfter > 0) {
    throw new LetterError('rate_limited', 'Changing groups too fast.', retryAfter);
  }
}
