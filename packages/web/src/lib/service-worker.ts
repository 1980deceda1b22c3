/**
 * Registers /sw.js (the built app only: the dev server has none) and follows what it asks of the
 * page: a click on a notification while a tab is open focuses it and opens the chat here.
 */
export function chatHash(conversationId: string): string {
  return `#/chat/${encodeURIComponent(conversationId)}`;
}

/** Opens a chat as the list would: a history entry of its own, then a hashchange. */
export function openChatFromOutside(conversationId: string): void {
  const hash = chatHash(conversationId);
  if (window.location.hash === hash) return;
  window.history.pushState({ letterChat: true }, '', hash);
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}

export function registerServiceWorker(): void {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.addEventListener('message', (event: MessageEvent) => {
    const data = event.data as { type?: unknown; conversationId?: unknown } | null;
    if (data?.type === 'letter-open-chat' && typeof data.conversationId === 'string')
      openChatFromOutside(data.conversationId);
  });
  if (!import.meta.env.PROD) return;
  const register = () =>
    navigator.serviceWorker
      .register('/sw.js', { scope: '/' })
      .catch((error: unknown) => console.warn('letter: no service worker', error));
  // After the first screen: installing the shell competes with nothing the person waits for.
  if (document.readyState === 'complete') register();
  else window.addEventListener('load', register, { once: true });
}
