import { useState } from 'react';
import type { User } from '@letter/protocol';
import type { Presence } from '../app/model';
import { describeError } from '../lib/errors';
import { formatPresence } from '../lib/format';
import { Avatar } from './Avatar';

export interface ContactInfoProps {
  user: User;
  presence: Presence | undefined;
  /** null while the block list is loading. */
  blocked: boolean | null;
  onBlock: () => Promise<unknown>;
  onUnblock: () => Promise<unknown>;
  now?: Date | undefined;
}

/** The other person of a direct chat: who they are, when they were last here, block/unblock. */
export function ContactInfo({
  user,
  presence,
  blocked,
  onBlock,
  onUnblock,
  now,
}: ContactInfoProps) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const status = presence ? formatPresence(presence.online, presence.lastSeenAt, now) : '';

  async function toggle() {
    setBusy(true);
    setError(null);
    try {
      await (blocked ? onUnblock() : onBlock());
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="contact-info">
      <div className="contact-info-card">
        <Avatar name={user.displayName} colorKey={user.id} online={presence?.online ?? false} />
        <h3>{user.displayName}</h3>
        <p className="muted">@{user.username}</p>
        {status && <p className="muted">{status}</p>}
      </div>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      <button
        type="button"
        className="action-row danger"
        disabled={busy || blocked === null}
        onClick={() => void toggle()}
      >
        {blocked ? `Unblock ${user.displayName}` : `Block ${user.displayName}`}
      </button>
      {blocked && <p className="muted contact-info-note">You cannot message each other.</p>}
    </div>
  );
}
