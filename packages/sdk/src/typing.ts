/** Expires typing indicators: one timer, set for the earliest expiry in the state. */
import type { Clock, TimerHandle } from './clock.js';
import type { ClientState, StateEvent } from './state/types.js';

export class TypingExpiry {
  private timer: { handle: TimerHandle; at: number } | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly getState: () => ClientState,
    private readonly dispatch: (event: StateEvent) => void,
  ) {}

  /** Drops what expired and sets the timer for the next expiry. */
  schedule(): void {
    const now = this.clock.now();
    this.dispatch({ type: 'typing.expire', now });
    let next = Infinity;
    for (const users of Object.values(this.getState().typing)) {
      for (const expiresAt of Object.values(users)) next = Math.min(next, expiresAt);
    }
    if (this.timer && this.timer.at <= next) return;
    this.stop();
    if (next === Infinity) return;
    this.timer = {
      at: next,
      handle: this.clock.setTimeout(() => {
        this.timer = null;
        this.schedule();
      }, next - now),
    };
  }

  stop(): void {
    if (this.timer) this.clock.clearTimeout(this.timer.handle);
    this.timer = null;
  }
}
