/**
 * The two IndexedDB steps the sdk's stores share (the outbox and the saved chat list): opening a
 * database at version 1, and one read-write transaction that resolves when it committed.
 */

/** Opens `name` (creating its object stores through `upgrade` the first time). */
export function openDatabase(
  factory: IDBFactory,
  name: string,
  upgrade: (db: IDBDatabase) => void,
  what: string,
): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = factory.open(name, 1);
    request.onupgradeneeded = () => upgrade(request.result);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error(`cannot open the ${what}`));
  });
}

/** Runs `change` on `storeName` in one read-write transaction; resolves once it completed. */
export async function writeStore(
  db: Promise<IDBDatabase>,
  storeName: string,
  change: (store: IDBObjectStore) => void,
  what: string,
): Promise<void> {
  const opened = await db;
  await new Promise<void>((resolve, reject) => {
    const tx = opened.transaction(storeName, 'readwrite');
    change(tx.objectStore(storeName));
    tx.oncomplete = () => resolve();
    tx.onabort = tx.onerror = () => reject(tx.error ?? new Error(`${what} write failed`));
  });
}
