import { useRef, useState } from 'react';
import type { KeyboardEvent, ReactNode } from 'react';
import type { User } from '@letter/protocol';
import { useMentionPicker } from './MentionPicker';

export interface ComposerProps {
  /** Returns once the message is in the outbox; the composer clears at once regardless. */
  onSend: (body: string) => void;
  /** Called on input; the composer throttles so the server sees at most one per interval. */
  onTyping?: (() => void) | undefined;
  disabled?: boolean | undefined;
  /** Restored text when switching back to a chat. */
  draft?: string | undefined;
  onDraftChange?: ((text: string) => void) | undefined;
  maxLength?: number | undefined;
  /** Shown above the input: the message being answered or edited. */
  context?: ReactNode;
  /** Esc in the input: cancel the reply or the edit. */
  onCancel?: (() => void) | undefined;
  /** `edit`: the text is a message being edited; the button saves it. */
  mode?: 'send' | 'edit' | undefined;
  /** Beside the input, before it (the paperclip) and before the send button (the mic). */
  before?: ReactNode;
  after?: ReactNode;
  /** Files pasted into the input (a screenshot from the clipboard). */
  onPasteFiles?: ((files: File[]) => void) | undefined;
  /** A group's other members: typing `@` offers them (MentionPicker). */
  mentionCandidates?: readonly User[] | undefined;
}

/** The contract drops `typing` frames sent more often than every 2 s. */
const TYPING_INTERVAL_MS = 2000;
const MAX_ROWS = 6;

export function Composer({
  onSend,
  onTyping,
  disabled = false,
  draft = '',
  onDraftChange,
  maxLength = 4000,
  context,
  onCancel,
  mode = 'send',
  before,
  after,
  onPasteFiles,
  mentionCandidates,
}: ComposerProps) {
  const [text, setText] = useState(draft);
  const lastTypingAt = useRef(0);
  const inputRef = useRef<HTMLTextAreaElement>(null);
  const canSend = text.trim().length > 0 && !disabled;
  const mention = useMentionPicker(mentionCandidates, text, handleChange, inputRef);

  function update(next: string) {
    setText(next);
    onDraftChange?.(next);
  }

  function send() {
    const body = text.trim();
    if (!body || disabled) return;
    onSend(body);
    update('');
    lastTypingAt.current = 0;
    inputRef.current?.focus();
  }

  function handleKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (mention.onKeyDown(event)) return;
    if (event.key === 'Escape' && onCancel) {
      event.preventDefault();
      onCancel();
      return;
    }
    // While an IME composes (Japanese, Chinese…), Enter confirms the candidate, not the message.
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      send();
    }
  }

  function handleChange(next: string) {
    update(next);
    const now = Date.now();
    if (next.trim() && onTyping && now - lastTypingAt.current >= TYPING_INTERVAL_MS) {
      lastTypingAt.current = now;
      onTyping();
    }
  }

  const rows = Math.min(MAX_ROWS, Math.max(1, text.split('\n').length));
  return (
    <div className="composer-wrap">
      {context}
      <form
        className="composer"
        onSubmit={(e) => {
          e.preventDefault();
          send();
        }}
      >
        {before}
        {mention.picker}
        <textarea
          {...mention.inputProps}
          ref={inputRef}
          className="composer-input"
          aria-label={mode === 'edit' ? 'Edit message' : 'Message'}
          placeholder="Type a message"
          rows={rows}
          value={text}
          maxLength={maxLength}
          disabled={disabled}
          onChange={(e) => handleChange(e.target.value)}
          onKeyDown={handleKeyDown}
          onPaste={(e) => {
            const files = [...e.clipboardData.files];
            if (files.length === 0 || !onPasteFiles) return;
            e.preventDefault();
            onPasteFiles(files);
          }}
          // The chat opens ready to type, as in any messenger.
          autoFocus
        />
        {after}
        <button
          type="submit"
          className="icon-button send-button"
          aria-label={mode === 'edit' ? 'Save' : 'Send'}
          disabled={!canSend}
        >
          {mode === 'edit' ? (
            <svg viewBox="0 0 24 24" width="24" height="24" aria-hidden="true">
              <path
                d="M5 12.5l4.5 4.5L19 7.5"
                fill="none"
                stroke="currentColor"
                strokeWidth="2.2"
              />
            </svg>
          ) : (
            <svg viewBox="0 0 24 24" width="24" height="24" aria-hidden="true">
              <path d="M3 20.5l18-8.5L3 3.5v6.6l12.8 1.9L3 13.9z" fill="currentColor" />
            </svg>
          )}
        </button>
      </form>
    </div>
  );
}
