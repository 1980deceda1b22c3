import type { ReactNode } from 'react';
import type { Highlight } from '@letter/protocol';

export interface SnippetPart {
  text: string;
  marked: boolean;
}

/**
 * Cuts a search snippet into plain and marked runs from the server's `highlights` offsets
 * (UTF-16 indices into the snippet). Ranges are sorted, clamped to the text and never overlap,
 * so a malformed answer can mis-mark but never duplicate or drop text.
 */
export function snippetParts(snippet: string, highlights: readonly Highlight[]): SnippetPart[] {
  const parts: SnippetPart[] = [];
  let at = 0;
  const ranges = [...highlights].sort((a, b) => a.start - b.start);
  for (const { start, length } of ranges) {
    const from = Math.max(at, Math.min(start, snippet.length));
    const to = Math.min(snippet.length, start + length);
    if (to <= from) continue;
    if (from > at) parts.push({ text: snippet.slice(at, from), marked: false });
    parts.push({ text: snippet.slice(from, to), marked: true });
    at = to;
  }
  if (at < snippet.length) parts.push({ text: snippet.slice(at), marked: false });
  return parts;
}

/** The snippet as React text with <mark> around the matches: never HTML from the server. */
export function HighlightedSnippet({
  snippet,
  highlights,
}: {
  snippet: string;
  highlights: readonly Highlight[];
}): ReactNode {
  return snippetParts(snippet, highlights).map((part, index) =>
    part.marked ? <mark key={index}>{part.text}</mark> : <span key={index}>{part.text}</span>,
  );
}
