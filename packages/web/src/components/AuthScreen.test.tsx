// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { AuthScreen } from './AuthScreen';

afterEach(cleanup);

const coded = (code: string, message = code) => Object.assign(new Error(message), { code });

describe('AuthScreen', () => {
  it('logs in and shows a wrong-password error inline', async () => {
    const user = userEvent.setup();
    const onLogin = vi.fn().mockRejectedValue(coded('invalid_credentials'));
    render(<AuthScreen onLogin={onLogin} onRegister={vi.fn()} />);
    await user.type(screen.getByLabelText('Username'), 'alice');
    await user.type(screen.getByLabelText('Password'), 'wrong-password');
    await user.click(screen.getByRole('button', { name: 'Log in' }));
    expect(onLogin).toHaveBeenCalledWith('alice', 'wrong-password');
    expect((await screen.findByRole('alert')).textContent).toBe('Wrong username or password.');
  });

  it('signs up, checking the username and password before asking the server', async () => {
    const user = userEvent.setup();
    const onRegister = vi.fn().mockRejectedValue(coded('username_taken'));
    render(<AuthScreen onLogin={vi.fn()} onRegister={onRegister} />);
    await user.click(screen.getByRole('button', { name: 'Create an account' }));
    await user.type(screen.getByLabelText('Username'), 'No Spaces!');
    await user.type(screen.getByLabelText('Password'), 'short');
    await user.click(screen.getByRole('button', { name: 'Sign up' }));
    expect(onRegister).not.toHaveBeenCalled();
    expect(screen.getByLabelText('Username').getAttribute('aria-invalid')).toBe('true');
    expect(screen.getByText('Use at least 8 characters.')).toBeTruthy();

    await user.clear(screen.getByLabelText('Username'));
    await user.type(screen.getByLabelText('Username'), 'alice');
    await user.type(screen.getByLabelText(/Display name/), 'Alice');
    await user.clear(screen.getByLabelText('Password'));
    await user.type(screen.getByLabelText('Password'), 'long enough');
    await user.click(screen.getByRole('button', { name: 'Sign up' }));
    expect(onRegister).toHaveBeenCalledWith('alice', 'long enough', 'Alice');
    expect(await screen.findByText('That username is taken. Try another one.')).toBeTruthy();
  });

  it('explains a rate limit and an unreachable server', async () => {
    const user = userEvent.setup();
    const onLogin = vi
      .fn()
      .mockRejectedValueOnce(Object.assign(coded('rate_limited'), { retryAfter: 30 }))
      .mockRejectedValueOnce(new TypeError('Failed to fetch'));
    render(<AuthScreen onLogin={onLogin} onRegister={vi.fn()} />);
    await user.type(screen.getByLabelText('Username'), 'alice');
    await user.type(screen.getByLabelText('Password'), 'password1');
    await user.click(screen.getByRole('button', { name: 'Log in' }));
    expect((await screen.findByRole('alert')).textContent).toBe(
      'Too many attempts. Try again in 30 s.',
    );
    await user.click(screen.getByRole('button', { name: 'Log in' }));
    expect((await screen.findByRole('alert')).textContent).toMatch(/Cannot reach the server/);
  });
});
