import { useEffect, useId, useState } from 'react';
import type { FormEvent } from 'react';
import type { Contact, Conversation, Member, Role } from '@letter/protocol';
import type { Presence } from '../app/model';
import { describeError } from '../lib/errors';
import { Avatar } from './Avatar';
import { ContactPicker } from './ContactPicker';

export interface GroupInfoProps {
  conversation: Conversation;
  meId: string;
  presence: Readonly<Record<string, Presence>>;
  /** Who an admin can add (those already in the group are left out here). */
  contacts: readonly Contact[];
  onRename: (title: string) => Promise<unknown>;
  onAddMembers: (userIds: string[]) => Promise<unknown>;
  onRemove: (userId: string) => Promise<unknown>;
  onSetRole: (userId: string, role: Role) => Promise<unknown>;
  onLeave: () => Promise<unknown>;
  /**
   * Fetches every member: the chat list carries only a preview of a group's members. Called
   * whenever it changes while the list is incomplete: pass a stable function.
   */
  onLoadMembers: () => Promise<unknown>;
}

/** A group's title and members; admins manage them, everyone else sees them read-only. */
export function GroupInfo(props: GroupInfoProps) {
  const { conversation, meId } = props;
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const isAdmin = conversation.members.some((m) => m.user.id === meId && m.role === 'admin');
  // The list shows a preview; the panel fetches the whole list on demand, again if it falls
  // short later (a version jump refetched as a preview).
  const complete = conversation.members.length >= conversation.memberCount;
  const { onLoadMembers } = props;
  useEffect(() => {
    if (complete) return;
    onLoadMembers().catch((e: unknown) => setError(describeError(e)));
  }, [complete, onLoadMembers]);

  // Every action shares one busy flag and one error line: the list may change under the
  // person (events from other admins), so one at a time keeps what they see honest.
  async function run(action: () => Promise<unknown>): Promise<boolean> {
    setBusy(true);
    setError(null);
    try {
      await action();
      return true;
    } catch (e) {
      setError(describeError(e));
      return false;
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="group-info">
      <GroupTitle
        title={conversation.title}
        editable={isAdmin}
        busy={busy}
        onRename={(title) => run(() => props.onRename(title))}
      />
      <p className="muted group-info-count">{conversation.memberCount} members</p>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      {isAdmin && (
        <AddMembers
          contacts={props.contacts.filter(
            (c) => !conversation.members.some((m) => m.user.id === c.user.id),
          )}
          busy={busy}
          onAdd={(ids) => run(() => props.onAddMembers(ids))}
        />
      )}
      <h3 className="list-heading">Members</h3>
      {!complete && <p className="muted">Loading members…</p>}
      <ul className="people" aria-label="Members">
        {conversation.members.map((member) => (
          <MemberRow
            key={member.user.id}
            member={member}
            me={member.user.id === meId}
            online={props.presence[member.user.id]?.online ?? false}
            canManage={isAdmin && member.user.id !== meId}
            busy={busy}
            onRemove={() => void run(() => props.onRemove(member.user.id))}
            onSetRole={(role) => void run(() => props.onSetRole(member.user.id, role))}
          />
        ))}
      </ul>
      <LeaveGroup busy={busy} onLeave={() => void run(props.onLeave)} />
    </div>
  );
}

function GroupTitle(props: {
  title: string;
  editable: boolean;
  busy: boolean;
  onRename: (title: string) => Promise<boolean>;
}) {
  const [draft, setDraft] = useState<string | null>(null);
  const id = useId();
  if (draft === null) {
    return (
      <div className="group-info-title">
        <h3>{props.title}</h3>
        {props.editable && (
          <button
            type="button"
            className="secondary-button"
            aria-label="Rename group"
            onClick={() => setDraft(props.title)}
          >
            Rename
          </button>
        )}
      </div>
    );
  }
  async function submit(event: FormEvent) {
    event.preventDefault();
    const title = (draft ?? '').trim();
    if (!title || title === props.title) return setDraft(null);
    if (await props.onRename(title)) setDraft(null);
  }
  return (
    <form className="group-info-title" onSubmit={submit}>
      <label htmlFor={id} className="visually-hidden">
        Group name
      </label>
      <input
        id={id}
        value={draft}
        maxLength={100}
        autoFocus
        onChange={(e) => setDraft(e.target.value)}
        onKeyDown={(e) => {
          // Escape cancels the edit without closing the whole panel.
          if (e.key === 'Escape') {
            e.stopPropagation();
            setDraft(null);
          }
        }}
      />
      <button type="submit" className="secondary-button" disabled={props.busy}>
        Save
      </button>
    </form>
  );
}

function MemberRow(props: {
  member: Member;
  me: boolean;
  online: boolean;
  canManage: boolean;
  busy: boolean;
  onRemove: () => void;
  onSetRole: (role: Role) => void;
}) {
  const { member } = props;
  const name = member.user.displayName;
  const admin = member.role === 'admin';
  return (
    <li className="person member-row">
      <Avatar name={name} colorKey={member.user.id} online={props.online} />
      <span className="person-text">
        <span className="person-name">
          {props.me ? 'You' : name}
          {props.online && <span className="visually-hidden">, online</span>}
        </span>
        <span className="muted">@{member.user.username}</span>
      </span>
      {admin && <span className="role-badge">Admin</span>}
      {props.canManage && (
        <span className="member-actions">
          <button
            type="button"
            className="link-button"
            disabled={props.busy}
            aria-label={admin ? `Remove ${name} as admin` : `Make ${name} an admin`}
            onClick={() => props.onSetRole(admin ? 'member' : 'admin')}
          >
            {admin ? 'Dismiss admin' : 'Make admin'}
          </button>
          <button
            type="button"
            className="link-button danger"
            disabled={props.busy}
            aria-label={`Remove ${name} from the group`}
            onClick={props.onRemove}
          >
            Remove
          </button>
        </span>
      )}
    </li>
  );
}

function AddMembers(props: {
  contacts: readonly Contact[];
  busy: boolean;
  onAdd: (userIds: string[]) => Promise<boolean>;
}) {
  const [open, setOpen] = useState(false);
  const [picked, setPicked] = useState<ReadonlySet<string>>(new Set());
  if (!open) {
    return (
      <button type="button" className="action-row" onClick={() => setOpen(true)}>
        <span className="action-icon" aria-hidden="true">
          +
        </span>
        Add members
      </button>
    );
  }
  return (
    <fieldset className="add-members">
      <legend>Add members</legend>
      {props.contacts.length === 0 && (
        <p className="empty-hint">All your contacts are in this group already.</p>
      )}
      <ContactPicker contacts={props.contacts} picked={picked} onChange={setPicked} />
      <div className="button-row">
        <button type="button" className="secondary-button" onClick={() => setOpen(false)}>
          Cancel
        </button>
        <button
          type="button"
          className="primary-button"
          disabled={props.busy || picked.size === 0}
          onClick={() =>
            void props.onAdd([...picked]).then((ok) => {
              if (!ok) return;
              setPicked(new Set());
              setOpen(false);
            })
          }
        >
          Add{picked.size ? ` (${picked.size})` : ''}
        </button>
      </div>
    </fieldset>
  );
}

function LeaveGroup({ busy, onLeave }: { busy: boolean; onLeave: () => void }) {
  const [confirming, setConfirming] = useState(false);
  if (!confirming) {
    return (
      <button type="button" className="action-row danger" onClick={() => setConfirming(true)}>
        Leave group
      </button>
    );
  }
  return (
    <div className="confirm" role="group" aria-label="Confirm leaving">
      <p>Leave this group? You will no longer get its messages.</p>
      <div className="button-row">
        <button
          type="button"
          className="secondary-button"
          autoFocus
          onClick={() => setConfirming(false)}
        >
          Cancel
        </button>
        <button type="button" className="primary-button danger" disabled={busy} onClick={onLeave}>
          Leave
        </button>
      </div>
    </div>
  );
}
