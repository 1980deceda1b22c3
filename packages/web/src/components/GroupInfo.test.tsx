// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { Contact } from '@letter/protocol';
import { GroupInfo } from './GroupInfo';
import type { GroupInfoProps } from './GroupInfo';
import { alice, bob, carol, conversation, member } from '../testing/fixtures';

afterEach(cleanup);

const dave = { id: 'u-dave', username: 'dave', displayName: 'Dave Diaz' };
const group = conversation({
  id: 'c-g',
  kind: 'group',
  title: 'Hiking',
  members: [{ ...member(alice), role: 'admin' }, member(bob), member(carol)],
});
const contacts: Contact[] = [
  { user: bob, online: true, lastSeenAt: null },
  { user: dave, online: false, lastSeenAt: null },
];

function renderInfo(meId: string, overrides: Partial<GroupInfoProps> = {}) {
  const props = {
    conversation: group,
    meId,
    presence: { [bob.id]: { online: true, lastSeenAt: null } },
    contacts,
    onRename: vi.fn(() => Promise.resolve()),
    onAddMembers: vi.fn(() => Promise.resolve()),
    onRemove: vi.fn(() => Promise.resolve()),
    onSetRole: vi.fn(() => Promise.resolve()),
    onLeave: vi.fn(() => Promise.resolve()),
    onLoadMembers: vi.fn(() => Promise.resolve()),
    ...overrides,
  };
  render(<GroupInfo {...props} />);
  return props;
}

describe('GroupInfo', () => {
  it('lists members with roles and online state', () => {
    renderInfo(bob.id);
    const list = screen.getByRole('list', { name: 'Members' });
    const rows = within(list).getAllByRole('listitem');
    expect(rows).toHaveLength(3);
    expect(rows[0]?.textContent).toContain('Alice Adams');
    expect(rows[0]?.textContent).toContain('Admin');
    expect(rows[1]?.textContent).toContain('You');
    expect(rows[1]?.textContent).toContain(', online');
    expect(rows[2]?.textContent).not.toContain('Admin');
  });

  it('shows a member the list read-only', () => {
    renderInfo(bob.id);
    expect(screen.queryByRole('button', { name: 'Rename group' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Add members' })).toBeNull();
    expect(screen.queryByRole('button', { name: /Remove .* from the group/ })).toBeNull();
    expect(screen.queryByRole('button', { name: /admin/ })).toBeNull();
    expect(screen.getByRole('button', { name: 'Leave group' })).toBeTruthy();
  });

  it('lets an admin rename, add, remove and promote, each through the port', async () => {
    const user = userEvent.setup();
    const props = renderInfo(alice.id);

    await user.click(screen.getByRole('button', { name: 'Rename group' }));
    const input = screen.getByRole('textbox', { name: 'Group name' });
    await user.clear(input);
    await user.type(input, 'Mountains{Enter}');
    expect(props.onRename).toHaveBeenCalledWith('Mountains');

    await user.click(screen.getByRole('button', { name: 'Add members' }));
    // Bob is in the group already: only Dave is offered.
    const picker = screen.getByRole('group', { name: 'Add members' });
    expect(within(picker).queryByText('Bob Brown')).toBeNull();
    await user.click(within(picker).getByRole('checkbox'));
    await user.click(within(picker).getByRole('button', { name: 'Add (1)' }));
    expect(props.onAddMembers).toHaveBeenCalledWith([dave.id]);

    await user.click(screen.getByRole('button', { name: 'Remove Carol Chen from the group' }));
    expect(props.onRemove).toHaveBeenCalledWith(carol.id);

    await user.click(screen.getByRole('button', { name: 'Make Bob Brown an admin' }));
    expect(props.onSetRole).toHaveBeenCalledWith(bob.id, 'admin');
    // Nobody manages themselves from the list.
    expect(screen.queryByRole('button', { name: /Alice Adams/ })).toBeNull();
  });

  it('asks before leaving', async () => {
    const user = userEvent.setup();
    const props = renderInfo(bob.id);
    await user.click(screen.getByRole('button', { name: 'Leave group' }));
    expect(props.onLeave).not.toHaveBeenCalled();
    await user.click(screen.getByRole('button', { name: 'Cancel' }));
    await user.click(screen.getByRole('button', { name: 'Leave group' }));
    await user.click(screen.getByRole('button', { name: 'Leave' }));
    expect(props.onLeave).toHaveBeenCalledTimes(1);
  });

  it('shows why an action failed', async () => {
    const user = userEvent.setup();
    renderInfo(alice.id, {
      onRemove: vi.fn(() => Promise.reject(Object.assign(new Error('x'), { code: 'forbidden' }))),
    });
    await user.click(screen.getByRole('button', { name: 'Remove Bob Brown from the group' }));
    expect((await screen.findByRole('alert')).textContent).toBe('You are not allowed to do that.');
  });

  it('fetches every member when it only has the chat list’s preview, and not otherwise', async () => {
    const props = renderInfo(alice.id, {
      conversation: { ...group, memberCount: 40 },
    });
    expect(screen.getByText('40 members')).toBeTruthy();
    expect(screen.getByText('Loading members…')).toBeTruthy();
    expect(props.onLoadMembers).toHaveBeenCalledTimes(1);
    cleanup();
    const whole = renderInfo(alice.id);
    expect(screen.getByText('3 members')).toBeTruthy();
    expect(screen.queryByText('Loading members…')).toBeNull();
    expect(whole.onLoadMembers).not.toHaveBeenCalled();
  });
});
