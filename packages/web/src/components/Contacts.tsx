import { useEffect, useState } from 'react';
import type { Contact, User } from '@letter/protocol';
import { describeError } from '../lib/errors';
import { formatPresence } from '../lib/format';
import { Avatar } from './Avatar';

export interface ContactsProps {
  contacts: readonly Contact[];
  meId: string;
  onSearch: (prefix: string) => Promise<readonly User[]>;
  onAddContact: (username: string) => Promise<unknown>;
  onStartChat: (userId: string) => void;
  onNewGroup: () => void;
  now?: Date | undefined;
}

const SEARCH_DELAY_MS = 250;

/** "New chat": find people by username, add them, and open a direct chat with a contact. */
export function Contacts(props: ContactsProps) {
  const { contacts, meId, onSearch, onAddContact, onStartChat, onNewGroup, now } = props;
  const [query, setQuery] = useState('');
  const [results, setResults] = useState<{ query: string; users: readonly User[] } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [adding, setAdding] = useState<string | null>(null);
  const prefix = query.trim().toLowerCase();

  useEffect(() => {
    if (prefix.length === 0) return;
    let live = true;
    // Wait for a pause in typing so each keystroke does not become a request.
    const timer = setTimeout(() => {
      onSearch(prefix).then(
        (users) => live && setResults({ query: prefix, users }),
        (e: unknown) => live && setError(describeError(e)),
      );
    }, SEARCH_DELAY_MS);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [prefix, onSearch]);

  const contactIds = new Set(contacts.map((c) => c.user.id));
  const found =
    prefix && results?.query === prefix ? results.users.filter((u) => u.id !== meId) : [];

  async function add(user: User) {
    setAdding(user.id);
    setError(null);
    try {
      await onAddContact(user.username);
    } catch (e) {
      setError(describeError(e));
    } finally {
      setAdding(null);
    }
  }

  return (
    <div className="contacts">
      <div className="search-field">
        <input
          type="search"
          aria-label="Search people by username"
          placeholder="Search people by username"
          value={query}
          onChange={(e) => {
            setQuery(e.target.value);
            setError(null);
          }}
        />
      </div>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      {prefix && (
        <section aria-label="Search results">
          <h3 className="list-heading">People</h3>
          {results?.query === prefix && found.length === 0 && (
            <p className="empty-hint">Nobody with a username starting “{prefix}”.</p>
          )}
          <ul className="people">
            {found.map((user) => (
              <li key={user.id} className="person">
                <Avatar name={user.displayName} colorKey={user.id} />
                <span className="person-text">
                  <span className="person-name">{user.displayName}</span>
                  <span className="muted">@{user.username}</span>
                </span>
                {contactIds.has(user.id) ? (
                  <button
                    type="button"
                    className="secondary-button"
                    onClick={() => onStartChat(user.id)}
                  >
                    Message
                  </button>
                ) : (
                  <button
                    type="button"
                    className="secondary-button"
                    aria-label={`Add ${user.displayName} to contacts`}
                    disabled={adding === user.id}
                    onClick={() => void add(user)}
                  >
                    {adding === user.id ? 'Adding…' : 'Add'}
                  </button>
                )}
              </li>
            ))}
          </ul>
        </section>
      )}
      <button type="button" className="action-row" onClick={onNewGroup}>
        <span className="action-icon" aria-hidden="true">
          <svg viewBox="0 0 24 24" width="22" height="22">
            <path
              d="M9 11a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7zm7 0a3 3 0 1 0 0-6M2.5 20c0-3.6 2.9-6 6.5-6s6.5 2.4 6.5 6M17 14c2.7.3 4.5 2.6 4.5 6"
              fill="none"
              stroke="currentColor"
              strokeWidth="1.8"
            />
          </svg>
        </span>
        New group
      </button>
      <h3 className="list-heading">Contacts</h3>
      {contacts.length === 0 ? (
        <p className="empty-hint">No contacts yet. Search for someone by username to add them.</p>
      ) : (
        <ul className="people" aria-label="Contacts">
          {[...contacts]
            .sort((a, b) => a.user.displayName.localeCompare(b.user.displayName))
            .map((contact) => (
              <li key={contact.user.id}>
                <button
                  type="button"
                  className="person person-button"
                  onClick={() => onStartChat(contact.user.id)}
                  aria-label={`Message ${contact.user.displayName}`}
                >
                  <Avatar
                    name={contact.user.displayName}
                    colorKey={contact.user.id}
                    online={contact.online}
                  />
                  <span className="person-text">
                    <span className="person-name">{contact.user.displayName}</span>
                    <span className="muted">
                      {formatPresence(contact.online, contact.lastSeenAt, now) ||
                        `@${contact.user.username}`}
                    </span>
                  </span>
                </button>
              </li>
            ))}
        </ul>
      )}
    </div>
  );
}
