// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { ChatList } from './ChatList';
import { alice, bob, carol, conversation, member, message } from '../testing/fixtures';

afterEach(cleanup);

const now = new Date('2026-03-10T15:00:00');

const withBob = conversation({
  id: 'c-bob',
  title: 'Bob Brown',
  members: [member(alice), member(bob, 3)],
  lastMessage: message(
    3,
    alice.id,
    'see you at 5\nsecond line',
    new Date('2026-03-10T14:05:00').toISOString(),
  ),
  lastSeq: 3,
  unreadCount: 0,
});
const withCarol = conversation({
  id: 'c-carol',
  title: 'Carol Chen',
  members: [member(alice), member(carol)],
  lastMessage: message(7, carol.id, 'lunch?', new Date('2026-03-10T14:30:00').toISOString()),
  lastSeq: 7,
  unreadCount: 3,
});
const group = conversation({
  id: 'c-group',
  kind: 'group',
  title: 'Hiking',
  members: [member(alice), member(bob), member(carol)],
  lastMessage: message(
    2,
    bob.id,
    'trail map attached',
    new Date('2026-03-09T10:00:00').toISOString(),
  ),
  lastSeq: 2,
});

function renderList(overrides: Partial<Parameters<typeof ChatList>[0]> = {}) {
  const onSelect = vi.fn();
  render(
    <ChatList
      conversations={[group, withBob, withCarol]}
      meId={alice.id}
      presence={{ [bob.id]: { online: true, lastSeenAt: null } }}
      typing={{}}
      selectedId={null}
      onSelect={onSelect}
      now={now}
      {...overrides}
    />,
  );
  return { onSelect };
}

describe('ChatList', () => {
  it('orders chats by latest activity and shows name, preview, time and unread badge', () => {
    renderList();
    const items = within(screen.getByRole('list', { name: 'Chats' })).getAllByRole('button');
    expect(items.map((b) => b.querySelector('.chat-list-title')?.textContent)).toEqual([
      'Carol Chen',
      'Bob Brown',
      'Hiking',
    ]);
    const carolItem = items[0]!;
    expect(carolItem.textContent).toContain('lunch?');
    expect(within(carolItem).getByLabelText('3 unread').textContent).toContain('3');
    expect(carolItem.querySelector('time')?.getAttribute('datetime')).toBe(
      withCarol.lastMessage?.createdAt,
    );
    // Yesterday's group message shows "Yesterday" and the sender's name.
    expect(items[2]?.textContent).toContain('Yesterday');
    expect(items[2]?.textContent).toContain('Bob Brown: trail map attached');
  });

  it('shows my last message with its tick and only its first line, and the online dot', () => {
    renderList();
    const bobItem = screen.getByRole('button', { name: /^Bob Brown/ });
    expect(bobItem.textContent).toContain('see you at 5');
    expect(bobItem.textContent).not.toContain('second line');
    expect(within(bobItem).getByRole('img', { name: 'Read' })).toBeTruthy();
    expect(bobItem.querySelector('.online-dot')).not.toBeNull();
    expect(
      screen.getByRole('button', { name: /^Carol Chen/ }).querySelector('.online-dot'),
    ).toBeNull();
  });

  it('shows typing in place of the preview', () => {
    renderList({ typing: { 'c-carol': [carol.id] } });
    expect(screen.getByRole('button', { name: /^Carol Chen/ }).textContent).toContain('typing…');
  });

  it('selects a chat by click and by keyboard, and marks the current one', async () => {
    const user = userEvent.setup();
    const { onSelect } = renderList({ selectedId: 'c-bob' });
    expect(screen.getByRole('button', { name: /^Bob Brown/ }).getAttribute('aria-current')).toBe(
      'true',
    );
    await user.click(screen.getByRole('button', { name: /^Hiking/ }));
    expect(onSelect).toHaveBeenLastCalledWith('c-group');
    screen.getByRole('button', { name: /^Carol Chen/ }).focus();
    await user.keyboard('{Enter}');
    expect(onSelect).toHaveBeenLastCalledWith('c-carol');
  });

  it('filters by title', async () => {
    const user = userEvent.setup();
    renderList();
    await user.type(screen.getByRole('searchbox', { name: 'Search chats' }), 'hik');
    const items = within(screen.getByRole('list', { name: 'Chats' })).getAllByRole('button');
    expect(items).toHaveLength(1);
    expect(items[0]?.textContent).toContain('Hiking');
  });

  it('says so when there are no chats', () => {
    renderList({ conversations: [] });
    expect(screen.getByText(/No chats yet/)).toBeTruthy();
  });
});
