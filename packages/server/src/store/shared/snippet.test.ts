/** Search snippets and query escaping: pure functions, every engine's results go through them. */
import { describe, expect, it } from 'vitest';
import { buildSnippet, MATCH_CLOSE as C, MATCH_OPEN as O, type Snippet } from './snippet.js';
import { ftsQuery } from '../sqlite/search.js';

const marks = ({ snippet, highlights }: Snippet): string[] =>
  highlights.map((h) => snippet.slice(h.start, h.start + h.length));
const strip = (marked: string): string => marked.replaceAll(O, '').replaceAll(C, '');

describe('buildSnippet', () => {
  it('returns a short body whole, with the matches as ranges', () => {
    const marked = `Meet at the ${O}Café${C} ${O}Zentral${C}`;
    const snippet = buildSnippet(marked, strip(marked));
    expect(snippet).toEqual({
      snippet: 'Meet at the Café Zentral',
      highlights: [
        { start: 12, length: 4 },
        { start: 17, length: 7 },
      ],
    });
  });

  it('folds whitespace into single spaces and keeps markup as text', () => {
    const marked = `  <b>bold</b>\n\n  and\t${O}tabs${C}  `;
    const snippet = buildSnippet(marked, strip(marked));
    expect(snippet.snippet).toBe('<b>bold</b> and tabs');
    expect(marks(snippet)).toEqual(['tabs']);
  });

  it('cuts a long body around the first match at word boundaries, with ellipses', () => {
    const before = 'alpha beta gamma delta '.repeat(10);
    const after = ' epsilon zeta eta theta'.repeat(10);
    const marked = `${before}the ${O}needle${C} and another ${O}needle${C}${after}`;
    const snippet = buildSnippet(marked, strip(marked), { maxChars: 80, before: 20 });
    expect(snippet.snippet.startsWith('…')).toBe(true);
    expect(snippet.snippet.endsWith('…')).toBe(true);
    expect(snippet.snippet.length).toBeLessThanOrEqual(82);
    expect(snippet.snippet).not.toMatch(/^… | …$/);
    expect(marks(snippet)).toEqual(['needle', 'needle']);
    const words = snippet.snippet.slice(1, -1).split(' ');
    for (const word of words) expect(strip(marked)).toContain(word);
  });

  it('clips a match that runs past the cut', () => {
    const marked = `${'x'.repeat(30)} ${O}${'y'.repeat(100)}${C}`;
    const snippet = buildSnippet(marked, strip(marked), { maxChars: 50, before: 5 });
    expect(snippet.highlights).toHaveLength(1);
    const [range] = snippet.highlights;
    expect(range!.start + range!.length).toBeLessThanOrEqual(snippet.snippet.length - 1);
    expect(marks(snippet)[0]).toMatch(/^y+$/);
  });

  it('never splits a surrogate pair', () => {
    const emoji = '😀'.repeat(100);
    const marked = `${emoji} ${O}word${C} ${emoji}`;
    for (const maxChars of [40, 41, 60, 61]) {
      for (const before of [3, 4, 5, 6]) {
        const { snippet } = buildSnippet(marked, strip(marked), { maxChars, before });
        // A lone surrogate would not survive a UTF-8 round trip.
        const roundTrip = Buffer.from(snippet, 'utf8').toString('utf8');
        expect(roundTrip, `${maxChars} ${before}`).toBe(snippet);
      }
    }
  });

  it('gives up highlighting, never lies, when the body itself holds a marker character', () => {
    const body = `weird ${O} text with a match`;
    const marked = `weird ${O} text with a ${O}match${C}`;
    expect(buildSnippet(marked, body)).toEqual({ snippet: body, highlights: [] });
  });
});

describe('ftsQuery', () => {
  it('quotes each word as a prefix term and drops everything else', () => {
    expect(ftsQuery('hello world')).toBe('"hello"* "world"*');
    expect(ftsQuery('"quoted" (paren) NEAR star* -not ^x col:on')).toBe(
      '"quoted"* "paren"* "NEAR"* "star"* "not"* "col"* "on"*',
    );
    expect(ftsQuery('Bäckerei café')).toBe('"Bäckerei"* "café"*');
    expect(ftsQuery('"*()^-:')).toBe('');
    expect(ftsQuery('   ')).toBe('');
    expect(ftsQuery('ab '.repeat(40)).split(' ')).toHaveLength(16);
  });

  it('leaves out one-letter words, and refuses a query of nothing else', () => {
    // A one-letter prefix ("a"*) matches most of the index.
    expect(ftsQuery('a cat')).toBe('"cat"*');
    // é is e plus a combining mark: one letter.
    expect(ftsQuery('e\u0301 ok')).toBe('"ok"*');
    expect(() => ftsQuery('a b c')).toThrow(/at least 2 letters or digits/);
    expect(() => ftsQuery('e\u0301')).toThrow(/at least 2/);
    expect(ftsQuery('猫 ねこ')).toBe('"ねこ"*');
  });
});
