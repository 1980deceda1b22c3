// @vitest-environment jsdom
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { ChatMessage } from '../app/model';
import { ChatView } from './ChatView';
import type { ChatViewProps } from './ChatView';
import { alice, bob, carol, chatMessage, conversation, member } from '../testing/fixtures';

afterEach(cleanup);

// jsdom has no layout: give each message row a fixed height so scroll arithmetic can be checked.
const ROW = 50;
const VIEW = 500;
const saved = {
  scrollHeight: Object.getOwnPropertyDescriptor(HTMLElement.prototype, 'scrollHeight'),
  clientHeight: Object.getOwnPropertyDescriptor(HTMLElement.prototype, 'clientHeight'),
  scrollTop: Object.getOwnPropertyDescriptor(Element.prototype, 'scrollTop'),
};
const scrollTops = new WeakMap<Element, number>();
beforeAll(() => {
  Object.defineProperty(HTMLElement.prototype, 'scrollHeight', {
    configurable: true,
    get(this: HTMLElement) {
      return this.querySelectorAll('li').length * ROW;
    },
  });
  Object.defineProperty(HTMLElement.prototype, 'clientHeight', {
    configurable: true,
    get: () => VIEW,
  });
  Object.defineProperty(Element.prototype, 'scrollTop', {
    configurable: true,
    get(this: Element) {
      return scrollTops.get(this) ?? 0;
    },
    set(this: HTMLElement, value: number) {
      scrollTops.set(this, Math.max(0, Math.min(value, this.scrollHeight - VIEW)));
    },
  });
  Element.prototype.scrollTo = function (this: Element, options?: ScrollToOptions | number) {
    if (typeof options === 'object' && options.top !== undefined) this.scrollTop = options.top;
  } as Element['scrollTo'];
});
afterAll(() => {
  for (const [name, descriptor] of Object.entries(saved)) {
    const target = name === 'scrollTop' ? Element.prototype : HTMLElement.prototype;
    if (descriptor) Object.defineProperty(target, name, descriptor);
  }
});

const now = new Date('2026-03-10T15:00:00');
const at = (day: number, hour: number, minute = 0) =>
  new Date(2026, 2, day, hour, minute).toISOString();

function history(from: number, to: number): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (let seq = from; seq <= to; seq++) {
    out.push(chatMessage(seq, seq % 2 ? bob.id : alice.id, `message ${seq}`, at(10, 9, seq % 60)));
  }
  return out;
}

function renderChat(overrides: Partial<ChatViewProps> = {}) {
  const props: ChatViewProps = {
    conversation: conversation({
      title: 'Bob Brown',
      members: [member(alice), member(bob, 1, 2)],
    }),
    meId: alice.id,
    messages: [],
    hasMore: false,
    loadingOlder: false,
    presence: { [bob.id]: { online: false, lastSeenAt: at(10, 14, 2) } },
    typingUserIds: [],
    onLoadOlder: vi.fn(),
    onSend: vi.fn(),
    onTyping: vi.fn(),
    onSeen: vi.fn(),
    onBack: vi.fn(),
    now,
    ...overrides,
  };
  const view = render(<ChatView {...props} />);
  return {
    props,
    rerender: (next: Partial<ChatViewProps>) => view.rerender(<ChatView {...props} {...next} />),
  };
}

describe('ChatView', () => {
  it('draws mine and theirs, day separators and the tick each of my messages has earned', () => {
    renderChat({
      messages: [
        chatMessage(1, bob.id, 'hi from yesterday', at(9, 20)),
        chatMessage(2, alice.id, 'read one', at(10, 9)),
        chatMessage(3, alice.id, 'delivered one', at(10, 9, 1)),
        chatMessage(4, alice.id, 'sent one', at(10, 9, 2)),
        chatMessage(null, alice.id, 'pending one', at(10, 9, 3), { key: 'tmp', outbox: 'sending' }),
      ],
      conversation: conversation({ members: [member(alice), member(bob, 2, 3)] }),
    });
    const log = screen.getByRole('log', { name: 'Messages' });
    const rows = [...log.querySelectorAll('li')];
    expect(rows.map((r) => r.className.split(' ')[0])).toEqual([
      'day-separator',
      'message',
      'day-separator',
      'message',
      'message',
      'message',
      'message',
    ]);
    expect(rows[0]?.textContent).toBe('Yesterday');
    expect(rows[2]?.textContent).toBe('Today');
    expect(rows[1]?.classList.contains('theirs')).toBe(true);
    const tickOf = (text: string) =>
      within(screen.getByText(text).closest('li')!).getByRole('img').getAttribute('aria-label');
    expect(tickOf('read one')).toBe('Read');
    expect(tickOf('delivered one')).toBe('Delivered');
    expect(tickOf('sent one')).toBe('Sent');
    expect(tickOf('pending one')).toBe('Sending');
    expect(within(rows[1]!).queryByRole('img')).toBeNull();
  });

  it('renders message text as text and links as safe links', () => {
    renderChat({
      messages: [
        chatMessage(1, bob.id, '<script>x()</script> https://letter.example/x', at(10, 9)),
      ],
    });
    const log = screen.getByRole('log');
    expect(log.querySelector('script')).toBeNull();
    const link = within(log).getByRole('link');
    expect(link.getAttribute('href')).toBe('https://letter.example/x');
    expect(link.getAttribute('rel')).toBe('noopener noreferrer');
  });

  it('shows presence, then typing, in the header', () => {
    const { rerender } = renderChat();
    expect(screen.getByRole('heading', { name: 'Bob Brown' })).toBeTruthy();
    expect(screen.getByText(/^last seen today at/)).toBeTruthy();
    rerender({ presence: { [bob.id]: { online: true, lastSeenAt: null } } });
    expect(screen.getByText('online')).toBeTruthy();
    rerender({ typingUserIds: [bob.id] });
    expect(screen.getByText('typing…')).toBeTruthy();
  });

  it('names the sender in groups and who is typing', () => {
    renderChat({
      conversation: conversation({
        kind: 'group',
        title: 'Hiking',
        members: [member(alice), member(bob), member(carol)],
      }),
      messages: [
        chatMessage(1, bob.id, 'first', at(10, 9)),
        chatMessage(2, bob.id, 'second', at(10, 9, 1)),
        chatMessage(3, carol.id, 'third', at(10, 9, 2)),
      ],
      typingUserIds: [carol.id],
    });
    expect(screen.getAllByText('Bob Brown', { selector: '.sender' })).toHaveLength(1);
    expect(screen.getByText('Carol Chen', { selector: '.sender' })).toBeTruthy();
    expect(screen.getByText('Carol Chen is typing…')).toBeTruthy();
  });

  it('keeps the reader on the same message when an older page is prepended', () => {
    const onLoadOlder = vi.fn();
    const { rerender } = renderChat({ messages: history(51, 100), hasMore: true, onLoadOlder });
    const log = screen.getByRole('log');
    // Opens at the bottom.
    expect(log.scrollTop).toBe(log.scrollHeight - VIEW);
    // Scrolling near the top asks for the previous page.
    log.scrollTop = 100;
    fireEvent.scroll(log);
    expect(onLoadOlder).toHaveBeenCalled();
    const anchor = screen.getByText('message 51').closest('li')!;
    const offsetBefore = rowTop(log, anchor) - log.scrollTop;
    rerender({ messages: history(1, 100), hasMore: false });
    const offsetAfter = rowTop(log, screen.getByText('message 51').closest('li')!) - log.scrollTop;
    expect(offsetAfter).toBe(offsetBefore);
  });

  it('follows new messages at the bottom, but offers a jump button when scrolled up', async () => {
    const user = userEvent.setup();
    const { rerender } = renderChat({ messages: history(1, 40) });
    const log = screen.getByRole('log');
    rerender({ messages: history(1, 41) });
    expect(log.scrollTop).toBe(log.scrollHeight - VIEW);
    expect(screen.queryByRole('button', { name: /jump to latest/i })).toBeNull();

    log.scrollTop = 200;
    fireEvent.scroll(log);
    rerender({ messages: history(1, 43) });
    expect(log.scrollTop).toBe(200);
    // 42 is mine (even), 43 is Bob's: one new message from the other side.
    const jump = screen.getByRole('button', { name: '1 new message, jump to latest' });
    await user.click(jump);
    expect(log.scrollTop).toBe(log.scrollHeight - VIEW);
    await act(async () => fireEvent.scroll(log));
    expect(screen.queryByRole('button', { name: /jump to latest/i })).toBeNull();
  });

  it('reports the newest message as seen while at the bottom', () => {
    const onSeen = vi.fn();
    const { rerender } = renderChat({ messages: history(1, 5), onSeen });
    expect(onSeen).toHaveBeenLastCalledWith(5);
    rerender({ messages: history(1, 6), onSeen });
    expect(onSeen).toHaveBeenLastCalledWith(6);
  });

  it('sends from the composer', async () => {
    const user = userEvent.setup();
    const { props } = renderChat();
    await user.type(screen.getByRole('textbox', { name: 'Message' }), 'hello{Enter}');
    expect(props.onSend).toHaveBeenCalledWith('hello', null);
  });
});

function rowTop(log: HTMLElement, row: Element): number {
  return [...log.querySelectorAll('li')].indexOf(row as HTMLLIElement) * ROW;
}
