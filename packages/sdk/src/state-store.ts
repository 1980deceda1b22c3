/**
 * Holds the current snapshot and tells subscribers when it changed, in the shape React's
 * `useSyncExternalStore(subscribe, getSnapshot)` expects. Notifications are batched per
 * microtask: a `sync` replaying 500 messages renders once, not 500 times. `getSnapshot` is
 * always current, so nothing reads a stale state in between.
 */
import { reduce } from './state/reduce.js';
import { initialState } from './state/types.js';
import type { ClientState, StateEvent } from './state/types.js';

export class StateStore {
  private state: ClientState = initialState;
  private readonly listeners = new Set<() => void>();
  private scheduled = false;

  readonly getSnapshot = (): ClientState => this.state;

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  dispatch(event: StateEvent): ClientState {
    const next = reduce(this.state, event);
    if (next !== this.state) {
      this.state = next;
      this.schedule();
    }
    return next;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      for (const listener of [...this.listeners]) {
        try {
          listener();
        } catch (error) {
          queueMicrotask(() => {
            throw error;
          });
        }
      }
    });
  }
}
