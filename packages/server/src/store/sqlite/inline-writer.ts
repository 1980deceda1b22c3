/**
 * The SQLite store's writer (sqlite/writer.ts) on the main thread, behind the same messages a
 * worker thread would get (`LETTER_SQLITE_WRITER=inline`). On one core a thread of its own adds
 * no compute, only hand-offs: a structured clone and a wake-up each way per batch, and four
 * threads (event loop, writer, fsync, event loop) taking turns on the core for every append.
 * Inline saves those (~8 % of the CPU per message), but the writer's long steps (a search-index
 * catch-up, a tail copy of the log, a large batch) then hold the event loop for their whole
 * run, where the scheduler would have interleaved them with it: the tail latency rose. So it is
 * the default only where the process may use one core (worker-store.ts `defaultWriterPlace`).
 * docs/performance.md ("The writer on the main thread", round twenty-three) has the measurements.
 *
 * Architecture Invariant: what crosses here is what a worker would have received, never an
 * object both sides keep: every call's arguments and every reply are copied with
 * `structuredClone`, except an append's (fresh objects on both sides, the message as JSON) and a
 * history page's JSON. An exception in the writer fails the store (its 'error' event), never
 * the process.
 */
import { EventEmitter } from 'node:events';
import type { StoreMethod } from '../shared/store-methods.js';
import { isHistoryJsonReply, type FromWorker, type ToWorker, type WorkerOptions } from './rpc.js';
import type { startWriter as StartWriter, Writer } from './writer.js';
import { fromWire } from './wire-calls.js';
import { InFlight } from '../../util/in-flight.js';

/** Calls whose arguments and replies cross uncopied (see the invariant above). */
const UNCOPIED: ReadonlySet<StoreMethod> = new Set(['appendMessage']);

export class InlineWriter extends EventEmitter {
  private readonly writer: Writer;
  /** Ref'd while the store owes answers, as a worker thread would be. */
  private readonly keepAlive = setInterval(() => {}, 2 ** 30);
  /**
   * The method of each call not answered yet, to know which replies to copy (not one Map for the
   * writer's life: util/in-flight.ts says why).
   */
  private readonly methods = new InFlight<StoreMethod>();
  private failed = false;
  private ended = false;

  constructor(startWriter: typeof StartWriter, options: WorkerOptions) {
    super();
    this.keepAlive.unref();
    try {
      this.writer = startWriter(
        { ...options, inline: true },
        {
          // Delivered as a worker's message would be: later, never inside the writer's own call.
          post: (message) => queueMicrotask(() => this.deliver(message)),
          done: () => {},
          guard: (work) => () => {
            if (this.failed || this.ended) return;
            try {
              work();
            } catch (error) {
              this.fail(error);
            }
          },
        },
      );
    } catch (error) {
      clearInterval(this.keepAlive);
      throw error;
    }
  }

  postMessage(message: ToWorker): void {
    if (this.failed || this.ended) return;
    if (message.type === 'calls') {
      for (const wire of message.calls) {
        // Never a string here: worker-store.ts packs calls only for a worker thread.
        const call = fromWire(wire);
        this.methods.set(call.id, call.method);
        if (!UNCOPIED.has(call.method)) call.args = structuredClone(call.args);
      }
    }
    try {
      this.writer.receive(message);
    } catch (error) {
      this.fail(error);
    }
  }

  ref(): void {
    this.keepAlive.ref();
  }

  unref(): void {
    this.keepAlive.unref();
  }

  terminate(): Promise<number> {
    this.ended = true;
    clearInterval(this.keepAlive);
    return Promise.resolve(0);
  }

  private deliver(message: FromWorker): void {
    if (this.ended) return;
    if (message.type === 'replies') {
      for (const reply of message.replies) {
        const method = this.methods.take(reply.id);
        if (!('value' in reply) || (method !== undefined && UNCOPIED.has(method))) continue;
        if (method === 'history' && isHistoryJsonReply(reply.value)) continue;
        reply.value = structuredClone(reply.value);
      }
    }
    this.emit('message', message);
  }

  private fail(error: unknown): void {
    if (this.failed) return;
    this.failed = true;
    clearInterval(this.keepAlive);
    this.emit('error', error instanceof Error ? error : new Error(String(error)));
  }
}
