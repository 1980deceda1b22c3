import { useId, useState } from 'react';
import type { FormEvent } from 'react';
import { describeError, errorCode } from '../lib/errors';

export interface AuthScreenProps {
  onLogin: (username: string, password: string) => Promise<unknown>;
  onRegister: (username: string, password: string, displayName: string) => Promise<unknown>;
  initialMode?: 'login' | 'register';
}

type Field = 'username' | 'password' | 'displayName' | 'form';

const USERNAME = /^[a-z0-9_.]{3,32}$/;

/** Checks what the server would reject, so most mistakes show before a round trip. */
function validate(mode: 'login' | 'register', username: string, password: string) {
  const errors: Partial<Record<Field, string>> = {};
  if (!username.trim()) errors.username = 'Enter your username.';
  else if (mode === 'register' && !USERNAME.test(username.trim().toLowerCase())) {
    errors.username = 'Use 3–32 characters: letters, digits, "_" or ".".';
  }
  if (!password) errors.password = 'Enter your password.';
  else if (mode === 'register' && password.length < 8) {
    errors.password = 'Use at least 8 characters.';
  }
  return errors;
}

export function AuthScreen({ onLogin, onRegister, initialMode = 'login' }: AuthScreenProps) {
  const [mode, setMode] = useState(initialMode);
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [errors, setErrors] = useState<Partial<Record<Field, string>>>({});
  const [busy, setBusy] = useState(false);
  const ids = useId();
  const register = mode === 'register';

  async function submit(event: FormEvent) {
    event.preventDefault();
    const found = validate(mode, username, password);
    setErrors(found);
    if (Object.keys(found).length > 0) return;
    setBusy(true);
    try {
      if (register) await onRegister(username.trim().toLowerCase(), password, displayName.trim());
      else await onLogin(username.trim(), password);
    } catch (error) {
      const code = errorCode(error);
      const message = describeError(error);
      // Put the message beside the field it is about, like the form's own checks do.
      if (code === 'username_taken') setErrors({ username: message });
      else if (code === 'bad_request' && /^password/i.test(message))
        setErrors({ password: message });
      else if (code === 'bad_request' && /^username/i.test(message))
        setErrors({ username: message });
      else if (code === 'bad_request' && /^displayname/i.test(message))
        setErrors({ displayName: message });
      else setErrors({ form: message });
      setBusy(false);
    }
  }

  function switchMode() {
    setMode(register ? 'login' : 'register');
    setErrors({});
  }

  const fieldProps = (field: Field) => ({
    'aria-invalid': errors[field] ? true : undefined,
    'aria-describedby': errors[field] ? `${ids}-${field}-error` : undefined,
  });
  const fieldError = (field: Field) =>
    errors[field] && (
      <p className="field-error" id={`${ids}-${field}-error`}>
        {errors[field]}
      </p>
    );

  return (
    <main className="auth-screen">
      <div className="auth-card">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true">
            ✉
          </span>
          <h1>Letter</h1>
        </div>
        <h2>{register ? 'Create your account' : 'Log in'}</h2>
        <form onSubmit={submit} noValidate aria-label={register ? 'Sign up' : 'Log in'}>
          <label htmlFor={`${ids}-username`}>Username</label>
          <input
            id={`${ids}-username`}
            name="username"
            autoComplete="username"
            autoCapitalize="none"
            spellCheck={false}
            value={username}
            onChange={(e) => setUsername(e.target.value)}
            {...fieldProps('username')}
          />
          {fieldError('username')}
          {register && (
            <>
              <label htmlFor={`${ids}-displayName`}>
                Display name <span className="muted">(optional)</span>
              </label>
              <input
                id={`${ids}-displayName`}
                name="displayName"
                autoComplete="name"
                maxLength={64}
                value={displayName}
                onChange={(e) => setDisplayName(e.target.value)}
                {...fieldProps('displayName')}
              />
              {fieldError('displayName')}
            </>
          )}
          <label htmlFor={`${ids}-password`}>Password</label>
          <input
            id={`${ids}-password`}
            name="password"
            type="password"
            autoComplete={register ? 'new-password' : 'current-password'}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            {...fieldProps('password')}
          />
          {fieldError('password')}
          {errors.form && (
            <p className="form-error" role="alert">
              {errors.form}
            </p>
          )}
          <button type="submit" className="primary-button" disabled={busy}>
            {busy ? 'Please wait…' : register ? 'Sign up' : 'Log in'}
          </button>
        </form>
        <p className="auth-switch">
          {register ? 'Already have an account?' : 'New to Letter?'}{' '}
          <button type="button" className="link-button" onClick={switchMode}>
            {register ? 'Log in' : 'Create an account'}
          </button>
        </p>
      </div>
    </main>
  );
}
