import { useEffect, useRef, useState } from 'react';
import type { ChatAttachment } from '../../app/attachments';
import { attachmentKind, formatSize } from '../../app/attachments';
import { FileIcon } from './FileChip';
import { useObjectUrl } from './media-context';

export interface TrayItem {
  id: number;
  file: File;
}

export interface AttachmentTrayProps {
  items: readonly TrayItem[];
  /** All the files go as one message, in this order, with the caption as its text. */
  onSend: (caption: string, files: readonly File[]) => void;
  onRemove: (id: number) => void;
  onCancel: () => void;
  /** The paperclip, to add more files. */
  addButton: React.ReactNode;
}

/** The files chosen, dropped or pasted, and one caption for them all, before they are sent. */
export function AttachmentTray({
  items,
  onSend,
  onRemove,
  onCancel,
  addButton,
}: AttachmentTrayProps) {
  const [caption, setCaption] = useState('');
  const captionInput = useRef<HTMLInputElement>(null);
  useEffect(() => captionInput.current?.focus(), []);

  function send() {
    onSend(
      caption.trim(),
      items.map(({ file }) => file),
    );
  }

  return (
    <section
      className="attachment-tray"
      aria-label="Files to send"
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.preventDefault();
          onCancel();
        }
      }}
    >
      <div className="tray-header">
        <h2 className="tray-title">
          {items.length === 1 ? 'Send 1 file' : `Send ${items.length} files`}
        </h2>
        <button type="button" className="link-button" onClick={onCancel}>
          Cancel
        </button>
      </div>
      <ul className="tray-items">
        {items.map(({ id, file }) => (
          <li key={id} className="tray-item">
            <TrayPreview file={file} />
            <span className="tray-item-meta">
              <span className="tray-item-name">{file.name}</span>
              <span className="tray-item-size">{formatSize(file.size)}</span>
            </span>
            <button
              type="button"
              className="icon-button"
              aria-label={`Remove ${file.name}`}
              onClick={() => onRemove(id)}
            >
              <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
                <path d="M6 6l12 12M18 6L6 18" stroke="currentColor" strokeWidth="2" />
              </svg>
            </button>
          </li>
        ))}
      </ul>
      <input
        ref={captionInput}
        className="tray-caption"
        type="text"
        placeholder="Add a caption"
        aria-label="Caption"
        maxLength={4000}
        value={caption}
        onChange={(e) => setCaption(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && !e.nativeEvent.isComposing) {
            e.preventDefault();
            send();
          }
        }}
      />
      <div className="tray-actions">
        {addButton}
        <button type="button" className="primary-button" onClick={send}>
          Send
        </button>
      </div>
    </section>
  );
}

function TrayPreview({ file }: { file: File }) {
  const probe: Pick<ChatAttachment, 'name' | 'mime'> = { name: file.name, mime: file.type };
  const isImage = attachmentKind(probe) === 'image';
  const url = useObjectUrl(isImage ? file : undefined);
  return isImage && url ? (
    <img className="tray-thumb" src={url} alt="" />
  ) : (
    <span className="tray-thumb">
      <FileIcon />
    </span>
  );
}
