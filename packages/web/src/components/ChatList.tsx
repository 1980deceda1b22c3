import { useState } from 'react';
import type { Conversation, Message } from '@letter/protocol';
import type { Presence } from '../app/model';
import { describeSystem, peerOf, tickOf } from '../app/model';
import { attachmentPreview } from '../app/attachments';
import { formatListTime } from '../lib/format';
import { Avatar } from './Avatar';
import { Ticks } from './Ticks';

export interface ChatListProps {
  conversations: readonly Conversation[];
  meId: string;
  /** Presence by user id; missing means offline and unknown. */
  presence: Readonly<Record<string, Presence>>;
  /** User ids typing now, by conversation id. */
  typing: Readonly<Record<string, readonly string[]>>;
  selectedId: string | null;
  onSelect: (conversationId: string) => void;
  /** Show the archived chats instead of the main list. */
  archived?: boolean | undefined;
  /** Opens the archived view from the "Archived (n)" row of the main list. */
  onShowArchived?: (() => void) | undefined;
  now?: Date;
}

/** Latest activity first; the server already orders so, but live events reorder locally. */
export function byLatestActivity(a: Conversation, b: Conversation): number {
  const at = (c: Conversation) => c.lastMessage?.createdAt ?? c.lastActivityAt ?? c.createdAt;
  return at(b).localeCompare(at(a));
}

export function ChatList(props: ChatListProps) {
  const { meId, selectedId, onSelect, archived = false, onShowArchived } = props;
  const [filter, setFilter] = useState('');
  const needle = filter.trim().toLowerCase();
  // Archived chats live in their own view; the server (and the sdk, live) un-archive a chat
  // when someone else writes, so this only renders the flag.
  const conversations = props.conversations.filter((c) => c.archived === archived);
  const archivedCount = archived ? 0 : props.conversations.length - conversations.length;
  const shown = [...conversations]
    .sort(byLatestActivity)
    .filter((c) => !needle || c.title.toLowerCase().includes(needle));

  return (
    <div className="chat-list">
      <div className="chat-list-filter">
        <input
          type="search"
          placeholder="Search chats"
          aria-label="Search chats"
          value={filter}
          onChange={(e) => setFilter(e.target.value)}
        />
      </div>
      {archivedCount > 0 && onShowArchived && (
        <button type="button" className="archived-row" onClick={onShowArchived}>
          <ArchiveIcon />
          <span>Archived ({archivedCount})</span>
        </button>
      )}
      {conversations.length === 0 ? (
        <p className="empty-hint">
          {archived ? 'No archived chats.' : 'No chats yet. Start one with the new chat button.'}
        </p>
      ) : shown.length === 0 ? (
        <p className="empty-hint">No chats match “{filter}”.</p>
      ) : (
        <ul className="chat-list-items" aria-label="Chats">
          {shown.map((conversation) => (
            <li key={conversation.id}>
              <ChatListItem
                {...props}
                conversation={conversation}
                selected={conversation.id === selectedId}
                onSelect={onSelect}
                meId={meId}
              />
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

interface ItemProps extends ChatListProps {
  conversation: Conversation;
  selected: boolean;
}

function ChatListItem({
  conversation,
  selected,
  onSelect,
  meId,
  presence,
  typing,
  now,
}: ItemProps) {
  const peer = conversation.kind === 'direct' ? peerOf(conversation.members, meId) : undefined;
  const online = peer ? (presence[peer.id]?.online ?? false) : false;
  const typers = (typing[conversation.id] ?? []).filter((id) => id !== meId);
  const last = conversation.lastMessage;
  const time = last?.createdAt ?? conversation.lastActivityAt ?? conversation.createdAt;
  const unread = conversation.unreadCount;
  const muted = conversation.muted;
  const nameOf = (id: string) =>
    conversation.members.find((m) => m.user.id === id)?.user.displayName ?? 'Someone';

  return (
    <button
      type="button"
      className={`chat-list-item${selected ? ' selected' : ''}${unread > 0 ? ' has-unread' : ''}`}
      aria-current={selected ? 'true' : undefined}
      onClick={() => onSelect(conversation.id)}
    >
      <Avatar name={conversation.title} colorKey={peer?.id ?? conversation.id} online={online} />
      <span className="chat-list-text">
        <span className="chat-list-row">
          <span className="chat-list-title">{conversation.title}</span>
          <time className="chat-list-time" dateTime={time}>
            {formatListTime(time, now)}
          </time>
        </span>
        <span className="chat-list-row">
          <span className="chat-list-preview">
            {typers.length > 0 ? (
              <span className="typing-text">
                {conversation.kind === 'group'
                  ? `${nameOf(typers[0] ?? '')} is typing…`
                  : 'typing…'}
              </span>
            ) : last ? (
              <Preview conversation={conversation} message={last} meId={meId} nameOf={nameOf} />
            ) : (
              <span className="muted">No messages yet</span>
            )}
          </span>
          {online && <span className="visually-hidden">, online</span>}
          {muted && <MutedIcon />}
          {(conversation.unreadMentions ?? 0) > 0 && (
            <span
              className="unread-badge mention-badge"
              role="img"
              aria-label={`${conversation.unreadMentions} unread mention${conversation.unreadMentions === 1 ? '' : 's'}`}
            >
              @
            </span>
          )}
          {unread > 0 && (
            <span
              className={`unread-badge${muted ? ' muted-badge' : ''}`}
              role="img"
              aria-label={`${unread} unread`}
            >
              {unread > 999 ? '999+' : unread}
            </span>
          )}
        </span>
      </span>
    </button>
  );
}

interface PreviewProps {
  conversation: Conversation;
  message: Message;
  meId: string;
  nameOf: (id: string) => string;
}

function Preview({ conversation, message, meId, nameOf }: PreviewProps) {
  if (message.system) return <>{describeSystem(message.system, nameOf, meId)}</>;
  const mine = message.senderId === meId;
  const body = message.deletedAt ? (
    <em className="muted">This message was deleted</em>
  ) : (
    (attachmentPreview(message.attachments, message.body) ?? message.body.split('\n', 1)[0])
  );
  const tick = mine
    ? tickOf(
        {
          key: message.id,
          seq: message.seq,
          senderId: message.senderId,
          body: message.body,
          createdAt: message.createdAt,
          editedAt: message.editedAt,
          deletedAt: message.deletedAt,
        },
        conversation.members,
        meId,
      )
    : null;
  const prefix =
    !mine && conversation.kind === 'group' && message.senderId
      ? `${nameOf(message.senderId)}: `
      : '';
  return (
    <>
      {tick && <Ticks tick={tick} />}
      {prefix}
      {body}
    </>
  );
}

export function MutedIcon() {
  return (
    <span className="muted-icon" role="img" aria-label="muted" title="Muted">
      <svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true">
        <path
          d="M11 5L6.5 9H3v6h3.5l4.5 4zM16 9.5l5 5M21 9.5l-5 5"
          fill="none"
          stroke="currentColor"
          strokeWidth="1.8"
        />
      </svg>
    </span>
  );
}

function ArchiveIcon() {
  return (
    <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
      <path
        d="M3.5 4.5h17v4h-17zM5 8.5v11h14v-11M9.5 12.5h5"
        fill="none"
        stroke="currentColor"
        strokeWidth="1.8"
      />
    </svg>
  );
}
