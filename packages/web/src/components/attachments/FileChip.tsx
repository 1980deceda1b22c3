import type { ChatAttachment } from '../../app/attachments';
import { formatSize } from '../../app/attachments';

/** A file that is not drawn inline: icon, name, size, and a download link once it is stored. */
export function FileChip({ attachment }: { attachment: ChatAttachment }) {
  const content = (
    <>
      <FileIcon />
      <span className="file-chip-text">
        <span className="file-chip-name">{attachment.name}</span>
        <span className="file-chip-size">{formatSize(attachment.size)}</span>
      </span>
      {attachment.url && <DownloadIcon />}
    </>
  );
  return attachment.url ? (
    <a
      className="file-chip"
      href={attachment.url}
      download={attachment.name}
      aria-label={`Download ${attachment.name}, ${formatSize(attachment.size)}`}
    >
      {content}
    </a>
  ) : (
    <span className="file-chip">{content}</span>
  );
}

export function FileIcon() {
  return (
    <svg className="file-chip-icon" viewBox="0 0 24 24" width="32" height="32" aria-hidden="true">
      <path d="M6 2.5h8l4.5 4.5v14.5H6z" fill="currentColor" opacity="0.18" />
      <path
        d="M6 2.5h8l4.5 4.5v14.5H6zM14 2.5V7h4.5"
        fill="none"
        stroke="currentColor"
        strokeWidth="1.4"
      />
    </svg>
  );
}

export function DownloadIcon() {
  return (
    <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
      <path
        d="M12 4v11M7 10.5l5 5 5-5M5 19.5h14"
        fill="none"
        stroke="currentColor"
        strokeWidth="1.8"
      />
    </svg>
  );
}
