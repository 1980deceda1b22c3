/**
 * Worker-thread host of the SQLite store's writer (sqlite/writer.ts): the main thread's calls
 * arrive as messages and the replies go back the same way. An exception in the writer ends the
 * thread; its 'error' event fails the store (sqlite/worker-store.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ToWorker, WorkerOptions } from './rpc.js';
import { startWriter } from './writer.js';

const port = parentPort;
if (!port) throw new Error('sqlite/worker.ts must run in a worker thread');

// A failure here surfaces as the worker's 'error' event, which rejects openSqliteStore.
const writer = startWriter(workerData as WorkerOptions, {
  post: (message) => port.postMessage(message),
  done: () => port.close(),
  guard: (work) => work,
});
port.on('message', (message: ToWorker) => writer.receive(message));
