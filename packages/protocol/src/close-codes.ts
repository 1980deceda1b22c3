/**
 * WebSocket close codes and what a client does on each. The action is all the sdk needs:
 * - `reconnect`: back off with full jitter and connect again, then `sync`.
 * - `refresh`: get a new access token first (the refresh token may also be dead: then stop).
 * - `stop`: do not reconnect on your own; the user must act.
 */
export const closeCodes = {
  normal: { code: 1000, action: 'stop', reason: 'normal closure' },
  going_away: { code: 1001, action: 'reconnect', reason: 'going away' },
  policy: {
    code: 1008,
    action: 'reconnect',
    reason: 'policy violation (rate limit, slow consumer)',
  },
  too_big: { code: 1009, action: 'reconnect', reason: 'frame too big' },
  restart: { code: 1012, action: 'reconnect', reason: 'server restart; reconnect with jitter' },
  unavailable: {
    code: 1013,
    action: 'reconnect',
    reason: 'try again later (the database is away)',
  },
  unauthorized: { code: 4401, action: 'refresh', reason: 'unauthorized' },
  auth_timeout: { code: 4408, action: 'reconnect', reason: 'no auth frame in time' },
} as const satisfies Record<
  string,
  { code: number; action: 'reconnect' | 'refresh' | 'stop'; reason: string }
>;

export type CloseName = keyof typeof closeCodes;
export type CloseAction = 'reconnect' | 'refresh' | 'stop';

/** What to do after a close with this code; unknown codes (e.g. 1006, abnormal) mean reconnect. */
export function closeAction(code: number): CloseAction {
  for (const entry of Object.values(closeCodes)) if (entry.code === code) return entry.action;
  return 'reconnect';
}
