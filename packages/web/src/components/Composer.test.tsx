// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { Composer } from './Composer';

afterEach(cleanup);

function setup(props: Partial<Parameters<typeof Composer>[0]> = {}) {
  const onSend = vi.fn();
  const onTyping = vi.fn();
  render(<Composer onSend={onSend} onTyping={onTyping} {...props} />);
  const input = screen.getByRole('textbox', { name: 'Message' }) as HTMLTextAreaElement;
  return { onSend, onTyping, input, user: userEvent.setup() };
}

describe('Composer', () => {
  it('sends on Enter, trims, and clears', async () => {
    const { onSend, input, user } = setup();
    await user.type(input, '  hello there  {Enter}');
    expect(onSend).toHaveBeenCalledExactlyOnceWith('hello there');
    expect(input.value).toBe('');
  });

  it('makes a new line on Shift+Enter', async () => {
    const { onSend, input, user } = setup();
    await user.type(input, 'line one{Shift>}{Enter}{/Shift}line two');
    expect(onSend).not.toHaveBeenCalled();
    expect(input.value).toBe('line one\nline two');
    await user.click(screen.getByRole('button', { name: 'Send' }));
    expect(onSend).toHaveBeenCalledWith('line one\nline two');
  });

  it('does not send blank text, and the send button is disabled while empty', async () => {
    const { onSend, input, user } = setup();
    const send = screen.getByRole('button', { name: 'Send' }) as HTMLButtonElement;
    expect(send.disabled).toBe(true);
    await user.type(input, '   {Enter}');
    expect(onSend).not.toHaveBeenCalled();
    expect(send.disabled).toBe(true);
  });

  it('reports typing at most once per two seconds', async () => {
    const { onTyping, input, user } = setup();
    await user.type(input, 'abcdef');
    expect(onTyping).toHaveBeenCalledTimes(1);
  });

  it('starts from a saved draft and reports edits', async () => {
    const onDraftChange = vi.fn();
    const { input, user } = setup({ draft: 'half a thought', onDraftChange });
    expect(input.value).toBe('half a thought');
    await user.type(input, '!');
    expect(onDraftChange).toHaveBeenLastCalledWith('half a thought!');
  });
});
