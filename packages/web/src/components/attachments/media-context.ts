/**
 * What the bubbles' attachments need from the chat around them: open a photo in the lightbox,
 * cancel an upload (drops the unsent message). ChatView provides it; without a provider photos
 * do not open and uploads cannot be cancelled (read-only lists, tests).
 */
import { createContext, useContext, useEffect } from 'react';

export interface ChatMedia {
  openImage(attachmentKey: string): void;
  cancelUpload(messageKey: string): void;
}

export const ChatMediaContext = createContext<ChatMedia | null>(null);

export function useChatMedia(): ChatMedia | null {
  return useContext(ChatMediaContext);
}

/** Object URLs of the Blobs on screen, shared by every view of the same Blob. */
const objectUrls = new Map<Blob, { url: string; users: number }>();

function objectUrlOf(blob: Blob): string | undefined {
  let entry = objectUrls.get(blob);
  if (!entry) {
    // jsdom (component tests) has no object URLs.
    if (typeof URL.createObjectURL !== 'function') return undefined;
    entry = { url: URL.createObjectURL(blob), users: 0 };
    objectUrls.set(blob, entry);
  }
  return entry.url;
}

/**
 * An object URL for a Blob (a file not sent yet) while some component shows it; revoked a
 * moment after the last one stops (a pending photo becomes the stored one without a flash).
 */
export function useObjectUrl(blob: Blob | undefined): string | undefined {
  const url = blob ? objectUrlOf(blob) : undefined;
  useEffect(() => {
    if (!blob || !objectUrlOf(blob)) return;
    const entry = objectUrls.get(blob)!;
    entry.users++;
    return () => {
      entry.users--;
      setTimeout(() => {
        if (entry.users > 0 || objectUrls.get(blob) !== entry) return;
        objectUrls.delete(blob);
        URL.revokeObjectURL(entry.url);
      }, 1000);
    };
  }, [blob]);
  return url;
}
