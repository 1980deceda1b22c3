import { useId, useState } from 'react';
import type { FormEvent } from 'react';
import type { Contact } from '@letter/protocol';
import { describeError } from '../lib/errors';
import { Avatar } from './Avatar';

export interface NewGroupProps {
  contacts: readonly Contact[];
  onCreate: (title: string, memberIds: string[]) => Promise<unknown>;
}

export function NewGroup({ contacts, onCreate }: NewGroupProps) {
  const [title, setTitle] = useState('');
  const [picked, setPicked] = useState<ReadonlySet<string>>(new Set());
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const ids = useId();

  function toggle(userId: string) {
    const next = new Set(picked);
    if (next.has(userId)) next.delete(userId);
    else next.add(userId);
    setPicked(next);
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!title.trim()) return setError('Give the group a name.');
    if (picked.size === 0) return setError('Pick at least one contact.');
    setBusy(true);
    setError(null);
    try {
      await onCreate(title.trim(), [...picked]);
    } catch (e) {
      setError(describeError(e));
      setBusy(false);
    }
  }

  return (
    <form className="new-group" onSubmit={submit} noValidate aria-label="New group">
      <label htmlFor={`${ids}-title`}>Group name</label>
      <input
        id={`${ids}-title`}
        value={title}
        maxLength={100}
        onChange={(e) => setTitle(e.target.value)}
        autoFocus
      />
      <fieldset>
        <legend>Members</legend>
        {contacts.length === 0 && (
          <p className="empty-hint">Add contacts first to put them in a group.</p>
        )}
        <ul className="people">
          {contacts.map((contact) => (
            <li key={contact.user.id}>
              <label className="person person-check">
                <input
                  type="checkbox"
                  checked={picked.has(contact.user.id)}
                  onChange={() => toggle(contact.user.id)}
                />
                <Avatar name={contact.user.displayName} colorKey={contact.user.id} />
                <span className="person-name">{contact.user.displayName}</span>
              </label>
            </li>
          ))}
        </ul>
      </fieldset>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" className="primary-button" disabled={busy}>
        {busy ? 'Creating…' : `Create group${picked.size ? ` (${picked.size + 1})` : ''}`}
      </button>
    </form>
  );
}
