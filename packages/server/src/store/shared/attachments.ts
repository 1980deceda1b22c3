/**
 * A message's files as the message row keeps them (`messages.attachments_json`): written once,
 * in the transaction that appends the message and attaches the files, so every read of a
 * message has its attachments without a join (history, sync, search, lists, export).
 *
 * The store's messages carry the download paths unsigned (`/api/files/:id`, which takes a bearer
 * token); files/attachment-urls.ts signs them for each viewer before a message leaves the server.
 */
import type { Attachment } from '@letter/protocol';
import type { FileRecord } from '../store.js';

/** What the row keeps of a file: what the bubble shows before anything is downloaded. */
export interface StoredAttachment {
  id: string;
  name: string;
  size: number;
  mime: string;
  width?: number;
  height?: number;
  thumbhash?: string;
  /** Set when the file has a thumbnail (images). */
  thumb?: 1;
}

export function storedAttachment(file: FileRecord): StoredAttachment {
  return {
    id: file.id,
    name: file.name,
    size: file.size,
    mime: file.mime,
    ...(file.width !== null && { width: file.width }),
    ...(file.height !== null && { height: file.height }),
    ...(file.thumbhash !== null && { thumbhash: file.thumbhash }),
    ...(file.thumbSha256 !== null && { thumb: 1 as const }),
  };
}

/** The download path of a file (bearer); a signed query makes it an `<img src>`. */
export const filePath = (fileId: string): string => `/api/files/${encodeURIComponent(fileId)}`;

/** The attachments of a row, with unsigned paths. */
export function unsignedAttachments(json: string): Attachment[] {
  return (JSON.parse(json) as StoredAttachment[]).map(({ thumb, ...file }) => ({
    ...file,
    url: filePath(file.id),
    ...(thumb && { thumbnailUrl: `${filePath(file.id)}/thumbnail` }),
  }));
}
