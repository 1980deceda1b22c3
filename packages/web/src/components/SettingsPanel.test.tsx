// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { SettingsPanel } from './SettingsPanel';
import type { SettingsPanelProps } from './SettingsPanel';
import { alice, bob } from '../testing/fixtures';

afterEach(cleanup);

function renderSettings(overrides: Partial<SettingsPanelProps> = {}) {
  const props = {
    me: alice,
    onRename: vi.fn(() => Promise.resolve()),
    onChangePassword: vi.fn(() => Promise.resolve()),
    onExport: vi.fn(() => Promise.resolve()),
    onDeleteAccount: vi.fn(() => Promise.resolve()),
    loadBlocked: vi.fn(() => Promise.resolve([bob])),
    onUnblock: vi.fn(() => Promise.resolve()),
    onLogout: vi.fn(),
    ...overrides,
  };
  render(<SettingsPanel {...props} />);
  return props;
}

describe('SettingsPanel', () => {
  it('changes the display name', async () => {
    const user = userEvent.setup();
    const props = renderSettings();
    const input = screen.getByRole('textbox', { name: 'Display name' });
    expect((input as HTMLInputElement).value).toBe('Alice Adams');
    await user.clear(input);
    await user.type(input, 'Ali');
    await user.click(screen.getByRole('button', { name: 'Save name' }));
    expect(props.onRename).toHaveBeenCalledWith('Ali');
    expect((await screen.findByRole('status')).textContent).toBe('Name saved.');
  });

  it('changes the password and shows a wrong current password inline', async () => {
    const user = userEvent.setup();
    const props = renderSettings({
      onChangePassword: vi
        .fn()
        .mockRejectedValueOnce(Object.assign(new Error('no'), { code: 'invalid_credentials' }))
        .mockResolvedValueOnce(undefined),
    });
    const change = screen.getByRole('button', { name: 'Change password' });
    expect((change as HTMLButtonElement).disabled).toBe(true);
    await user.type(screen.getByLabelText('Current password'), 'old password');
    await user.type(screen.getByLabelText('New password'), 'new password 1');
    await user.click(change);
    expect(props.onChangePassword).toHaveBeenCalledWith('old password', 'new password 1');
    expect((await screen.findByRole('alert')).textContent).toBe('Wrong username or password.');
    await user.click(change);
    expect((await screen.findByRole('status')).textContent).toContain('Password changed');
  });

  it('lists blocked people and unblocks them', async () => {
    const user = userEvent.setup();
    const props = renderSettings();
    const list = await screen.findByRole('list', { name: 'Blocked people' });
    await user.click(within(list).getByRole('button', { name: 'Unblock Bob Brown' }));
    expect(props.onUnblock).toHaveBeenCalledWith(bob.id);
    expect(await screen.findByText('You have not blocked anyone.')).toBeTruthy();
  });

  it('downloads the data, logs out, and deletes the account only with the password', async () => {
    const user = userEvent.setup();
    const props = renderSettings();
    await user.click(screen.getByRole('button', { name: 'Download my data' }));
    expect(props.onExport).toHaveBeenCalledTimes(1);

    await user.click(screen.getByRole('button', { name: 'Delete account…' }));
    const confirm = screen.getByRole('button', { name: 'Delete my account' });
    expect((confirm as HTMLButtonElement).disabled).toBe(true);
    await user.type(screen.getByLabelText('Confirm with your password'), 'secret pass');
    await user.click(confirm);
    expect(props.onDeleteAccount).toHaveBeenCalledWith('secret pass');

    await user.click(screen.getByRole('button', { name: 'Log out' }));
    expect(props.onLogout).toHaveBeenCalled();
  });
});
