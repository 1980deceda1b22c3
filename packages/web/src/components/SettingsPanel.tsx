import { useEffect, useId, useState } from 'react';
import type { FormEvent, ReactNode } from 'react';
import type { User } from '@letter/protocol';
import { describeError } from '../lib/errors';
import { Avatar } from './Avatar';
import { NotificationSettings } from './NotificationSettings';

export interface SettingsPanelProps {
  me: User;
  onRename: (displayName: string) => Promise<unknown>;
  onChangePassword: (currentPassword: string, newPassword: string) => Promise<unknown>;
  /** Fetches the export and saves it as a file. */
  onExport: () => Promise<unknown>;
  /** Deletes the account; the app then returns to the sign-in screen. */
  onDeleteAccount: (password: string) => Promise<unknown>;
  loadBlocked: () => Promise<readonly User[]>;
  onUnblock: (userId: string) => Promise<unknown>;
  onLogout: () => void;
  /** "Message text in notifications" changed: the server's setting, for every device. */
  onPushPreview?: ((preview: boolean) => void) | undefined;
}

/** Profile and account: name, notifications, password, blocked people, data export, deletion, log out. */
export function SettingsPanel(props: SettingsPanelProps) {
  return (
    <div className="settings">
      <div className="settings-me">
        <Avatar name={props.me.displayName} colorKey={props.me.id} />
        <span className="person-text">
          <span className="person-name">{props.me.displayName}</span>
          <span className="muted">@{props.me.username}</span>
        </span>
      </div>
      <DisplayNameForm me={props.me} onRename={props.onRename} />
      <Section title="Notifications">
        <NotificationSettings onPreviewChange={props.onPushPreview} />
      </Section>
      <PasswordForm onChangePassword={props.onChangePassword} />
      <BlockedList loadBlocked={props.loadBlocked} onUnblock={props.onUnblock} />
      <Section title="Your data">
        <ActionButton label="Download my data" busyLabel="Preparing…" action={props.onExport} />
      </Section>
      <DeleteAccount onDeleteAccount={props.onDeleteAccount} />
      <Section title="Session">
        <button type="button" className="secondary-button" onClick={props.onLogout}>
          Log out
        </button>
      </Section>
    </div>
  );
}

function Section({ title, children }: { title: string; children: ReactNode }) {
  return (
    <section className="settings-section" aria-label={title}>
      <h3 className="list-heading">{title}</h3>
      <div className="settings-body">{children}</div>
    </section>
  );
}

/** Busy and error state of one form: each section reports on its own. */
function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  async function run(action: () => Promise<unknown>, doneText: string | null = null) {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      await action();
      setDone(doneText);
      return true;
    } catch (e) {
      setError(describeError(e));
      return false;
    } finally {
      setBusy(false);
    }
  }
  const feedback = (
    <>
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
      {done && (
        <p className="settings-done" role="status">
          {done}
        </p>
      )}
    </>
  );
  return { busy, run, feedback };
}

function ActionButton(props: { label: string; busyLabel: string; action: () => Promise<unknown> }) {
  const { busy, run, feedback } = useAction();
  return (
    <>
      <button
        type="button"
        className="secondary-button"
        disabled={busy}
        onClick={() => void run(props.action)}
      >
        {busy ? props.busyLabel : props.label}
      </button>
      {feedback}
    </>
  );
}

function DisplayNameForm({ me, onRename }: Pick<SettingsPanelProps, 'me' | 'onRename'>) {
  const [name, setName] = useState(me.displayName);
  const { busy, run, feedback } = useAction();
  const id = useId();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (name.trim()) void run(() => onRename(name.trim()), 'Name saved.');
  };
  return (
    <Section title="Profile">
      <form className="settings-form" onSubmit={submit}>
        <label htmlFor={id}>Display name</label>
        <input id={id} value={name} maxLength={64} onChange={(e) => setName(e.target.value)} />
        <button type="submit" className="secondary-button" disabled={busy || !name.trim()}>
          Save name
        </button>
        {feedback}
      </form>
    </Section>
  );
}

function PasswordForm({ onChangePassword }: Pick<SettingsPanelProps, 'onChangePassword'>) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const { busy, run, feedback } = useAction();
  const id = useId();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const ok = await run(
      () => onChangePassword(current, next),
      'Password changed. Other devices were signed out.',
    );
    if (ok) {
      setCurrent('');
      setNext('');
    }
  };
  return (
    <Section title="Password">
      <form className="settings-form" onSubmit={(e) => void submit(e)}>
        <label htmlFor={`${id}-current`}>Current password</label>
        <input
          id={`${id}-current`}
          type="password"
          autoComplete="current-password"
          value={current}
          onChange={(e) => setCurrent(e.target.value)}
        />
        <label htmlFor={`${id}-new`}>New password</label>
        <input
          id={`${id}-new`}
          type="password"
          autoComplete="new-password"
          minLength={8}
          value={next}
          onChange={(e) => setNext(e.target.value)}
        />
        <button
          type="submit"
          className="secondary-button"
          disabled={busy || !current || next.length < 8}
        >
          Change password
        </button>
        {feedback}
      </form>
    </Section>
  );
}

function BlockedList({
  loadBlocked,
  onUnblock,
}: Pick<SettingsPanelProps, 'loadBlocked' | 'onUnblock'>) {
  const [users, setUsers] = useState<readonly User[] | null>(null);
  const { busy, run, feedback } = useAction();
  useEffect(() => {
    let live = true;
    loadBlocked().then(
      (list) => live && setUsers(list),
      () => live && setUsers([]),
    );
    return () => {
      live = false;
    };
  }, [loadBlocked]);
  return (
    <Section title="Blocked people">
      {users === null ? (
        <p className="muted">Loading…</p>
      ) : users.length === 0 ? (
        <p className="muted">You have not blocked anyone.</p>
      ) : (
        <ul className="people" aria-label="Blocked people">
          {users.map((user) => (
            <li key={user.id} className="person">
              <Avatar name={user.displayName} colorKey={user.id} size="small" />
              <span className="person-text">
                <span className="person-name">{user.displayName}</span>
              </span>
              <button
                type="button"
                className="secondary-button"
                disabled={busy}
                aria-label={`Unblock ${user.displayName}`}
                onClick={() =>
                  void run(async () => {
                    await onUnblock(user.id);
                    setUsers((list) => (list ?? []).filter((u) => u.id !== user.id));
                  })
                }
              >
                Unblock
              </button>
            </li>
          ))}
        </ul>
      )}
      {feedback}
    </Section>
  );
}

function DeleteAccount({ onDeleteAccount }: Pick<SettingsPanelProps, 'onDeleteAccount'>) {
  const [open, setOpen] = useState(false);
  const [password, setPassword] = useState('');
  const { busy, run, feedback } = useAction();
  const id = useId();
  return (
    <Section title="Delete account">
      {!open ? (
        <button type="button" className="secondary-button danger" onClick={() => setOpen(true)}>
          Delete account…
        </button>
      ) : (
        <form
          className="settings-form"
          onSubmit={(e) => {
            e.preventDefault();
            if (password) void run(() => onDeleteAccount(password));
          }}
        >
          <p>
            This deletes your account for good. Your messages stay in the chats as from “Deleted
            account”.
          </p>
          <label htmlFor={id}>Confirm with your password</label>
          <input
            id={id}
            type="password"
            autoComplete="current-password"
            autoFocus
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
          <div className="button-row">
            <button type="button" className="secondary-button" onClick={() => setOpen(false)}>
              Cancel
            </button>
            <button type="submit" className="primary-button danger" disabled={busy || !password}>
              Delete my account
            </button>
          </div>
          {feedback}
        </form>
      )}
    </Section>
  );
}
