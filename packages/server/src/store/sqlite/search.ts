/**
 * Full-text search over messages with SQLite FTS5 (the index and its triggers are migration 2).
 * The user's words never reach FTS5 as query syntax: each becomes a quoted prefix term, so
 * `"`, `*`, `NEAR`, `OR` or `-` typed into a search box are just text.
 */
import type { SearchResult } from '@letter/protocol';
import type { SearchInput } from '../store.js';
import type { ActionQueries } from './queries-actions.js';
import { toMessage } from '../shared/rows.js';
import { buildSnippet } from '../shared/snippet.js';
import { searchWords } from '../shared/search-words.js';

/**
 * The FTS5 query for what the user typed: every word (see shared/search-words.ts) as a quoted prefix
 * term, all required. Empty when the text has no word at all.
 */
export function ftsQuery(text: string): string {
  return searchWords(text)
    .map((word) => `"${word.replaceAll('"', '""')}"*`)
    .join(' ');
}

export function searchMessages(
  queries: ActionQueries,
  reactionsOf: (conversationId: string, seq: number) => Record<string, string[]>,
  viewerId: string,
  input: SearchInput,
): SearchResult[] {
  const match = ftsQuery(input.text);
  if (!match) return [];
  const params = {
    viewerId,
    conversationId: input.conversationId ?? '',
    match,
    limit: Math.max(0, Math.trunc(input.limit)),
  };
  const rows =
    input.conversationId === undefined
      ? queries.searchAll.all(params)
      : queries.searchOne.all(params);
  return rows.map((row) => ({
    message: toMessage(row, reactionsOf(row.conversation_id, row.seq)),
    conversationId: row.conversation_id,
    ...buildSnippet(row.marked, row.body),
  }));
}
