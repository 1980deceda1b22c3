// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { Composer } from './Composer';
import { matchMembers, mentionAt } from './MentionPicker';
import { Mentioned } from '../lib/mentions';

afterEach(cleanup);

const amy = { id: 'u-amy', username: 'amy', displayName: 'Amy Pond' };
const rory = { id: 'u-rory', username: 'rory.w', displayName: 'Rory Williams' };
const ada = { id: 'u-ada', username: 'lovelace', displayName: 'Ada Lovelace' };

function setup() {
  const onSend = vi.fn();
  render(<Composer onSend={onSend} mentionCandidates={[amy, rory, ada]} />);
  const input = screen.getByRole('textbox', { name: 'Message' }) as HTMLTextAreaElement;
  return { onSend, input, user: userEvent.setup() };
}

const options = () => screen.queryAllByRole('option').map((o) => o.textContent);

describe('mention picker', () => {
  it('finds the @word before the caret, only at a word start', () => {
    expect(mentionAt('hi @am', 6)).toEqual({ start: 3, query: 'am' });
    expect(mentionAt('@', 1)).toEqual({ start: 0, query: '' });
    expect(mentionAt('mail me@home', 12)).toBeNull();
    expect(mentionAt('hi @am there', 12)).toBeNull();
    expect(matchMembers([amy, rory, ada], 'l').map((u) => u.id)).toEqual(['u-ada', 'u-rory']);
    expect(matchMembers([amy, rory, ada], 'w').map((u) => u.id)).toEqual(['u-rory']);
  });

  it('opens on @, filters, moves with the arrows and inserts @username with Enter', async () => {
    const { onSend, input, user } = setup();
    await user.type(input, 'hello @');
    expect(options()).toHaveLength(3);
    await user.type(input, 'r');
    expect(options()).toEqual(['RWRory Williams@rory.w']);
    await user.keyboard('{Backspace}');
    await user.keyboard('{ArrowDown}{ArrowDown}');
    const active = screen
      .getAllByRole('option')
      .find((o) => o.getAttribute('aria-selected') === 'true');
    expect(active?.textContent).toContain('@lovelace');
    expect(input.getAttribute('aria-activedescendant')).toBe(active?.id);
    await user.keyboard('{Enter}');
    expect(input.value).toBe('hello @lovelace ');
    expect(options()).toEqual([]);
    expect(onSend).not.toHaveBeenCalled();
    await user.keyboard('hi{Enter}');
    expect(onSend).toHaveBeenCalledWith('hello @lovelace hi');
  });

  it('takes Tab and a click, and closes on Esc without sending', async () => {
    const { onSend, input, user } = setup();
    await user.type(input, '@a');
    await user.keyboard('{Tab}');
    expect(input.value).toBe('@amy ');
    await user.type(input, 'and @');
    await user.keyboard('{Escape}');
    expect(options()).toEqual([]);
    await user.type(input, 'r');
    await user.pointer({ target: screen.getByRole('option'), keys: '[MouseLeft]' });
    expect(input.value).toBe('@amy and @rory.w ');
    expect(onSend).not.toHaveBeenCalled();
  });

  it('has no picker outside groups', async () => {
    const onSend = vi.fn();
    render(<Composer onSend={onSend} />);
    await userEvent.setup().type(screen.getByRole('textbox', { name: 'Message' }), '@a');
    expect(options()).toEqual([]);
  });

  it('marks mentions in text, the reader’s own apart, never inside a link', () => {
    const { container } = render(
      <p>
        <Mentioned
          text="@Amy and @rory.w. see https://x.example/@amy or @nobody"
          names={new Set(['amy', 'rory.w'])}
          me="amy"
        />
      </p>,
    );
    const marked = [...container.querySelectorAll('.mention')].map((m) => [
      m.textContent,
      m.classList.contains('mention-me'),
    ]);
    expect(marked).toEqual([
      ['@Amy', true],
      ['@rory.w', false],
    ]);
    expect(container.querySelector('a')?.textContent).toBe('https://x.example/@amy');
    expect(container.textContent).toBe('@Amy and @rory.w. see https://x.example/@amy or @nobody');
  });
});
