/**
 * The words a search looks for, the same for both stores: split where the unicode61 tokenizer
 * splits (letters, digits and the marks that belong to them), words without a letter or digit
 * skipped, words shorter than `limits.searchMinWordChars` left out (a one-letter prefix term
 * matches most of the index), at most MAX_TERMS of them.
 */
import { LetterError, limits } from '@letter/protocol';

/** At most this many words are searched for; more only slows the query down. */
export const MAX_TERMS = 16;

const WORD = /[\p{L}\p{N}\p{M}]+/gu;
const LETTER_OR_DIGIT = /[\p{L}\p{N}]/gu;

/**
 * The words of `text` to search for, as typed (each store folds them its own way). [] when the
 * text has no word at all (punctuation, emoji); `bad_request` when it has words but all are too
 * short, so that "a" gets an answer saying why instead of an empty list or a scan of the index.
 */
export function searchWords(text: string): string[] {
  const found = [...text.matchAll(WORD)].map((match) => match[0]);
  const words = found.filter((word) => (word.match(LETTER_OR_DIGIT)?.length ?? 0) > 0);
  const usable = words.filter(
    (word) => (word.match(LETTER_OR_DIGIT)?.length ?? 0) >= limits.searchMinWordChars,
  );
  if (usable.length === 0 && words.length > 0) {
    throw new LetterError(
      'bad_request',
      `Search for words of at least ${limits.searchMinWordChars} letters or digits.`,
    );
  }
  return usable.slice(0, MAX_TERMS);
}
