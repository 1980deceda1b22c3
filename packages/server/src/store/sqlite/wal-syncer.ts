/**
 * The thread that fsyncs the SQLite WAL for the main thread (sqlite/wal-sync.ts). Not libuv's
 * thread pool: argon2 hashing runs there, and a burst of logins would queue every message's
 * acknowledgement behind 50 ms hashes. One request at a time (WalSync never overlaps syncs).
 */
import { closeSync, fdatasyncSync, openSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

export interface WalSyncerOptions {
  walFile: string;
}
export type ToSyncer = { type: 'sync' } | { type: 'close' };
export type FromSyncer = { type: 'synced'; error: { message: string; code?: string } | null };

const port = parentPort;
if (!port) throw new Error('sqlite/wal-syncer.ts must run in a worker thread');
const { walFile } = workerData as WalSyncerOptions;
/** Opened at the first sync (a committed write means the file exists), then kept. */
let fd: number | null = null;

port.on('message', (message: ToSyncer) => {
  if (message.type === 'close') {
    if (fd !== null) closeSync(fd);
    port.close();
    return;
  }
  let error: FromSyncer['error'] = null;
  try {
    fd ??= openSync(walFile, 'r');
    fdatasyncSync(fd);
  } catch (caught) {
    const code = (caught as { code?: unknown }).code;
    error = {
      message: (caught as Error).message,
      ...(typeof code === 'string' && { code }),
    };
  }
  port.postMessage({ type: 'synced', error } satisfies FromSyncer);
});
