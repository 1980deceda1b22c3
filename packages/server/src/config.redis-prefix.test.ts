import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

describe('LETTER_REDIS_PREFIX', () => {
  it('namespaces the Redis channels, letter: when unset', () => {
    expect(loadConfig({}).redisPrefix).toBe('letter:');
    expect(loadConfig({ LETTER_REDIS_PREFIX: 'chaos-1:' }).redisPrefix).toBe('chaos-1:');
  });
});
