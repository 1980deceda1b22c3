import type { ChatMessage } from '../app/model';
import { firstLine } from '../app/model';

export interface QuoteProps {
  /** The quoted message when it is loaded; undefined when it lies outside what is loaded. */
  original: ChatMessage | undefined;
  senderName: string;
}

/** What a quote says: the first line, or why there is none. */
export function quoteText(original: ChatMessage | undefined): string {
  if (!original) return 'Original message not loaded';
  if (original.deletedAt !== null) return 'Deleted message';
  return firstLine(original.body);
}

/** The quoted original above a reply; a button that scrolls to it. */
export function ReplyPreview({
  original,
  senderName,
  onJump,
}: QuoteProps & { onJump?: (() => void) | undefined }) {
  const text = quoteText(original);
  return (
    <button
      type="button"
      className="reply-quote"
      onClick={onJump}
      aria-label={`Reply to ${original ? senderName : 'a message'}: ${text}. Show the original`}
    >
      {original && <span className="reply-quote-name">{senderName}</span>}
      <span className="reply-quote-text">{text}</span>
    </button>
  );
}

/** The reply target above the composer, with a way to cancel. */
export function ReplyTarget({
  original,
  senderName,
  mode,
  onCancel,
}: QuoteProps & { mode: 'reply' | 'edit'; onCancel: () => void }) {
  return (
    <div className="composer-context" role="status">
      <div className="composer-context-text">
        <span className="reply-quote-name">
          {mode === 'edit' ? 'Editing message' : `Replying to ${senderName}`}
        </span>
        <span className="reply-quote-text">{quoteText(original)}</span>
      </div>
      <button
        type="button"
        className="icon-button"
        onClick={onCancel}
        aria-label={mode === 'edit' ? 'Cancel editing' : 'Cancel reply'}
      >
        ×
      </button>
    </div>
  );
}
