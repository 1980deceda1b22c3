/**
 * Full-text search for the PostgreSQL store: a tsvector per message behind a GIN index, ranked
 * by ts_rank. Words are split and folded here, in the store, not by a text search configuration:
 * - case and diacritics are ignored without the `unaccent` extension (which needs CREATE
 *   privilege on the database, and lives outside a per-store schema);
 * - words split exactly as the SQLite store's FTS5 query does (sqlite/search.ts), whatever the
 *   server's locale, so both stores find the same messages;
 * - prefix matching (`term:*`) is what the contract asks for; websearch_to_tsquery and
 *   plainto_tsquery have no prefix terms, so the query is built from the folded words instead.
 * The user's text never reaches PostgreSQL as query syntax: every term is made of letters and
 * digits only and is quoted besides, and it travels as a bound parameter cast to tsquery.
 * Highlights come from the same fold: a word is marked when its folded form starts with a term.
 */
import { sql } from 'kysely';
import { LetterError, type SearchResult } from '@letter/protocol';
import type { SearchInput } from '../store.js';
import { pgCode, readTx, type Db } from './db.js';
import { membershipOf } from './views.js';
import { MESSAGE_COLUMNS } from '../shared/tables.js';
import { MATCH_CLOSE, MATCH_OPEN, buildSnippet } from '../shared/snippet.js';
import { searchWords } from '../shared/search-words.js';
import { toMessages, type MessageRow, type ReactionRow } from '../shared/rows.js';

/**
 * A search's statement_timeout (postgres/postgres-store.ts): a broad prefix over a large index must not
 * hold a pooled connection for long. Overridable per store (PostgresStoreOptions).
 */
export const DEFAULT_SEARCH_TIMEOUT_MS = 5000;
/** Longer words are indexed by their start (a tsvector lexeme must stay under 2 KiB). */
const MAX_WORD = 200;
/** PostgreSQL keeps positions up to 16383. */
const MAX_POSITION = 16383;

const WORD = /[\p{L}\p{N}\p{M}]+/gu;
const HAS_LETTER_OR_DIGIT = /[\p{L}\p{N}]/u;

/** Letters NFD does not decompose but which carry a diacritic all the same. */
const STROKES: Record<string, string> = { ø: 'o', ł: 'l', đ: 'd', ħ: 'h', ŧ: 't', ı: 'i' };

const ASCII = /^[ -~]*$/;

/** A word as the index keeps it: lower case, without diacritics. Empty for a lone mark. */
export function foldWord(word: string): string {
  // Most words of most messages: NFD, marks and strokes change nothing in ASCII, and one
  // character is one code point (the slow path below was ~10 % of an append's node CPU).
  if (ASCII.test(word)) return word.toLowerCase().slice(0, MAX_WORD);
  const folded = word
    .toLowerCase()
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/[øłđħŧı]/g, (char) => STROKES[char] ?? char);
  return [...folded].slice(0, MAX_WORD).join('');
}

/** The folded words of a text, in order (a word has at least one letter or digit). */
export function words(text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(WORD)) {
    if (!HAS_LETTER_OR_DIGIT.test(match[0])) continue;
    const folded = foldWord(match[0]);
    if (folded) found.push(folded);
  }
  return found;
}

/** tsvector/tsquery literal quoting; our lexemes hold no quote or backslash, but be exact. */
const quote = (lexeme: string): string =>
  NEEDS_ESCAPE.test(lexeme)
    ? `'${lexeme.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`
    : `'${lexeme}'`;
const NEEDS_ESCAPE = /['\\]/;

/** The tsvector literal of a body: every folded word with its positions. '' for no words. */
export function searchVector(body: string): string {
  const positions = new Map<string, number[]>();
  words(body).forEach((word, index) => {
    let list = positions.get(word);
    if (!list) positions.set(word, (list = []));
    list.push(Math.min(index + 1, MAX_POSITION));
  });
  return [...positions].map(([word, at]) => `${quote(word)}:${at.join(',')}`).join(' ');
}

/** The query terms of what the user typed (shared/search-words.ts): folded, distinct. */
export function searchTerms(text: string): string[] {
  return [...new Set(searchWords(text).map(foldWord))];
}

/** Every term a required prefix; null when the text has no word at all. */
export function searchQuery(terms: string[]): string | null {
  return terms.length === 0 ? null : terms.map((term) => `${quote(term)}:*`).join(' & ');
}

/** The body with every matching word between MATCH_OPEN and MATCH_CLOSE (see shared/snippet.ts). */
export function markMatches(body: string, terms: string[]): string {
  return body.replace(WORD, (word) => {
    if (!HAS_LETTER_OR_DIGIT.test(word)) return word;
    const folded = foldWord(word);
    return terms.some((term) => folded.startsWith(term))
      ? `${MATCH_OPEN}${word}${MATCH_CLOSE}`
      : word;
  });
}

/**
 * A search in a read transaction of its own, under `timeoutMs` as its statement_timeout; null
 * when `conversationId` is given and the viewer is not a member. A search stopped by the timeout
 * is `bad_request` saying so, not a failure of the server.
 */
export async function searchInReadTx(
  db: Db,
  viewerId: string,
  input: SearchInput,
  timeoutMs: number,
): Promise<SearchResult[] | null> {
  try {
    return await readTx(db, async (tx) => {
      // SET LOCAL takes no parameters; set_config(…, true) is the same and does.
      await sql`SELECT set_config('statement_timeout', ${String(timeoutMs)}, true)`.execute(tx);
      if (
        input.conversationId !== undefined &&
        !(await membershipOf(tx, input.conversationId, viewerId))
      ) {
        return null;
      }
      return await searchMessages(tx, viewerId, input);
    });
  } catch (error) {
    // 57014 query_canceled: the statement_timeout above (nothing else cancels our queries).
    if (pgCode(error) === '57014') {
      throw new LetterError(
        'bad_request',
        'The search took too long; search for longer or fewer common words.',
      );
    }
    throw error;
  }
}

/**
 * Search hits for the viewer: only conversations they are a member of and seqs from their join
 * on, never tombstones or system messages; best rank first, then newest. The membership check
 * for a single conversation is the caller's.
 */
export async function searchMessages(
  db: Db,
  viewerId: string,
  input: SearchInput,
): Promise<SearchResult[]> {
  const terms = searchTerms(input.text);
  const query = searchQuery(terms);
  const limit = Math.max(0, Math.trunc(input.limit));
  if (query === null || limit === 0) return [];
  const tsquery = sql<string>`${query}::tsquery`;
  let select = db
    .selectFrom('messages as msg')
    .innerJoin('members as mine', 'mine.conversation_id', 'msg.conversation_id')
    .select(MESSAGE_COLUMNS)
    .where('mine.user_id', '=', viewerId)
    .where(sql<boolean>`msg.search_vector @@ ${tsquery}`)
    .where('msg.deleted_at', 'is', null)
    .where('msg.system_json', 'is', null)
    // A member sees nothing from before they joined, not even in search.
    .whereRef('msg.seq', '>=', 'mine.join_seq');
  if (input.conversationId !== undefined) {
    select = select.where('msg.conversation_id', '=', input.conversationId);
  }
  const rows: MessageRow[] = await select
    // Normalisation 1 divides by 1 + log(length): a word in a short message counts more, as
    // with SQLite's bm25.
    .orderBy(sql`ts_rank(msg.search_vector, ${tsquery}, 1)`, 'desc')
    .orderBy('msg.created_at', 'desc')
    .orderBy('msg.id')
    .limit(limit)
    .execute();
  if (rows.length === 0) return [];
  const messages = toMessages(rows, await reactionsOf(db, rows));
  return rows.map((row, i) => ({
    message: messages[i]!,
    conversationId: row.conversation_id,
    ...buildSnippet(markMatches(row.body, terms), row.body),
  }));
}

/** The reactions of the hits, in the order toMessages groups them. */
async function reactionsOf(db: Db, rows: MessageRow[]): Promise<ReactionRow[]> {
  const conversationIds = rows.map((row) => row.conversation_id);
  const seqs = rows.map((row) => row.seq);
  return db
    .selectFrom('reactions as r')
    .select(['r.conversation_id', 'r.seq', 'r.user_id', 'r.emoji'])
    .where(
      sql<boolean>`(r.conversation_id, r.seq) IN (SELECT * FROM unnest(${conversationIds}::text[], ${seqs}::int[]))`,
    )
    .orderBy('r.conversation_id')
    .orderBy('r.seq')
    .orderBy('r.created_at')
    .orderBy('r.user_id')
    .execute();
}
