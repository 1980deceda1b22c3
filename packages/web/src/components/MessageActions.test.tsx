// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { act, cleanup, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { Receipt } from '@letter/protocol';
import { describeSystem, tickOf } from '../app/model';
import { ChatView } from './ChatView';
import type { ChatViewProps } from './ChatView';
import { alice, bob, carol, chatMessage, conversation, member } from '../testing/fixtures';

afterEach(cleanup);

// The few DOM matchers these tests use (the project has no jest-dom).
expect.extend({
  toHaveTextContent(el: Element, text: string) {
    const actual = el.textContent ?? '';
    return { pass: actual.includes(text), message: () => `text "${actual}" vs "${text}"` };
  },
  toHaveAttribute(el: Element, name: string, value: string) {
    const actual = el.getAttribute(name);
    return { pass: actual === value, message: () => `${name}="${actual}" vs "${value}"` };
  },
  toHaveValue(el: HTMLTextAreaElement, value: string) {
    return { pass: el.value === value, message: () => `value "${el.value}" vs "${value}"` };
  },
  toHaveClass(el: Element, name: string) {
    return { pass: el.classList.contains(name), message: () => `class "${el.className}"` };
  },
  toBeInTheDocument(el: Element | null) {
    return { pass: !!el && document.contains(el), message: () => 'in the document' };
  },
});
declare module 'vitest' {
  interface Matchers<T = any> {
    toHaveTextContent(text: string): T;
    toHaveAttribute(name: string, value: string): T;
    toHaveValue(value: string): T;
    toHaveClass(name: string): T;
    toBeInTheDocument(): T;
  }
}

const at = (minute: number) => new Date(2026, 2, 10, 9, minute).toISOString();
const now = new Date('2026-03-10T15:00:00');

function renderChat(overrides: Partial<ChatViewProps> = {}) {
  const props: ChatViewProps = {
    conversation: conversation({ members: [member(alice), member(bob, 1, 2)] }),
    meId: alice.id,
    messages: [
      chatMessage(1, bob.id, 'question?\nsecond line', at(1)),
      chatMessage(2, alice.id, 'my answer', at(2)),
    ],
    hasMore: false,
    loadingOlder: false,
    presence: {},
    typingUserIds: [],
    onLoadOlder: vi.fn(),
    onSend: vi.fn(),
    onBack: vi.fn(),
    onEdit: vi.fn(() => Promise.resolve()),
    onDelete: vi.fn(() => Promise.resolve()),
    onReact: vi.fn(() => Promise.resolve()),
    onLoadReceipts: vi.fn(() => Promise.resolve([] as Receipt[])),
    now,
    ...overrides,
  };
  const view = render(<ChatView {...props} />);
  return {
    props,
    rerender: (next: Partial<ChatViewProps>) => view.rerender(<ChatView {...props} {...next} />),
  };
}

const row = (seq: number) => document.querySelector<HTMLElement>(`li[data-seq="${seq}"]`)!;

async function openMenu(user: ReturnType<typeof userEvent.setup>, seq: number) {
  await user.click(within(row(seq)).getByRole('button', { name: /^Message actions/ }));
  return screen.getByRole('menu', { name: 'Message actions' });
}

describe('message menu', () => {
  it('is a labelled button and a keyboard menu: arrows move, Enter acts, Esc closes', async () => {
    const user = userEvent.setup();
    const { props } = renderChat();
    const button = within(row(1)).getByRole('button', {
      name: 'Message actions: message from Bob Brown',
    });
    button.focus();
    await user.keyboard('{ArrowDown}');
    const menu = screen.getByRole('menu');
    expect(button).toHaveAttribute('aria-expanded', 'true');
    expect(document.activeElement).toBe(
      within(menu).getByRole('menuitemradio', { name: 'React 👍' }),
    );
    await user.keyboard('{ArrowRight}');
    expect(document.activeElement).toBe(
      within(menu).getByRole('menuitemradio', { name: 'React ❤️' }),
    );
    await user.keyboard('{Escape}');
    expect(screen.queryByRole('menu')).toBeNull();
    expect(document.activeElement).toBe(button);
    // Theirs: no edit, delete or info in a direct chat.
    await user.keyboard('{ArrowUp}');
    const items = within(screen.getByRole('menu')).getAllByRole('menuitem');
    expect(items.map((i) => i.getAttribute('aria-label'))).toEqual(['Reply']);
    expect(document.activeElement).toBe(items[0]);
    await user.keyboard('{Enter}');
    expect(screen.getByRole('status')).toHaveTextContent('Replying to Bob Brown');
    expect(props.onReact).not.toHaveBeenCalled();
  });
});

describe('reply', () => {
  it('sets a reply target above the composer (cancellable) and sends with replyToSeq', async () => {
    const user = userEvent.setup();
    const { props } = renderChat();
    await user.click(within(await openMenu(user, 1)).getByRole('menuitem', { name: 'Reply' }));
    const target = screen.getByRole('status');
    expect(target).toHaveTextContent('Replying to Bob Brown');
    expect(target).toHaveTextContent('question?');
    expect(target).not.toHaveTextContent('second line');
    await user.click(screen.getByRole('button', { name: 'Cancel reply' }));
    expect(screen.queryByRole('status')).toBeNull();

    await user.click(within(await openMenu(user, 1)).getByRole('menuitem', { name: 'Reply' }));
    await user.type(screen.getByRole('textbox', { name: 'Message' }), 'yes{Enter}');
    expect(props.onSend).toHaveBeenCalledWith('yes', 1);
    expect(screen.queryByRole('status')).toBeNull();
  });

  it('quotes the original: sender and first line, deleted, or not loaded; a click highlights it', async () => {
    const user = userEvent.setup();
    const onLoadOlder = vi.fn();
    const { rerender } = renderChat({
      hasMore: true,
      onLoadOlder,
      messages: [
        chatMessage(5, bob.id, 'original text\nmore', at(1)),
        chatMessage(6, alice.id, 'reply one', at(2), { replyToSeq: 5 }),
        chatMessage(7, bob.id, 'gone', at(3), { deletedAt: at(4) }),
        chatMessage(8, alice.id, 'reply two', at(5), { replyToSeq: 7 }),
        chatMessage(9, alice.id, 'reply three', at(6), { replyToSeq: 2 }),
      ],
    });
    const quote = (seq: number) => within(row(seq)).getByRole('button', { name: /^Reply to/ });
    expect(quote(6)).toHaveTextContent('Bob Brown');
    expect(quote(6)).toHaveTextContent('original text');
    expect(quote(6)).not.toHaveTextContent('more');
    expect(quote(8)).toHaveTextContent('Deleted message');
    expect(quote(9)).toHaveTextContent('Original message not loaded');

    await user.click(quote(6));
    expect(row(5)).toHaveClass('highlighted');

    // Outside what is loaded: older pages are fetched until it is there.
    await user.click(quote(9));
    expect(onLoadOlder).toHaveBeenCalled();
    rerender({
      hasMore: false,
      messages: [
        chatMessage(2, bob.id, 'way back', at(0)),
        chatMessage(5, bob.id, 'original text', at(1)),
        chatMessage(9, alice.id, 'reply three', at(6), { replyToSeq: 2 }),
      ],
    });
    expect(row(2)).toHaveClass('highlighted');
  });
});

describe('edit and delete', () => {
  it('edits my message in the composer; Esc cancels; the bubble says edited', async () => {
    const user = userEvent.setup();
    const { props, rerender } = renderChat();
    await user.click(within(await openMenu(user, 2)).getByRole('menuitem', { name: 'Edit' }));
    const input = screen.getByRole('textbox', { name: 'Edit message' });
    expect(input).toHaveValue('my answer');
    await user.keyboard('{Escape}');
    expect(screen.getByRole('textbox', { name: 'Message' })).toHaveValue('');

    await user.click(within(await openMenu(user, 2)).getByRole('menuitem', { name: 'Edit' }));
    await user.clear(screen.getByRole('textbox', { name: 'Edit message' }));
    await user.type(screen.getByRole('textbox', { name: 'Edit message' }), 'better answer{Enter}');
    expect(props.onEdit).toHaveBeenCalledWith(2, 'better answer');
    expect(props.onSend).not.toHaveBeenCalled();

    rerender({
      messages: [
        chatMessage(1, bob.id, 'question?', at(1)),
        chatMessage(2, alice.id, 'better answer', at(2), { editedAt: at(3) }),
      ],
    });
    expect(within(row(2)).getByText('edited')).toBeInTheDocument();
  });

  it('deletes for everyone after a confirmation; a tombstone reads "This message was deleted"', async () => {
    const user = userEvent.setup();
    const { props, rerender } = renderChat();
    await user.click(
      within(await openMenu(user, 2)).getByRole('menuitem', { name: 'Delete for everyone' }),
    );
    const confirm = screen.getByRole('alertdialog', { name: 'Delete message' });
    await user.click(within(confirm).getByRole('button', { name: 'Cancel' }));
    expect(props.onDelete).not.toHaveBeenCalled();
    await user.click(
      within(await openMenu(user, 2)).getByRole('menuitem', { name: 'Delete for everyone' }),
    );
    await user.click(screen.getByRole('button', { name: 'Delete' }));
    expect(props.onDelete).toHaveBeenCalledWith(2);

    rerender({
      messages: [chatMessage(2, alice.id, '', at(2), { deletedAt: at(3), reactions: {} })],
    });
    expect(row(2)).toHaveTextContent('This message was deleted');
    expect(within(row(2)).queryByRole('button', { name: /^Message actions/ })).toBeNull();
  });

  it('lets a group admin delete others’ messages, and nobody else', async () => {
    const user = userEvent.setup();
    const group = (role: 'admin' | 'member') =>
      conversation({
        kind: 'group',
        title: 'Team',
        members: [{ ...member(alice), role }, member(bob), member(carol)],
      });
    const { rerender } = renderChat({ conversation: group('member') });
    let items = within(await openMenu(user, 1)).getAllByRole('menuitem');
    expect(items.map((i) => i.getAttribute('aria-label'))).toEqual(['Reply']);
    await user.keyboard('{Escape}');
    rerender({ conversation: group('admin') });
    items = within(await openMenu(user, 1)).getAllByRole('menuitem');
    expect(items.map((i) => i.getAttribute('aria-label'))).toEqual([
      'Reply',
      'Delete for everyone',
    ]);
  });
});

describe('reactions', () => {
  it('picks from common emoji, toggles mine, and shows chips with counts and names', async () => {
    const user = userEvent.setup();
    const { props, rerender } = renderChat();
    await user.click(
      within(await openMenu(user, 1)).getByRole('menuitemradio', { name: 'React 😂' }),
    );
    expect(props.onReact).toHaveBeenCalledWith(1, '😂');

    rerender({
      messages: [
        chatMessage(1, bob.id, 'question?', at(1), {
          reactions: { '😂': [bob.id, alice.id], '👍': [carol.id] },
        }),
      ],
      conversation: conversation({ members: [member(alice), member(bob), member(carol)] }),
    });
    const chips = within(within(row(1)).getByRole('list', { name: 'Reactions' })).getAllByRole(
      'button',
    );
    expect(chips.map((c) => c.getAttribute('aria-label'))).toEqual([
      '😂 2: Bob Brown, You',
      '👍 1: Carol Chen',
    ]);
    expect(chips[0]).toHaveAttribute('aria-pressed', 'true');
    expect(chips[0]).toHaveAttribute('title', 'Bob Brown, You');
    // Clicking my own chip takes my reaction back; another chip replaces mine.
    await user.click(chips[0]!);
    expect(props.onReact).toHaveBeenLastCalledWith(1, null);
    await user.click(chips[1]!);
    expect(props.onReact).toHaveBeenLastCalledWith(1, '👍');
    // In the menu my current reaction is checked and removes it.
    const menu = await openMenu(user, 1);
    expect(within(menu).getByRole('menuitemradio', { name: 'Remove reaction 😂' })).toHaveAttribute(
      'aria-checked',
      'true',
    );
  });
});

describe('message info', () => {
  it('lists who it was delivered to and who read it, with times', async () => {
    const user = userEvent.setup();
    const receipts: Receipt[] = [
      { userId: bob.id, deliveredAt: at(3), readAt: at(4) },
      { userId: carol.id, deliveredAt: at(3), readAt: null },
    ];
    const onLoadReceipts = vi.fn(() => Promise.resolve(receipts));
    renderChat({
      onLoadReceipts,
      conversation: conversation({
        kind: 'group',
        members: [member(alice), member(bob), member(carol)],
      }),
    });
    await user.click(
      within(await openMenu(user, 2)).getByRole('menuitem', { name: 'Message info' }),
    );
    expect(onLoadReceipts).toHaveBeenCalledWith(2);
    const dialog = await screen.findByRole('dialog', { name: 'Message info' });
    const readBy = await within(dialog).findByRole('region', { name: 'Read by' });
    expect(readBy).toHaveTextContent('Bob Brown');
    expect(within(readBy).getByRole('time')).toHaveAttribute('dateTime', at(4));
    expect(within(dialog).getByRole('region', { name: 'Delivered to' })).toHaveTextContent(
      'Carol Chen',
    );
    await user.click(within(dialog).getByRole('button', { name: 'Close message info' }));
    expect(screen.queryByRole('dialog')).toBeNull();
  });

  it('is offered for my messages only', async () => {
    const user = userEvent.setup();
    renderChat();
    const menu = await openMenu(user, 1);
    expect(within(menu).queryByRole('menuitem', { name: 'Message info' })).toBeNull();
  });
});

describe('system messages and former members', () => {
  it('renders centred lines, naming people who left through lookupUser', async () => {
    const dave = { id: 'u-dave', username: 'dave', displayName: 'Dave Doe' };
    const lookupUser = vi.fn(() => Promise.resolve(dave));
    const system = (seq: number, event: NonNullable<Parameters<typeof chatMessage>[4]>['system']) =>
      chatMessage(seq, '', '', at(seq), { senderId: null, system: event });
    renderChat({
      lookupUser,
      conversation: conversation({
        kind: 'group',
        members: [member(alice), member(bob)],
      }),
      messages: [
        system(1, { kind: 'added', actorId: bob.id, userIds: [dave.id] }),
        chatMessage(2, dave.id, 'hi all', at(2)),
        system(3, { kind: 'left', actorId: dave.id, userIds: [dave.id] }),
        system(4, { kind: 'renamed', actorId: bob.id, userIds: [], title: 'Crew' }),
        system(5, { kind: 'promoted', actorId: null, userIds: [bob.id] }),
      ],
    });
    await act(async () => {});
    expect(lookupUser).toHaveBeenCalledTimes(1);
    const lines = [...document.querySelectorAll('.system-message')].map((l) => l.textContent);
    expect(lines).toEqual([
      'Bob Brown added Dave Doe',
      'Dave Doe left',
      'Bob Brown renamed the group to "Crew"',
      'Bob Brown is now an admin',
    ]);
    expect(row(2)).toHaveTextContent('Dave Doe');
  });
});

describe('group ticks', () => {
  it('turn read only when every other member read; members who joined later do not hold them back', () => {
    const msg = chatMessage(5, alice.id, 'x', at(1));
    // carol was added at seq 8: her positions start at 7, past this message.
    const group = [member(alice), member(bob, 5, 5), member(carol, 7, 7)];
    expect(tickOf(msg, group, alice.id)).toBe('read');
    const notYet = [member(alice), member(bob, 4, 5), member(carol, 7, 7)];
    expect(tickOf(msg, notYet, alice.id)).toBe('delivered');
    expect(
      describeSystem({ kind: 'promoted', actorId: null, userIds: [alice.id] }, () => '', alice.id),
    ).toBe('You are now an admin');
  });
});
