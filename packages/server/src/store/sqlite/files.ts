/**
 * File metadata for the SQLite store (the queries are shared/queries.ts's). Runs inside a
 * savepoint (the worker's, or an append's own: sqlite/append.ts): a throw undoes every change of
 * the call (attachFiles is all or none).
 */
import { LetterError } from '@letter/protocol';
import {
  BLOB_DELETION_WAIT_MS,
  type FileRecord,
  type FileSelector,
  type NewFile,
  type RemovedFiles,
} from '../store.js';
import { prepare, qb, type Db } from './db.js';
import {
  blobDeletionPending,
  blobInUse,
  claimFile,
  endBlobDeletion,
  staleBlobDeletions,
  markBlobDeletion,
  deleteFile,
  fileById,
  fileForViewer,
  filesSelected,
  insertFile,
  uploadedBytes,
} from '../shared/queries.js';
import { fileRow, toFileRecord } from '../shared/rows.js';
import { blobBeingDeleted } from '../shared/rules.js';
import type { FilesTable } from '../shared/tables.js';

const FILE_COLUMNS: (keyof FilesTable)[] = [
  'id',
  'uploader_id',
  'name',
  'size',
  'mime',
  'width',
  'height',
  'sha256',
  'thumb_sha256',
  'thumbhash',
  'created_at',
  'conversation_id',
  'seq',
];

function createFileQueries(db: Db) {
  return {
    // Each column named: prepare's placeholders are a proxy with no keys of its own.
    insert: prepare(db, (p: FilesTable) =>
      insertFile(
        qb,
        Object.fromEntries(
          FILE_COLUMNS.map((column) => [column, p[column]]),
        ) as unknown as FilesTable,
      ),
    ),
    byId: prepare(db, (p: { id: string }) => fileById(qb, p.id)),
    forViewer: prepare(db, (p: { fileId: string; userId: string }) =>
      fileForViewer(qb, p.fileId, p.userId),
    ),
    claim: prepare(
      db,
      (p: { fileId: string; uploaderId: string; conversationId: string; seq: number }) =>
        claimFile(qb, p),
    ),
    uploadedBytes: prepare(db, (p: { userId: string }) => uploadedBytes(qb, p.userId)),
    unattached: prepare(db, (p: { before: number; limit: number }) =>
      filesSelected(qb, { kind: 'unattached', before: p.before, limit: p.limit }),
    ),
    ofMessage: prepare(db, (p: { conversationId: string; seq: number }) =>
      filesSelected(qb, { kind: 'message', conversationId: p.conversationId, seq: p.seq }),
    ),
    ofUploader: prepare(db, (p: { userId: string }) =>
      filesSelected(qb, { kind: 'uploader', userId: p.userId }),
    ),
    one: prepare(db, (p: { id: string }) => filesSelected(qb, { kind: 'file', id: p.id })),
    delete: prepare(db, (p: { id: string }) => deleteFile(qb, p.id)),
    deletionPending: prepare(db, (p: { key: string; thumbKey: string; since: number }) =>
      blobDeletionPending(qb, p),
    ),
    markDeletion: prepare(db, (p: { key: string; now: number }) =>
      markBlobDeletion(qb, p.key, p.now),
    ),
    endDeletion: prepare(db, (p: { key: string }) => endBlobDeletion(qb, p.key)),
    staleDeletions: prepare(db, (p: { before: number; limit: number }) =>
      staleBlobDeletions(qb, p.before, p.limit),
    ),
    blobInUse: prepare(db, (p: { key: string }) => blobInUse(qb, p.key)),
  };
}

export class SqliteFiles {
  private readonly f: ReturnType<typeof createFileQueries>;

  constructor(db: Db) {
    this.f = createFileQueries(db);
  }

  createFile(file: NewFile): FileRecord {
    const pending = this.f.deletionPending.get({
      key: file.sha256,
      thumbKey: file.thumbSha256 ?? file.sha256,
      since: file.createdAt - BLOB_DELETION_WAIT_MS,
    });
    if (pending) throw blobBeingDeleted();
    const row = fileRow(file);
    this.f.insert.run(row);
    return toFileRecord(row);
  }

  getFile(id: string): FileRecord | null {
    const row = this.f.byId.get({ id });
    return row ? toFileRecord(row) : null;
  }

  fileForViewer(fileId: string, userId: string): FileRecord | null {
    const row = this.f.forViewer.get({ fileId, userId });
    return row ? toFileRecord(row) : null;
  }

  attachFiles(input: {
    fileIds: string[];
    uploaderId: string;
    conversationId: string;
    seq: number;
  }): FileRecord[] {
    return input.fileIds.map((fileId) => {
      const { changes } = this.f.claim.run({ ...input, fileId });
      if (changes !== 1)
        throw new LetterError('not_found', 'Unknown file, or not yours to attach.');
      return toFileRecord(this.f.byId.get({ id: fileId })!);
    });
  }

  uploadedBytes(userId: string): number {
    return Number(this.f.uploadedBytes.get({ userId })?.bytes ?? 0);
  }

  removeFiles(selector: FileSelector): RemovedFiles {
    const rows =
      selector.kind === 'unattached'
        ? this.f.unattached.all(selector)
        : selector.kind === 'message'
          ? this.f.ofMessage.all(selector)
          : selector.kind === 'file'
            ? this.f.one.all(selector)
            : this.f.ofUploader.all(selector);
    for (const row of rows) this.f.delete.run({ id: row.id });
    const blobs = new Set(rows.flatMap((row) => [row.sha256, row.thumb_sha256 ?? []].flat()));
    const orphanedBlobs = [...blobs].filter((key) => !this.f.blobInUse.get({ key }));
    return { ids: rows.map((row) => row.id), orphanedBlobs };
  }

  startBlobDeletions(keys: string[], now: number): string[] {
    const orphaned = keys.filter((key) => !this.f.blobInUse.get({ key }));
    for (const key of orphaned) this.f.markDeletion.run({ key, now });
    return orphaned;
  }

  endBlobDeletions(keys: string[]): void {
    for (const key of keys) this.f.endDeletion.run({ key });
  }

  staleBlobDeletions(before: number, limit: number): string[] {
    return this.f.staleDeletions.all({ before, limit }).map((row) => row.key);
  }
}
