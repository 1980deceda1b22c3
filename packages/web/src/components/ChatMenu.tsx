import { createContext, useEffect, useRef, useState } from 'react';
import type { Conversation } from '@letter/protocol';

/**
 * What the chat header can do beyond showing the chat. Provided by Messenger through context
 * rather than props so ChatView (which renders the header) need not pass them along.
 */
export interface ChatHeaderActions {
  onOpenInfo: (conversationId: string) => void;
  onSetSettings: (
    conversationId: string,
    settings: { muted?: boolean; archived?: boolean },
  ) => void;
}

export const ChatHeaderActionsContext = createContext<ChatHeaderActions | null>(null);

/** The header's ⋮ menu: info, mute, archive. Escape or a click elsewhere closes it. */
export function ChatMenu({
  conversation,
  actions,
}: {
  conversation: Conversation;
  actions: ChatHeaderActions;
}) {
  const [open, setOpen] = useState(false);
  const trigger = useRef<HTMLButtonElement>(null);
  const menu = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!open) return;
    menu.current?.querySelector<HTMLButtonElement>('[role="menuitem"]')?.focus();
    const onDown = (event: PointerEvent) => {
      const target = event.target as Node | null;
      if (!menu.current?.contains(target) && !trigger.current?.contains(target)) setOpen(false);
    };
    document.addEventListener('pointerdown', onDown);
    return () => document.removeEventListener('pointerdown', onDown);
  }, [open]);

  const close = () => {
    setOpen(false);
    trigger.current?.focus();
  };
  const pick = (action: () => void) => () => {
    close();
    action();
  };
  const id = conversation.id;
  const items = [
    {
      label: conversation.kind === 'group' ? 'Group info' : 'Contact info',
      run: () => actions.onOpenInfo(id),
    },
    {
      label: conversation.muted ? 'Unmute' : 'Mute',
      run: () => actions.onSetSettings(id, { muted: !conversation.muted }),
    },
    {
      label: conversation.archived ? 'Unarchive chat' : 'Archive chat',
      run: () => actions.onSetSettings(id, { archived: !conversation.archived }),
    },
  ];

  return (
    <div className="chat-menu">
      <button
        ref={trigger}
        type="button"
        className="icon-button"
        aria-label="Chat menu"
        aria-haspopup="menu"
        aria-expanded={open}
        onClick={() => setOpen(!open)}
      >
        <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
          <circle cx="12" cy="5.5" r="1.8" fill="currentColor" />
          <circle cx="12" cy="12" r="1.8" fill="currentColor" />
          <circle cx="12" cy="18.5" r="1.8" fill="currentColor" />
        </svg>
      </button>
      {open && (
        <div
          ref={menu}
          className="menu"
          role="menu"
          aria-label="Chat menu"
          onKeyDown={(event) => {
            // Arrow keys move between items, as in any menu; Escape returns to the trigger.
            const buttons = [
              ...(menu.current?.querySelectorAll<HTMLButtonElement>('[role="menuitem"]') ?? []),
            ];
            const at = buttons.indexOf(document.activeElement as HTMLButtonElement);
            if (event.key === 'Escape') {
              event.stopPropagation();
              close();
            } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
              event.preventDefault();
              const step = event.key === 'ArrowDown' ? 1 : -1;
              buttons[(at + step + buttons.length) % buttons.length]?.focus();
            }
          }}
        >
          {items.map((item) => (
            <button key={item.label} type="button" role="menuitem" onClick={pick(item.run)}>
              {item.label}
            </button>
          ))}
        </div>
      )}
    </div>
  );
}
