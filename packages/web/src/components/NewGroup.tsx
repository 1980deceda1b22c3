import { useId, useState } from 'react';
import type { FormEvent } from 'react';
import type { Contact } from '@letter/protocol';
import { describeError } from '../lib/errors';
import { ContactPicker } from './ContactPicker';

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
        <ContactPicker contacts={contacts} picked={picked} onChange={setPicked} />
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
