import { useContext } from 'react';
import type { Conversation } from '@letter/protocol';
import type { Presence } from '../app/model';
import { peerOf } from '../app/model';
import { formatPresence } from '../lib/format';
import { Avatar } from './Avatar';
import { MutedIcon } from './ChatList';
import { ChatHeaderActionsContext, ChatMenu } from './ChatMenu';

export interface ChatHeaderProps {
  conversation: Conversation;
  meId: string;
  /** Presence of the other person in a direct chat. */
  peerPresence: Presence | undefined;
  typingUserIds: readonly string[];
  onBack: () => void;
  now?: Date | undefined;
}

export function ChatHeader({
  conversation,
  meId,
  peerPresence,
  typingUserIds,
  onBack,
  now,
}: ChatHeaderProps) {
  const peer = conversation.kind === 'direct' ? peerOf(conversation.members, meId) : undefined;
  const nameOf = (id: string) =>
    conversation.members.find((m) => m.user.id === id)?.user.displayName ?? 'Someone';
  const typers = typingUserIds.filter((id) => id !== meId);
  const actions = useContext(ChatHeaderActionsContext);

  let status: string;
  if (typers.length > 0) {
    status =
      conversation.kind === 'direct'
        ? 'typing…'
        : `${typers.map(nameOf).join(', ')} ${typers.length > 1 ? 'are' : 'is'} typing…`;
  } else if (peer) {
    status = peerPresence ? formatPresence(peerPresence.online, peerPresence.lastSeenAt, now) : '';
  } else {
    // Members by name, with "You" last, as WhatsApp lists them.
    const others = conversation.members
      .filter((m) => m.user.id !== meId)
      .map((m) => m.user.displayName)
      .sort((a, b) => a.localeCompare(b));
    status = [...others, 'You'].join(', ');
  }

  return (
    <header className="chat-header">
      <button
        type="button"
        className="icon-button back-button"
        aria-label="Back to chats"
        onClick={onBack}
      >
        <svg viewBox="0 0 24 24" width="24" height="24" aria-hidden="true">
          <path d="M15 5l-7 7 7 7" fill="none" stroke="currentColor" strokeWidth="2" />
        </svg>
      </button>
      <Avatar name={conversation.title} colorKey={peer?.id ?? conversation.id} />
      <div
        className={`chat-header-text${actions ? ' clickable' : ''}`}
        // A shortcut for the pointer; the menu offers the same to the keyboard.
        onClick={actions ? () => actions.onOpenInfo(conversation.id) : undefined}
      >
        <h2 className="chat-title">
          {conversation.title}
          {conversation.muted && <MutedIcon />}
        </h2>
        <p className={`chat-status${typers.length > 0 ? ' typing-text' : ''}`} aria-live="polite">
          {status}
        </p>
      </div>
      {actions && <ChatMenu conversation={conversation} actions={actions} />}
    </header>
  );
}
