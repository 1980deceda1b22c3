/** File metadata for the PostgreSQL store (the queries are shared/queries.ts's). */
import { sql } from 'kysely';
import { LetterError } from '@letter/protocol';
import {
  BLOB_DELETION_WAIT_MS,
  type FileRecord,
  type FileSelector,
  type NewFile,
  type RemovedFiles,
  type Store,
} from '../store.js';
import { blobBeingDeleted } from '../shared/rules.js';
import { writeTx, type Db, type Tx } from './db.js';
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

  createFile(file: NewFile): Promise<FileRecord> {
    return writeTx(this.db, async (tx) => {
      // A deletion that starts after this check waits for the row lock of the blob's key
      // (startBlobDeletions takes it too), so the check and the insert are one step for it.
      await lockBlobKeys(tx, [file.sha256, file.thumbSha256 ?? file.sha256]);
      const pending = await blobDeletionPending(tx, {
        key: file.sha256,
        thumbKey: file.thumbSha256 ?? file.sha256,
        since: file.createdAt - BLOB_DELETION_WAIT_MS,
      }).executeTakeFirst();
      if (pending) throw blobBeingDeleted();
      const row = fileRow(file);
      await insertFile(tx, row).execute();
      return toFileRecord(row);
    });
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

  startBlobDeletions(keys: string[], now: number): Promise<string[]> {
    return writeTx(this.db, async (tx) => {
      await lockBlobKeys(tx, keys);
      const orphaned: string[] = [];
      for (const key of keys) {
        if (await blobInUse(tx, key).executeTakeFirst()) continue;
        await markBlobDeletion(tx, key, now).execute();
        orphaned.push(key);
      }
      return orphaned;
    });
  }

  async endBlobDeletions(keys: string[]): Promise<void> {
    for (const key of keys) await endBlobDeletion(this.db, key).execute();
  }

  async staleBlobDeletions(before: number, limit: number): Promise<string[]> {
    const rows = await staleBlobDeletions(this.db, before, limit).execute();
    return rows.map((row) => row.key);
  }
}

/**
 * Transaction-scoped advisory locks on blob keys, in a fixed order (no deadlock between two
 * callers): an upload's insert and a deletion's check of the same blob take turns.
 */
async function lockBlobKeys(tx: Tx, keys: string[]): Promise<void> {
  for (const key of [...new Set(keys)].sort())
    await sql`SELECT pg_advisory_xact_lock(${BLOB_LOCK_CLASS}::int, hashtext(${key}))`.execute(tx);
}
/** Advisory-lock class for blob keys ('LeTB'). */
const BLOB_LOCK_CLASS = 0x4c655442;
