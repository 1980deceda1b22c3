import { useMemo, useState } from 'react';
import type { CSSProperties } from 'react';
import { thumbHashToDataURL } from 'thumbhash';
import type { ChatAttachment } from '../../app/attachments';
import { useObjectUrl } from './media-context';

/** The largest box a photo takes in a bubble; it keeps its aspect ratio inside. */
const MAX_W = 300;
const MAX_H = 340;

/** The box a width × height image takes in a bubble (unknown size: 4:3). */
export function bubbleBox(width?: number, height?: number): { width: number; height: number } {
  if (!width || !height) return { width: MAX_W, height: Math.round((MAX_W * 3) / 4) };
  const scale = Math.min(1, MAX_W / width, MAX_H / height);
  return {
    width: Math.max(60, Math.round(width * scale)),
    height: Math.max(40, Math.round(height * scale)),
  };
}

/** The ThumbHash placeholder as a data: URL (img-src allows data:); undefined if unreadable. */
export function placeholderOf(thumbhash: string | undefined): string | undefined {
  if (!thumbhash) return undefined;
  try {
    const bytes = Uint8Array.from(atob(thumbhash), (c) => c.charCodeAt(0));
    return thumbHashToDataURL(bytes);
  } catch {
    return undefined;
  }
}

export function ImageAttachment({
  attachment,
  onOpen,
}: {
  attachment: ChatAttachment;
  onOpen?: (() => void) | undefined;
}) {
  const local = useObjectUrl(attachment.blob);
  const placeholder = useMemo(() => placeholderOf(attachment.thumbhash), [attachment.thumbhash]);
  const [loaded, setLoaded] = useState(false);
  const src = attachment.thumbnailUrl ?? attachment.url ?? local;
  const box = bubbleBox(attachment.width, attachment.height);
  const style = {
    '--image-w': `${box.width}px`,
    '--image-ratio': `${box.width} / ${box.height}`,
  } as CSSProperties;
  const image = (
    <>
      {placeholder && !loaded && (
        <img className="attachment-placeholder" src={placeholder} alt="" aria-hidden="true" />
      )}
      {src && (
        <img
          className={`attachment-photo${loaded ? ' loaded' : ''}`}
          src={src}
          alt={attachment.name}
          width={box.width}
          height={box.height}
          loading="lazy"
          onLoad={() => setLoaded(true)}
        />
      )}
    </>
  );
  return onOpen ? (
    <button
      type="button"
      className="attachment-image"
      style={style}
      aria-label={`Open photo ${attachment.name}`}
      onClick={onOpen}
    >
      {image}
    </button>
  ) : (
    <span className="attachment-image" style={style}>
      {image}
    </span>
  );
}
