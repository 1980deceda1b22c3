import type { CSSProperties } from 'react';
import type { ChatMessage, Tick } from '../app/model';
import { formatClock, hueOf } from '../lib/format';
import { BubbleAttachments } from './attachments/BubbleAttachments';
import { Mentioned } from '../lib/mentions';
import { MessageMenu } from './MessageMenu';
import { ReactionBar } from './ReactionBar';
import { ReplyPreview } from './ReplyPreview';
import { Ticks } from './Ticks';

/** What can be done to a message; each callback is optional, so a list can be read-only. */
export interface MessageActions {
  onReply?: ((message: ChatMessage) => void) | undefined;
  onEdit?: ((message: ChatMessage) => void) | undefined;
  onDelete?: ((message: ChatMessage) => void) | undefined;
  onReact?: ((message: ChatMessage, emoji: string | null) => void) | undefined;
  onInfo?: ((message: ChatMessage) => void) | undefined;
  /** Group admins may delete anyone's messages. */
  canDeleteOthers?: boolean | undefined;
}

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
  meId?: string | undefined;
  /** The message this one replies to: undefined when it is not loaded. */
  quote?: { original: ChatMessage | undefined; senderName: string } | undefined;
  onJumpToQuote?: ((seq: number) => void) | undefined;
  nameOf?: ((userId: string) => string) | undefined;
  actions?: MessageActions | undefined;
  highlighted?: boolean | undefined;
  /** Lower-cased usernames of the members this message mentions (groups). */
  mentionNames?: ReadonlySet<string> | undefined;
  /** The reader's username, lower-cased: their own mentions stand out. */
  meUsername?: string | undefined;
}

const NO_NAMES: ReadonlySet<string> = new Set();

export function MessageBubble(props: MessageBubbleProps) {
  const { message, mine, senderName, showSender, continued, tick, onRetry, actions } = props;
  const deleted = message.deletedAt !== null;
  const stored = message.seq !== null && message.outbox === undefined;
  const meId = props.meId ?? '';
  const nameOf = props.nameOf ?? (() => 'Someone');
  const reactions = message.reactions ?? {};
  const myReaction =
    Object.entries(reactions).find(([, users]) => users.includes(meId))?.[0] ?? null;
  const replyToSeq = message.replyToSeq ?? null;
  const mentionsMe = !mine && meId !== '' && (message.mentions?.includes(meId) ?? false);
  return (
    <li
      className={`message ${mine ? 'mine' : 'theirs'}${continued ? ' continued' : ''}${props.highlighted ? ' highlighted' : ''}${mentionsMe ? ' mentions-me' : ''}`}
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
        {replyToSeq !== null && !deleted && (
          <ReplyPreview
            original={props.quote?.original}
            senderName={props.quote?.senderName ?? ''}
            onJump={() => props.onJumpToQuote?.(replyToSeq)}
          />
        )}
        {message.attachments && !deleted && (
          <BubbleAttachments
            attachments={message.attachments}
            messageKey={message.key}
            outbox={message.outbox}
            error={message.error}
          />
        )}
        {(deleted || message.body) && (
          <span className="body">
            {deleted ? (
              <em className="muted">This message was deleted</em>
            ) : (
              <Mentioned
                text={message.body}
                names={props.mentionNames ?? NO_NAMES}
                me={props.meUsername}
              />
            )}
          </span>
        )}
        {/* Reserves room so the time never overlaps the last line of text. */}
        <span className="meta-spacer" aria-hidden="true" />
        <span className="meta">
          {message.editedAt && !deleted && <span className="edited">edited</span>}
          <time dateTime={message.createdAt}>{formatClock(message.createdAt)}</time>
          {tick && <Ticks tick={tick} />}
        </span>
        {stored && !deleted && actions && (
          <MessageMenu
            label={`${mine ? 'your message' : `message from ${senderName}`}`}
            myReaction={myReaction}
            canReact
            canEdit={mine}
            canDelete={mine || actions.canDeleteOthers === true}
            canInfo={mine}
            onReply={actions.onReply && (() => actions.onReply?.(message))}
            onReact={actions.onReact && ((emoji) => actions.onReact?.(message, emoji))}
            onEdit={actions.onEdit && (() => actions.onEdit?.(message))}
            onDelete={actions.onDelete && (() => actions.onDelete?.(message))}
            onInfo={actions.onInfo && (() => actions.onInfo?.(message))}
          />
        )}
      </div>
      {!deleted && (
        <ReactionBar
          reactions={reactions}
          meId={meId}
          nameOf={nameOf}
          onToggle={actions?.onReact && ((emoji) => actions.onReact?.(message, emoji))}
        />
      )}
      {message.outbox === 'failed' && onRetry && (
        <button type="button" className="link-button retry" onClick={() => onRetry(message.key)}>
          Not sent. Retry
        </button>
      )}
    </li>
  );
}
