/**
 * The browser's word on the network. A socket can look open for a minute after the network is
 * gone (until its heartbeat fails), and meanwhile sends would sit in its buffer rather than in
 * the outbox; so on `offline` the client drops the socket at once, and on `online` it
 * reconnects at once (skipping any backoff wait) and catches up.
 */
export interface NetworkTarget {
  addEventListener(type: 'online' | 'offline', listener: () => void): void;
  removeEventListener(type: 'online' | 'offline', listener: () => void): void;
}

/** `window` in browsers; null where there is none (Node). */
export function globalNetworkTarget(): NetworkTarget | null {
  const target = globalThis as Partial<NetworkTarget>;
  return typeof target.addEventListener === 'function' &&
    typeof target.removeEventListener === 'function'
    ? (target as NetworkTarget)
    : null;
}

/** Calls `offline`/`online` on the target's events; returns the function that stops watching. */
export function watchNetwork(
  target: NetworkTarget,
  handlers: { offline: () => void; online: () => void },
): () => void {
  const offline = () => handlers.offline();
  const online = () => handlers.online();
  target.addEventListener('offline', offline);
  target.addEventListener('online', online);
  return () => {
    target.removeEventListener('offline', offline);
    target.removeEventListener('online', online);
  };
}
