import type { ChatAttachment } from '../../app/attachments';
import { attachmentKind } from '../../app/attachments';
import { FileChip } from './FileChip';
import { ImageAttachment } from './ImageAttachment';
import { useChatMedia } from './media-context';
import { VoiceNotePlayer } from './VoiceNotePlayer';

export interface BubbleAttachmentsProps {
  attachments: readonly ChatAttachment[];
  /** The message's key: cancelling an upload drops that message. */
  messageKey: string;
  /** Set while the message waits in the outbox. */
  outbox?: 'sending' | 'failed' | undefined;
  error?: string | null | undefined;
}

/** Why a message with files failed, in words. */
function failureText(error: string | null | undefined): string {
  switch (error) {
    case 'payload_too_large':
      return 'The file is too large (or your storage is full).';
    case 'unsupported_media_type':
      return 'The file could not be read as what it claims to be.';
    case 'rate_limited':
      return 'Too many uploads; wait a moment.';
    default:
      return 'The upload failed.';
  }
}

/** The files of one message: photos, voice notes and audio, file chips; an upload's progress. */
export function BubbleAttachments({
  attachments,
  messageKey,
  outbox,
  error,
}: BubbleAttachmentsProps) {
  const media = useChatMedia();
  const uploading = outbox === 'sending' && attachments.some((a) => a.url === undefined);
  const total = attachments.reduce((sum, a) => sum + a.size, 0);
  const done = attachments.reduce((sum, a) => sum + a.size * (a.progress ?? 1), 0);
  const percent = total === 0 ? 100 : Math.round((done / total) * 100);
  // Two photos or more are an album: a grid of square tiles where the first photo was, the
  // other files after it in their order. The lightbox walks them one by one.
  const images = attachments.filter((a) => attachmentKind(a) === 'image');
  const album = images.length >= 2;
  const photo = (attachment: ChatAttachment) => (
    <ImageAttachment
      key={attachment.key}
      attachment={attachment}
      onOpen={attachment.url && media ? () => media.openImage(attachment.key) : undefined}
    />
  );
  return (
    <div className="attachments">
      {attachments.map((attachment) => {
        switch (attachmentKind(attachment)) {
          case 'image':
            if (!album) return photo(attachment);
            return attachment === images[0] ? (
              <div
                key="album"
                className="attachment-album"
                data-count={Math.min(images.length, 4)}
                role="group"
                aria-label={`${images.length} photos`}
              >
                {images.map(photo)}
              </div>
            ) : null;
          case 'voice':
          case 'audio':
            return <VoiceNotePlayer key={attachment.key} attachment={attachment} />;
          case 'video':
            return attachment.url ? (
              <video
                key={attachment.key}
                className="attachment-video"
                src={attachment.url}
                controls
                preload="metadata"
                aria-label={`Video ${attachment.name}`}
              />
            ) : (
              <FileChip key={attachment.key} attachment={attachment} />
            );
          default:
            return <FileChip key={attachment.key} attachment={attachment} />;
        }
      })}
      {uploading && (
        <div className="upload-progress">
          <progress max={100} value={percent} aria-label="Upload progress">
            {percent}%
          </progress>
          <span className="upload-percent" aria-hidden="true">
            {percent}%
          </span>
          {media && (
            <button
              type="button"
              className="icon-button upload-cancel"
              aria-label="Cancel upload"
              onClick={() => media.cancelUpload(messageKey)}
            >
              <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
                <path d="M6 6l12 12M18 6L6 18" stroke="currentColor" strokeWidth="2" />
              </svg>
            </button>
          )}
        </div>
      )}
      {outbox === 'failed' && (
        <p className="upload-error" role="status">
          {failureText(error)}{' '}
          {media && (
            <button
              type="button"
              className="link-button"
              onClick={() => media.cancelUpload(messageKey)}
            >
              Discard
            </button>
          )}
        </p>
      )}
    </div>
  );
}
