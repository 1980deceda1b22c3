/**
 * Search snippets as plain text plus highlight ranges, never HTML: a client renders the text as
 * text and marks the ranges, so a message body can never inject markup. Engines mark matches with
 * two control characters (SQLite's highlight(), PostgreSQL's ts_headline); this module turns the
 * marked body into the snippet. Engine-independent, so every store answers alike.
 */
import type { Highlight } from '@letter/protocol';

export const MATCH_OPEN = '\u0002';
export const MATCH_CLOSE = '\u0003';

export interface Snippet {
  snippet: string;
  highlights: Highlight[];
}

export interface SnippetOptions {
  /** Longest snippet, in UTF-16 code units, without the ellipses. */
  maxChars?: number;
  /** How much text to keep before the first match. */
  before?: number;
}

const ELLIPSIS = '…';
const isSpace = (char: string): boolean => /\s/.test(char);
const isHighSurrogate = (code: number): boolean => code >= 0xd800 && code <= 0xdbff;
const isLowSurrogate = (code: number): boolean => code >= 0xdc00 && code <= 0xdfff;

/**
 * `marked` is the body with every match between MATCH_OPEN and MATCH_CLOSE; `body` is the body
 * itself. Whitespace runs become one space (a snippet is one line). A body that itself contains
 * a marker character cannot be told apart from the marks: it gets a snippet without highlights.
 */
export function buildSnippet(marked: string, body: string, options: SnippetOptions = {}): Snippet {
  const maxChars = options.maxChars ?? 160;
  const before = options.before ?? 40;
  const ambiguous = body.includes(MATCH_OPEN) || body.includes(MATCH_CLOSE);
  const { text, ranges } = ambiguous ? flatten(body, false) : flatten(marked, true);
  if (text.length <= maxChars) return { snippet: text, highlights: ranges };

  let from = Math.max(0, (ranges[0]?.start ?? 0) - before);
  if (from > 0) {
    // Start at a word boundary when one is near, never inside a surrogate pair.
    const space = text.lastIndexOf(' ', from);
    if (space >= 0 && from - space <= 15) from = space + 1;
    if (isLowSurrogate(text.charCodeAt(from))) from += 1;
  }
  let to = Math.min(text.length, from + maxChars);
  if (to < text.length) {
    const space = text.lastIndexOf(' ', to);
    if (space > from && to - space <= 15) to = space;
    if (isHighSurrogate(text.charCodeAt(to - 1))) to -= 1;
  }
  const prefix = from > 0 ? ELLIPSIS : '';
  const suffix = to < text.length ? ELLIPSIS : '';
  const highlights: Highlight[] = [];
  for (const range of ranges) {
    const start = Math.max(range.start, from);
    const end = Math.min(range.start + range.length, to);
    if (end > start) highlights.push({ start: start - from + prefix.length, length: end - start });
  }
  return { snippet: prefix + text.slice(from, to) + suffix, highlights };
}

/** Drops the marks (recording where they were) and folds whitespace. */
function flatten(marked: string, hasMarks: boolean): { text: string; ranges: Highlight[] } {
  let text = '';
  const ranges: Highlight[] = [];
  let openedAt = -1;
  for (const char of marked) {
    if (hasMarks && char === MATCH_OPEN) {
      openedAt = text.length;
    } else if (hasMarks && char === MATCH_CLOSE) {
      if (openedAt >= 0 && text.length > openedAt) {
        ranges.push({ start: openedAt, length: text.length - openedAt });
      }
      openedAt = -1;
    } else if (isSpace(char)) {
      if (text.length > 0 && !text.endsWith(' ')) text += ' ';
    } else {
      text += char;
    }
  }
  const trimmed = text.trimEnd();
  return { text: trimmed, ranges: ranges.filter((r) => r.start + r.length <= trimmed.length) };
}
