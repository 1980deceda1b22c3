import { describe, expect, it } from 'vitest';
import { MAX_MENTIONS, mentionedUsernames } from './mentions.js';

describe('mentionedUsernames', () => {
  it('finds @username words, lower-cased, once each, without a trailing dot', () => {
    expect([...mentionedUsernames('hi @Ann and @bob.smith. @ann again, (@cat_1)')]).toEqual([
      'ann',
      'bob.smith',
      'cat_1',
    ]);
  });

  it('ignores e-mail addresses, a lone @ and more than the cap', () => {
    expect([...mentionedUsernames('mail ann@example.org, or @ alone, @@x')]).toEqual([]);
    const many = Array.from({ length: 30 }, (_, i) => `@u${i}`).join(' ');
    expect(mentionedUsernames(many).size).toBe(MAX_MENTIONS);
  });
});
