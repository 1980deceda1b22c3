import { useEffect, useRef } from 'react';
import type { ChatAttachment } from '../../app/attachments';
import { DownloadIcon } from './FileChip';

export interface LightboxProps {
  images: readonly ChatAttachment[];
  index: number;
  onIndex: (index: number) => void;
  onClose: () => void;
}

/** One photo at full size over the chat: arrows (buttons and keys) through the chat's photos, download, Esc. */
export function Lightbox({ images, index, onIndex, onClose }: LightboxProps) {
  const closeRef = useRef<HTMLButtonElement>(null);
  const image = images[index];
  const hasPrevious = index > 0;
  const hasNext = index < images.length - 1;

  // Focus moves into the viewer and, when it closes, back to the photo that opened it.
  useEffect(() => {
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    closeRef.current?.focus();
    return () => opener?.focus();
  }, []);

  useEffect(() => {
    function onKey(event: KeyboardEvent) {
      if (event.key === 'Escape') onClose();
      else if (event.key === 'ArrowLeft' && index > 0) onIndex(index - 1);
      else if (event.key === 'ArrowRight' && index < images.length - 1) onIndex(index + 1);
      else return;
      event.preventDefault();
    }
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [index, images.length, onIndex, onClose]);

  if (!image?.url) return null;
  return (
    <div
      className="lightbox"
      role="dialog"
      aria-modal="true"
      aria-label={`Photo ${index + 1} of ${images.length}: ${image.name}`}
      onClick={(e) => {
        if (e.target === e.currentTarget) onClose();
      }}
    >
      <div className="lightbox-bar">
        <span className="lightbox-name">{image.name}</span>
        <a
          className="icon-button lightbox-download"
          href={image.url}
          download={image.name}
          aria-label={`Download ${image.name}`}
        >
          <DownloadIcon />
        </a>
        <button
          ref={closeRef}
          type="button"
          className="icon-button lightbox-close"
          aria-label="Close photo"
          onClick={onClose}
        >
          <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
            <path d="M6 6l12 12M18 6L6 18" stroke="currentColor" strokeWidth="2" />
          </svg>
        </button>
      </div>
      <button
        type="button"
        className="icon-button lightbox-arrow previous"
        aria-label="Previous photo"
        disabled={!hasPrevious}
        onClick={() => onIndex(index - 1)}
      >
        <svg viewBox="0 0 24 24" width="28" height="28" aria-hidden="true">
          <path d="M15 5l-7 7 7 7" fill="none" stroke="currentColor" strokeWidth="2.2" />
        </svg>
      </button>
      <img
        className="lightbox-image"
        src={image.url}
        alt={image.name}
        width={image.width}
        height={image.height}
      />
      <button
        type="button"
        className="icon-button lightbox-arrow next"
        aria-label="Next photo"
        disabled={!hasNext}
        onClick={() => onIndex(index + 1)}
      >
        <svg viewBox="0 0 24 24" width="28" height="28" aria-hidden="true">
          <path d="M9 5l7 7-7 7" fill="none" stroke="currentColor" strokeWidth="2.2" />
        </svg>
      </button>
    </div>
  );
}
