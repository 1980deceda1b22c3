import { randomBytes } from 'node:crypto';
import { describe, it } from 'vitest';
import { describeBus } from './bus.suite.js';
import { RedisBus } from './redis.js';
import { redisTestUrl } from '../testing/services.js';

const url = redisTestUrl();
if (url) {
  describeBus('redis', async () => {
    // A fresh prefix per test: parallel runs on one Redis never hear each other.
    const prefix = `letter-test-${randomBytes(6).toString('hex')}:`;
    const a = new RedisBus(url, prefix);
    const b = new RedisBus(url, prefix);
    return { a, b, close: async () => void (await Promise.all([a.close(), b.close()])) };
  });
} else {
  describe('Bus conformance: redis', () => {
    it.skip('needs LETTER_TEST_REDIS_URL (CI sets it; there this suite must run)', () => {});
  });
}
