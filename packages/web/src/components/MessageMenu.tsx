import { useEffect, useId, useRef, useState } from 'react';
import type { KeyboardEvent } from 'react';
import { COMMON_EMOJI } from './ReactionBar';

export interface MessageMenuProps {
  /** Who wrote it, for the button's label. */
  label: string;
  /** My current reaction on the message, if any. */
  myReaction: string | null;
  canReact: boolean;
  canEdit: boolean;
  canDelete: boolean;
  canInfo: boolean;
  onReply?: (() => void) | undefined;
  onReact?: ((emoji: string | null) => void) | undefined;
  onEdit?: (() => void) | undefined;
  onDelete?: (() => void) | undefined;
  onInfo?: (() => void) | undefined;
}

interface Item {
  key: string;
  label: string;
  text: string;
  checked?: boolean;
  run: () => void;
}

/**
 * The actions of one message behind a labelled button: reactions, reply, edit, delete, info.
 * A WAI-ARIA menu: arrow keys move, Home/End jump, Enter or Space activates, Esc closes and
 * gives the focus back to the button.
 */
export function MessageMenu(props: MessageMenuProps) {
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const buttonRef = useRef<HTMLButtonElement>(null);
  const itemsRef = useRef<(HTMLButtonElement | null)[]>([]);
  const menuId = useId();

  const items: Item[] = [];
  if (props.canReact && props.onReact) {
    for (const emoji of COMMON_EMOJI) {
      const mine = props.myReaction === emoji;
      items.push({
        key: emoji,
        label: mine ? `Remove reaction ${emoji}` : `React ${emoji}`,
        text: emoji,
        checked: mine,
        run: () => props.onReact?.(mine ? null : emoji),
      });
    }
  }
  if (props.onReply)
    items.push({ key: 'reply', label: 'Reply', text: 'Reply', run: props.onReply });
  if (props.canEdit && props.onEdit)
    items.push({ key: 'edit', label: 'Edit', text: 'Edit', run: props.onEdit });
  if (props.canInfo && props.onInfo)
    items.push({ key: 'info', label: 'Message info', text: 'Info', run: props.onInfo });
  if (props.canDelete && props.onDelete)
    items.push({
      key: 'delete',
      label: 'Delete for everyone',
      text: 'Delete',
      run: props.onDelete,
    });

  useEffect(() => {
    if (open) itemsRef.current[active]?.focus();
  }, [open, active]);

  useEffect(() => {
    if (!open) return;
    const onPointer = (event: PointerEvent) => {
      const menu = document.getElementById(menuId);
      if (menu && !menu.contains(event.target as Node) && event.target !== buttonRef.current) {
        setOpen(false);
      }
    };
    document.addEventListener('pointerdown', onPointer);
    return () => document.removeEventListener('pointerdown', onPointer);
  }, [open, menuId]);

  if (items.length === 0) return null;

  function close(refocus: boolean) {
    setOpen(false);
    if (refocus) buttonRef.current?.focus();
  }

  function onMenuKey(event: KeyboardEvent<HTMLDivElement>) {
    const last = items.length - 1;
    const moves: Record<string, number> = {
      ArrowDown: active === last ? 0 : active + 1,
      ArrowRight: active === last ? 0 : active + 1,
      ArrowUp: active === 0 ? last : active - 1,
      ArrowLeft: active === 0 ? last : active - 1,
      Home: 0,
      End: last,
    };
    if (event.key in moves) {
      event.preventDefault();
      setActive(moves[event.key]!);
    } else if (event.key === 'Escape' || event.key === 'Tab') {
      if (event.key === 'Escape') event.preventDefault();
      close(event.key === 'Escape');
    }
  }

  return (
    <div className="message-menu">
      <button
        ref={buttonRef}
        type="button"
        className="icon-button message-menu-button"
        aria-label={`Message actions: ${props.label}`}
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? menuId : undefined}
        onClick={() => {
          setActive(0);
          setOpen((o) => !o);
        }}
        onKeyDown={(event) => {
          if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
            event.preventDefault();
            setActive(event.key === 'ArrowDown' ? 0 : items.length - 1);
            setOpen(true);
          }
        }}
      >
        <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
          <path d="M6 9l6 6 6-6" fill="none" stroke="currentColor" strokeWidth="2" />
        </svg>
      </button>
      {open && (
        <div
          id={menuId}
          role="menu"
          aria-label="Message actions"
          className="message-menu-list"
          onKeyDown={onMenuKey}
        >
          {items.map((item, index) => (
            <button
              key={item.key}
              ref={(node) => {
                itemsRef.current[index] = node;
              }}
              type="button"
              role={item.checked === undefined ? 'menuitem' : 'menuitemradio'}
              aria-checked={item.checked}
              aria-label={item.label}
              tabIndex={index === active ? 0 : -1}
              className={`message-menu-item${item.checked !== undefined ? ' emoji' : ''}${item.checked ? ' checked' : ''}`}
              onClick={() => {
                close(true);
                item.run();
              }}
            >
              {item.text}
            </button>
          ))}
        </div>
      )}
    </div>
  );
}
