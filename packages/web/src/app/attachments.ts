/**
 * Attachments as the screens see them, and the rules about them that are not drawing: what kind
 * a file is, a voice note's duration, the chat list's one-line preview, sizes.
 *
 * Voice notes carry their duration in their file name (`voice-note-12s.webm`): the server sniffs
 * the type from the bytes (WebM audio reads as `video/webm`) and keeps the name, so the name is
 * what tells a voice note from any other recording, and the chat list can say "🎤 0:12" without
 * downloading the audio.
 */

/** One file of a message: stored (signed `url`) or still on its way (`blob`, `progress`). */
export interface ChatAttachment {
  /** Stable within the chat: the file id, or the local id while it uploads. */
  key: string;
  name: string;
  size: number;
  mime: string;
  width?: number | undefined;
  height?: number | undefined;
  /** ThumbHash (base64): the placeholder drawn before the image arrives. */
  thumbhash?: string | undefined;
  /** Signed, same-origin; absent while uploading. */
  url?: string | undefined;
  thumbnailUrl?: string | undefined;
  /** The bytes of a file not yet sent (a local preview). */
  blob?: Blob | undefined;
  /** 0…1 while uploading. */
  progress?: number | undefined;
}

export type AttachmentKind = 'image' | 'voice' | 'audio' | 'video' | 'file';

const RASTER = /^image\/(png|jpeg|gif|webp|avif)$/;
const VOICE_NAME = /^voice-note-(\d{1,5})s\.[a-z0-9]{1,5}$/;

export function attachmentKind(attachment: Pick<ChatAttachment, 'name' | 'mime'>): AttachmentKind {
  if (VOICE_NAME.test(attachment.name)) return 'voice';
  if (RASTER.test(attachment.mime)) return 'image';
  if (attachment.mime.startsWith('audio/')) return 'audio';
  if (attachment.mime.startsWith('video/')) return 'video';
  return 'file';
}

/** The file name a recorded voice note goes under. */
export function voiceNoteName(durationMs: number, mime: string): string {
  const seconds = Math.max(1, Math.round(durationMs / 1000));
  const ext = mime.includes('mp4') ? 'm4a' : mime.includes('ogg') ? 'ogg' : 'webm';
  return `voice-note-${seconds}s.${ext}`;
}

/** A voice note's duration in seconds (from its name); null for anything else. */
export function voiceNoteSeconds(name: string): number | null {
  const match = VOICE_NAME.exec(name);
  return match ? Number(match[1]) : null;
}

/** 0:07, 1:23, 61:00. */
export function formatDuration(totalSeconds: number): string {
  const seconds = Math.max(0, Math.floor(totalSeconds));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}

/** 512 B, 3.4 KB, 12 MB. */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/** The chat list's preview of a message with files: "📷 Photo", "📄 name", "🎤 0:12". */
export function attachmentPreview(
  attachments: readonly Pick<ChatAttachment, 'name' | 'mime'>[],
  body: string,
): string | null {
  const first = attachments[0];
  if (!first) return null;
  const text = body.split('\n', 1)[0]?.trim() ?? '';
  const more = attachments.length > 1 ? ` (+${attachments.length - 1})` : '';
  switch (attachmentKind(first)) {
    case 'image':
      return `📷 ${text || 'Photo'}${more}`;
    case 'voice':
      return `🎤 ${formatDuration(voiceNoteSeconds(first.name) ?? 0)}`;
    case 'video':
      return `🎥 ${text || 'Video'}${more}`;
    case 'audio':
      return `🎵 ${text || first.name}${more}`;
    case 'file':
      return `📄 ${text || first.name}${more}`;
  }
}
