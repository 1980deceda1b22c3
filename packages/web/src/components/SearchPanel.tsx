import { useEffect, useState } from 'react';
import type { Conversation, SearchResult } from '@letter/protocol';
import { describeError } from '../lib/errors';
import { formatListTime } from '../lib/format';
import { HighlightedSnippet } from '../lib/highlight';

export interface SearchPanelProps {
  conversations: readonly Conversation[];
  meId: string;
  onSearch: (query: string) => Promise<readonly SearchResult[]>;
  /** Opens the chat at the message. */
  onOpen: (conversationId: string, seq: number) => void;
  now?: Date | undefined;
}

const SEARCH_DELAY_MS = 250;

/** Message search across the caller's chats, newest best match first as the server ranks them. */
export function SearchPanel({ conversations, meId, onSearch, onOpen, now }: SearchPanelProps) {
  const [query, setQuery] = useState('');
  const [answer, setAnswer] = useState<{ q: string; results: readonly SearchResult[] } | null>(
    null,
  );
  const [error, setError] = useState<string | null>(null);
  const q = query.trim();

  useEffect(() => {
    if (!q) return;
    let live = true;
    // One request per pause in typing, and only the latest answer counts.
    const timer = setTimeout(() => {
      onSearch(q).then(
        (results) => {
          if (!live) return;
          setAnswer({ q, results });
          setError(null);
        },
        (e: unknown) => live && setError(describeError(e)),
      );
    }, SEARCH_DELAY_MS);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [q, onSearch]);

  const byId = new Map(conversations.map((c) => [c.id, c]));
  const results = q && answer?.q === q ? answer.results : null;

  return (
    <div className="search-panel">
      <div className="search-field">
        <input
          type="search"
          aria-label="Search messages"
          placeholder="Search messages"
          value={query}
          autoFocus
          onChange={(e) => setQuery(e.target.value)}
        />
      </div>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      {results && results.length === 0 && <p className="empty-hint">No messages found.</p>}
      {results && results.length > 0 && (
        <ul className="search-results" aria-label="Search results">
          {results.map((result) => {
            const conversation = byId.get(result.conversationId);
            const sender = result.message.senderId;
            const senderName =
              sender === meId
                ? 'You'
                : (conversation?.members.find((m) => m.user.id === sender)?.user.displayName ??
                  'Someone');
            return (
              <li key={result.message.id}>
                <button
                  type="button"
                  className="search-result"
                  onClick={() => onOpen(result.conversationId, result.message.seq)}
                >
                  <span className="search-result-row">
                    <span className="search-result-chat">{conversation?.title ?? 'Chat'}</span>
                    <time dateTime={result.message.createdAt} className="chat-list-time">
                      {formatListTime(result.message.createdAt, now)}
                    </time>
                  </span>
                  <span className="search-result-snippet">
                    <span className="search-result-sender">{senderName}: </span>
                    <HighlightedSnippet snippet={result.snippet} highlights={result.highlights} />
                  </span>
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}
