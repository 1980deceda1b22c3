import { useMemo, useRef, useState } from 'react';
import type { DragEvent, ReactNode } from 'react';
import type { ChatMessage } from '../../app/model';
import { attachmentKind } from '../../app/attachments';
import { ErrorBar } from '../ErrorBar';
import { AttachmentTray } from './AttachmentTray';
import type { TrayItem } from './AttachmentTray';
import { Lightbox } from './Lightbox';
import type { ChatMedia } from './media-context';
import { VoiceRecorder } from './VoiceRecorder';

export interface ChatAttachmentsOptions {
  messages: readonly ChatMessage[];
  /**
   * Sends files (at most 10, the server's limit per message) as one message with the caption as
   * its text; absent: the chat takes no files.
   */
  onSendFiles?: ((caption: string, files: readonly File[]) => void) | undefined;
  /** Drops an unsent message (its upload stops). */
  onCancelUpload?: ((messageKey: string) => void) | undefined;
}

export interface ChatAttachments {
  /** For the bubbles (ChatMediaContext). */
  media: ChatMedia;
  /** Spread on the chat: files dropped anywhere on it go to the tray. */
  dropProps: {
    onDragEnter: (e: DragEvent) => void;
    onDragOver: (e: DragEvent) => void;
    onDragLeave: (e: DragEvent) => void;
    onDrop: (e: DragEvent) => void;
  };
  /** Files pasted into the composer. */
  addFiles: (files: readonly File[]) => void;
  /** The tray or the recorder, in place of the composer; null when neither is open. */
  panel: ReactNode;
  attachButton: ReactNode;
  micButton: ReactNode;
  /** The lightbox, the drop hint and errors, over the chat. */
  overlay: ReactNode;
}

/** At most this many files in the tray at once: they go as one message (limits.maxAttachments). */
const TRAY_MAX = 10;

/** Everything about files in one chat: the tray, drag and drop, paste, voice notes, the lightbox. */
export function useChatAttachments(options: ChatAttachmentsOptions): ChatAttachments {
  const { messages, onSendFiles, onCancelUpload } = options;
  const [items, setItems] = useState<TrayItem[]>([]);
  const [recording, setRecording] = useState(false);
  const [dragDepth, setDragDepth] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [viewing, setViewing] = useState<number | null>(null);
  const nextId = useRef(1);
  const inputRef = useRef<HTMLInputElement>(null);

  // Every stored photo of the loaded history, in chat order: the lightbox's arrows walk them.
  const images = useMemo(
    () =>
      messages.flatMap((m) =>
        m.deletedAt
          ? []
          : (m.attachments ?? []).filter((a) => a.url && attachmentKind(a) === 'image'),
      ),
    [messages],
  );

  const addFiles = (files: readonly File[]) => {
    if (!onSendFiles || files.length === 0) return;
    setError(null);
    setItems((current) => {
      const next = [...current, ...files.map((file) => ({ id: nextId.current++, file }))];
      if (next.length > TRAY_MAX) setError(`At most ${TRAY_MAX} files at a time.`);
      return next.slice(0, TRAY_MAX);
    });
  };

  const hasFiles = (e: DragEvent) => e.dataTransfer.types.includes('Files');
  const dropProps: ChatAttachments['dropProps'] = {
    onDragEnter: (e) => {
      if (!onSendFiles || !hasFiles(e)) return;
      e.preventDefault();
      setDragDepth((d) => d + 1);
    },
    onDragOver: (e) => {
      if (!onSendFiles || !hasFiles(e)) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
    },
    onDragLeave: (e) => {
      if (!onSendFiles || !hasFiles(e)) return;
      setDragDepth((d) => Math.max(0, d - 1));
    },
    onDrop: (e) => {
      if (!onSendFiles || !hasFiles(e)) return;
      e.preventDefault();
      setDragDepth(0);
      addFiles([...e.dataTransfer.files]);
    },
  };

  const attachButton = onSendFiles && (
    <>
      <button
        type="button"
        className="icon-button attach-button"
        aria-label="Attach files"
        onClick={() => inputRef.current?.click()}
      >
        <svg viewBox="0 0 24 24" width="24" height="24" aria-hidden="true">
          <path
            d="M16.5 6.5l-7.8 7.8a2 2 0 002.8 2.8l8-8a4 4 0 00-5.7-5.7l-8.2 8.2a6 6 0 008.5 8.5l7-7"
            fill="none"
            stroke="currentColor"
            strokeWidth="1.8"
            strokeLinecap="round"
          />
        </svg>
      </button>
      <input
        ref={inputRef}
        type="file"
        multiple
        hidden
        aria-label="Files to attach"
        onChange={(e) => {
          addFiles([...(e.target.files ?? [])]);
          e.target.value = '';
        }}
      />
    </>
  );

  const micButton = onSendFiles && (
    <button
      type="button"
      className="icon-button mic-button"
      aria-label="Record a voice note"
      onClick={() => {
        setError(null);
        setRecording(true);
      }}
    >
      <svg viewBox="0 0 24 24" width="24" height="24" aria-hidden="true">
        <path
          d="M12 3.5a3 3 0 013 3v5a3 3 0 01-6 0v-5a3 3 0 013-3zM6 11.5a6 6 0 0012 0M12 17.5v3"
          fill="none"
          stroke="currentColor"
          strokeWidth="1.8"
        />
      </svg>
    </button>
  );

  let panel: ReactNode = null;
  if (onSendFiles && recording) {
    panel = (
      <VoiceRecorder
        onCancel={() => setRecording(false)}
        onError={(message) => {
          setRecording(false);
          setError(message);
        }}
        onSend={(file) => {
          setRecording(false);
          onSendFiles('', [file]);
        }}
      />
    );
  } else if (onSendFiles && items.length > 0) {
    panel = (
      <AttachmentTray
        items={items}
        addButton={attachButton}
        onRemove={(id) => setItems((current) => current.filter((i) => i.id !== id))}
        onCancel={() => setItems([])}
        onSend={(caption, files) => {
          setItems([]);
          onSendFiles(caption, files);
        }}
      />
    );
  }

  const overlay = (
    <>
      {dragDepth > 0 && (
        <div className="drop-hint" aria-hidden="true">
          Drop files to send them
        </div>
      )}
      {error && <ErrorBar message={error} onDismiss={() => setError(null)} />}
      {viewing !== null && images[viewing] && (
        <Lightbox
          images={images}
          index={viewing}
          onIndex={setViewing}
          onClose={() => setViewing(null)}
        />
      )}
    </>
  );

  const media: ChatMedia = {
    openImage: (key) => {
      const index = images.findIndex((a) => a.key === key);
      if (index >= 0) setViewing(index);
    },
    cancelUpload: (messageKey) => onCancelUpload?.(messageKey),
  };

  return { media, dropProps, addFiles, panel, attachButton, micButton, overlay };
}
