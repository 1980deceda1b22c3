/**
 * The `@` member picker of a group's composer. Typing `@` (at the start or after a space) opens
 * a list of the group's members matching what follows; ↑/↓ move, Enter or Tab insert
 * `@username `, Esc closes, and a click picks. The server resolves `@username` to
 * `message.mentions` when the message is sent.
 */
import { useId, useLayoutEffect, useRef, useState } from 'react';
import type { KeyboardEvent, ReactNode, RefObject, SyntheticEvent } from 'react';
import type { User } from '@letter/protocol';
import { Avatar } from './Avatar';

/** The `@word` being typed just before the caret, or null. Usernames are [a-z0-9_.]. */
export function mentionAt(text: string, caret: number): { start: number; query: string } | null {
  const match = /(^|[^A-Za-z0-9_.@])@([A-Za-z0-9_.]{0,64})$/.exec(text.slice(0, caret));
  if (!match) return null;
  return { start: caret - match[2]!.length - 1, query: match[2]! };
}

const SHOWN = 6;

/** Members whose username or name starts with the query (then contains it), at most six. */
export function matchMembers(members: readonly User[], query: string): User[] {
  const q = query.toLowerCase();
  const starts = (u: User) =>
    u.username.toLowerCase().startsWith(q) ||
    u.displayName
      .toLowerCase()
      .split(/\s+/)
      .some((word) => word.startsWith(q));
  const first = members.filter(starts);
  const rest = members.filter(
    (u) =>
      !starts(u) &&
      (u.username.toLowerCase().includes(q) || u.displayName.toLowerCase().includes(q)),
  );
  return [...first, ...rest].slice(0, SHOWN);
}

export interface MentionPickerState {
  /** The list, or null while closed. */
  picker: ReactNode;
  /** Call first in the input's keydown; true when the picker took the key. */
  onKeyDown: (event: KeyboardEvent<HTMLTextAreaElement>) => boolean;
  /**
   * Spread onto the textarea: caret tracking and the list's ARIA. The textarea keeps its
   * textbox role (a textarea may not be a combobox); `aria-activedescendant` names the option.
   */
  inputProps: {
    onSelect: (event: SyntheticEvent<HTMLTextAreaElement>) => void;
    'aria-controls'?: string;
    'aria-activedescendant'?: string;
    'aria-autocomplete'?: 'list';
  };
}

/**
 * The picker's state for a composer: `members` (null outside groups: no picker), the text and
 * its setter, and the input (for the caret).
 */
export function useMentionPicker(
  members: readonly User[] | undefined,
  text: string,
  setText: (next: string) => void,
  input: RefObject<HTMLTextAreaElement | null>,
): MentionPickerState {
  const id = useId();
  const [caret, setCaret] = useState(0);
  const [active, setActive] = useState(0);
  // Esc closes the picker until the @word changes.
  const [dismissed, setDismissed] = useState<string | null>(null);
  const at = members ? mentionAt(text, Math.min(caret, text.length)) : null;
  const key = at ? `${at.start}:${at.query}` : null;
  const matches = at && members ? matchMembers(members, at.query) : [];
  const open = at !== null && matches.length > 0 && dismissed !== key;
  const current = Math.min(active, Math.max(0, matches.length - 1));
  // Where the caret goes once React has written the picked name into the textarea.
  const placeCaret = useRef<number | null>(null);
  useLayoutEffect(() => {
    const position = placeCaret.current;
    const element = input.current;
    if (position === null || !element) return;
    placeCaret.current = null;
    element.focus();
    element.setSelectionRange(position, position);
  });

  function pick(user: User) {
    if (!at) return;
    const end = at.start + 1 + at.query.length;
    const inserted = `@${user.username} `;
    const next = text.slice(0, at.start) + inserted + text.slice(end);
    setText(next);
    const position = at.start + inserted.length;
    setCaret(position);
    setActive(0);
    placeCaret.current = position;
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>): boolean {
    if (!open || event.nativeEvent.isComposing) return false;
    switch (event.key) {
      case 'ArrowDown':
        setActive((current + 1) % matches.length);
        break;
      case 'ArrowUp':
        setActive((current - 1 + matches.length) % matches.length);
        break;
      case 'Enter':
      case 'Tab':
        if (event.shiftKey) return false;
        pick(matches[current]!);
        break;
      case 'Escape':
        setDismissed(key);
        break;
      default:
        return false;
    }
    event.preventDefault();
    return true;
  }

  const optionId = (index: number) => `${id}-option-${index}`;
  const inputProps: MentionPickerState['inputProps'] = {
    onSelect: (event) => {
      const position = event.currentTarget.selectionStart;
      if (position !== caret) {
        setCaret(position);
        setActive(0);
      }
    },
  };
  if (members) inputProps['aria-autocomplete'] = 'list';
  if (open) {
    inputProps['aria-controls'] = `${id}-list`;
    inputProps['aria-activedescendant'] = optionId(current);
  }

  const picker = open ? (
    <ul className="mention-picker" id={`${id}-list`} role="listbox" aria-label="Mention a member">
      {matches.map((user, index) => (
        <li
          key={user.id}
          id={optionId(index)}
          role="option"
          aria-selected={index === current}
          className={index === current ? 'active' : undefined}
          // mousedown, not click: the textarea keeps its focus and caret.
          onMouseDown={(event) => {
            event.preventDefault();
            pick(user);
          }}
          onMouseEnter={() => setActive(index)}
        >
          <Avatar name={user.displayName} colorKey={user.id} size="small" />
          <span className="mention-name">{user.displayName}</span>
          <span className="mention-username">@{user.username}</span>
        </li>
      ))}
    </ul>
  ) : null;
  return { picker, onKeyDown, inputProps };
}
