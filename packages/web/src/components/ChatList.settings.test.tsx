// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { ChatList } from './ChatList';
import { unreadForTitle } from '../app/panels';
import { alice, bob, carol, conversation, member } from '../testing/fixtures';

afterEach(cleanup);

const loud = conversation({ id: 'c-loud', title: 'Bob Brown', unreadCount: 2 });
const quiet = conversation({
  id: 'c-quiet',
  title: 'Carol Chen',
  members: [member(alice), member(carol)],
  unreadCount: 5,
  muted: true,
});
const stored = conversation({
  id: 'c-old',
  kind: 'group',
  title: 'Old trip',
  members: [member(alice), member(bob), member(carol)],
  unreadCount: 1,
  archived: true,
});

function renderList(archived = false) {
  const onShowArchived = vi.fn();
  render(
    <ChatList
      conversations={[loud, quiet, stored]}
      meId={alice.id}
      presence={{}}
      typing={{}}
      selectedId={null}
      onSelect={vi.fn()}
      archived={archived}
      onShowArchived={onShowArchived}
    />,
  );
  return { onShowArchived };
}

describe('ChatList mute and archive', () => {
  it('marks a muted chat and greys its badge, still showing the count', () => {
    renderList();
    const item = screen.getByRole('button', { name: /^Carol Chen/ });
    expect(within(item).getByRole('img', { name: 'muted' })).toBeTruthy();
    const badge = within(item).getByRole('img', { name: '5 unread' });
    expect(badge.className).toContain('muted-badge');
    const other = screen.getByRole('button', { name: /^Bob Brown/ });
    expect(within(other).queryByRole('img', { name: 'muted' })).toBeNull();
    expect(within(other).getByRole('img', { name: '2 unread' }).className).not.toContain(
      'muted-badge',
    );
  });

  it('keeps archived chats out of the main list behind an "Archived (n)" row', async () => {
    const user = userEvent.setup();
    const { onShowArchived } = renderList();
    const list = screen.getByRole('list', { name: 'Chats' });
    expect(within(list).queryByText('Old trip')).toBeNull();
    await user.click(screen.getByRole('button', { name: 'Archived (1)' }));
    expect(onShowArchived).toHaveBeenCalled();
  });

  it('shows only archived chats in the archived view', () => {
    renderList(true);
    const list = screen.getByRole('list', { name: 'Chats' });
    expect(
      within(list)
        .getAllByRole('button')
        .map((b) => b.textContent),
    ).toEqual([expect.stringContaining('Old trip')]);
    expect(screen.queryByRole('button', { name: /^Archived/ })).toBeNull();
  });

  it('leaves muted chats out of the page title count', () => {
    expect(unreadForTitle([loud, quiet, stored])).toBe(3);
    expect(unreadForTitle([{ ...quiet, muted: false }])).toBe(5);
  });
});
