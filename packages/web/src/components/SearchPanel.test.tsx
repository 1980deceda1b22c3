// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { SearchResult } from '@letter/protocol';
import { SearchPanel } from './SearchPanel';
import { snippetParts } from '../lib/highlight';
import { alice, bob, conversation, member, message } from '../testing/fixtures';

afterEach(cleanup);

const chat = conversation({ id: 'c-1', title: 'Bob Brown', members: [member(alice), member(bob)] });

function result(
  seq: number,
  senderId: string,
  snippet: string,
  highlights: SearchResult['highlights'],
) {
  return {
    message: { ...message(seq, senderId, snippet, '2026-03-10T14:00:00.000Z') },
    conversationId: 'c-1',
    snippet,
    highlights,
  };
}

describe('snippetParts', () => {
  it('cuts text into plain and marked runs, tolerating bad ranges', () => {
    expect(snippetParts('meet at the Café', [{ start: 12, length: 4 }])).toEqual([
      { text: 'meet at the ', marked: false },
      { text: 'Café', marked: true },
    ]);
    // Out of order, overlapping and out of range: no text is lost or doubled.
    const parts = snippetParts('abcdef', [
      { start: 4, length: 9 },
      { start: 0, length: 2 },
      { start: 1, length: 2 },
    ]);
    expect(parts.map((p) => p.text).join('')).toBe('abcdef');
    expect(parts.filter((p) => p.marked).map((p) => p.text)).toEqual(['ab', 'c', 'ef']);
  });
});

describe('SearchPanel', () => {
  it('lists results with chat, sender, time and marked matches, and opens one', async () => {
    const user = userEvent.setup();
    const onSearch = vi.fn(() =>
      Promise.resolve([result(4, bob.id, 'see you at the café', [{ start: 15, length: 4 }])]),
    );
    const onOpen = vi.fn();
    render(
      <SearchPanel conversations={[chat]} meId={alice.id} onSearch={onSearch} onOpen={onOpen} />,
    );
    await user.type(screen.getByRole('searchbox', { name: 'Search messages' }), 'cafe');
    const list = await screen.findByRole('list', { name: 'Search results' });
    expect(onSearch).toHaveBeenLastCalledWith('cafe');
    const item = within(list).getByRole('button');
    expect(item?.textContent).toContain('Bob Brown');
    expect(item?.textContent).toContain('Bob Brown: see you at the café');
    expect([...item.querySelectorAll('mark')].map((m) => m.textContent)).toEqual(['café']);
    await user.click(item);
    expect(onOpen).toHaveBeenCalledWith('c-1', 4);
  });

  it('renders a snippet as text: markup in a message never becomes HTML', async () => {
    const user = userEvent.setup();
    const evil = '<img src=x onerror="alert(1)"> <b>hi</b>';
    const onSearch = vi.fn(() =>
      Promise.resolve([result(1, alice.id, evil, [{ start: evil.indexOf('hi'), length: 2 }])]),
    );
    const { container } = render(
      <SearchPanel conversations={[chat]} meId={alice.id} onSearch={onSearch} onOpen={vi.fn()} />,
    );
    await user.type(screen.getByRole('searchbox', { name: 'Search messages' }), 'hi');
    const list = await screen.findByRole('list', { name: 'Search results' });
    expect(container.querySelector('img')).toBeNull();
    expect(container.querySelector('b')).toBeNull();
    expect(list.textContent).toContain(`You: ${evil}`);
    expect(list.querySelector('mark')?.textContent).toBe('hi');
  });

  it('says when nothing matched', async () => {
    const user = userEvent.setup();
    render(
      <SearchPanel
        conversations={[chat]}
        meId={alice.id}
        onSearch={() => Promise.resolve([])}
        onOpen={vi.fn()}
      />,
    );
    await user.type(screen.getByRole('searchbox', { name: 'Search messages' }), 'zzz');
    expect(await screen.findByText('No messages found.')).toBeTruthy();
  });
});
