import { createContext, useContext, useSyncExternalStore } from 'react';
import type { AppSnapshot, LetterPort } from './port';

export const PortContext = createContext<LetterPort | null>(null);

export function usePort(): LetterPort {
  const port = useContext(PortContext);
  if (!port) throw new Error('usePort outside <PortContext.Provider>');
  return port;
}

/** The client's state, re-rendering when it changes. */
export function useSnapshot(): AppSnapshot {
  const port = usePort();
  return useSyncExternalStore(port.subscribe, port.getSnapshot, port.getSnapshot);
}

function subscribeHash(listener: () => void) {
  window.addEventListener('hashchange', listener);
  return () => window.removeEventListener('hashchange', listener);
}

/**
 * The open chat lives in the URL (#/chat/<id>) so a reload reopens it and the phone's back
 * button returns to the list.
 */
export function useSelectedChat(): [string | null, (id: string | null) => void] {
  const hash = useSyncExternalStore(
    subscribeHash,
    () => window.location.hash,
    () => '',
  );
  const match = /^#\/chat\/(.+)$/.exec(hash);
  const selected = match?.[1] ? decodeURIComponent(match[1]) : null;
  const select = (id: string | null) => {
    if (id === null) {
      // Going back pops the entry the chat pushed, so the phone's back button and ours agree.
      // The browser fires hashchange itself once back() lands.
      if (window.history.state?.letterChat) return window.history.back();
      window.history.replaceState(null, '', window.location.pathname + window.location.search);
      window.dispatchEvent(new HashChangeEvent('hashchange'));
      return;
    }
    const url = `#/chat/${encodeURIComponent(id)}`;
    if (selected) window.history.replaceState({ letterChat: true }, '', url);
    else window.history.pushState({ letterChat: true }, '', url);
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  };
  return [selected, select];
}
