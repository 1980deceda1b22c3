/** File metadata for the PostgreSQL store (the queries are shared/queries.ts's). */
import { LetterError } from '@letter/protocol';
import type { FileRecord, FileSelector, NewFile, RemovedFiles, Store } from '../store.js';
import { writeTx, type Db, type Tx } from './db.js';
import {
  blobInUse,
  claimFile,
  deleteFile,
  fileById,
  fileForViewer,
  filesSelected,
  insertFile,
  uploadedBytes,
} from '../shared/queries.js';
import { fileRow, toFileRecord } from '../shared/rows.js';

type AttachInput = Parameters<Store['attachFiles']>[0];

/** attachFiles inside the caller's transaction (appendMessage's): all or none with it. */
export async function attachIn(tx: Tx, input: AttachInput): Promise<FileRecord[]> {
  const attached: FileRecord[] = [];
  for (const fileId of input.fileIds) {
    const result = await claimFile(tx, { ...input, fileId }).executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1)
      throw new LetterError('not_found', 'Unknown file, or not yours to attach.');
    attached.push(toFileRecord(await fileById(tx, fileId).executeTakeFirstOrThrow()));
  }
  return attached;
}

export class PostgresFiles {
  constructor(private readonly db: Db) {}

  async createFile(file: NewFile): Promise<FileRecord> {
    const row = fileRow(file);
    await insertFile(this.db, row).execute();
    return toFileRecord(row);
  }

  async getFile(id: string): Promise<FileRecord | null> {
    const row = await fileById(this.db, id).executeTakeFirst();
    return row ? toFileRecord(row) : null;
  }

  async fileForViewer(fileId: string, userId: string): Promise<FileRecord | null> {
    const row = await fileForViewer(this.db, fileId, userId).executeTakeFirst();
    return row ? toFileRecord(row) : null;
  }

  attachFiles(input: AttachInput): Promise<FileRecord[]> {
    return writeTx(this.db, (tx) => attachIn(tx, input));
  }

  async uploadedBytes(userId: string): Promise<number> {
    const row = await uploadedBytes(this.db, userId).executeTakeFirst();
    return Number(row?.bytes ?? 0);
  }

  removeFiles(selector: FileSelector): Promise<RemovedFiles> {
    return writeTx(this.db, async (tx) => {
      const rows = await filesSelected(tx, selector).execute();
      for (const row of rows) await deleteFile(tx, row.id).execute();
      const blobs = new Set(rows.flatMap((row) => [row.sha256, row.thumb_sha256 ?? []].flat()));
      const orphanedBlobs: string[] = [];
      for (const key of blobs)
        if (!(await blobInUse(tx, key).executeTakeFirst())) orphanedBlobs.push(key);
      return { ids: rows.map((row) => row.id), orphanedBlobs };
    });
  }
}
