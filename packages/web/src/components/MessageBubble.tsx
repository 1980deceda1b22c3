import type { CSSProperties } from 'react';
import type { ChatMessage, Tick } from '../app/model';
import { formatClock, hueOf } from '../lib/format';
import { Linkified } from '../lib/linkify';
import { Ticks } from './Ticks';

export interface MessageBubbleProps {
  message: ChatMessage;
  mine: boolean;
  /** Who wrote it, for screen readers and, in groups, the coloured name above the text. */
  senderName: string;
  /** Show the name above the text: the first message of a run in a group. */
  showSender: boolean;
  /** The message follows one from the same sender, so the bubble drops its tail. */
  continued: boolean;
  tick: Tick | null;
  onRetry?: ((key: string) => void) | undefined;
}

export function MessageBubble(props: MessageBubbleProps) {
  const { message, mine, senderName, showSender, continued, tick, onRetry } = props;
  const deleted = message.deletedAt !== null;
  return (
    <li
      className={`message ${mine ? 'mine' : 'theirs'}${continued ? ' continued' : ''}`}
      data-seq={message.seq ?? undefined}
      data-key={message.key}
    >
      <div className="bubble">
        {showSender ? (
          <span
            className="sender"
            style={{ '--hue': hueOf(message.senderId ?? '') } as CSSProperties}
          >
            {senderName}
          </span>
        ) : (
          <span className="visually-hidden">{mine ? 'You' : senderName}: </span>
        )}
        <span className="body">
          {deleted ? (
            <em className="muted">This message was deleted</em>
          ) : (
            <Linkified text={message.body} />
          )}
        </span>
        {/* Reserves room so the time never overlaps the last line of text. */}
        <span className="meta-spacer" aria-hidden="true" />
        <span className="meta">
          {message.editedAt && !deleted && <span className="edited">edited</span>}
          <time dateTime={message.createdAt}>{formatClock(message.createdAt)}</time>
          {tick && <Ticks tick={tick} />}
        </span>
      </div>
      {message.outbox === 'failed' && onRetry && (
        <button type="button" className="link-button retry" onClick={() => onRetry(message.key)}>
          Not sent. Retry
        </button>
      )}
    </li>
  );
}
