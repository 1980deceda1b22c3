/* global self, caches, clients, SHELL, VERSION */
/**
 * Letter's service worker, served at /sw.js (scope /). The build prepends `SHELL` (every file of
 * the build, and `/`) and `VERSION` (a hash of that list).
 * - The app shell is cached at install, so Letter opens offline; the sdk's IndexedDB snapshot
 *   then shows the last synced chats, read-only until the connection is back.
 * - Pages are fetched from the network first (a new build shows at once), the cache when
 *   offline; hashed assets from the cache first. The API and the socket are never touched.
 * - `push`: a Web Push payload `{type:"message", conversationId, seq, title, body?}` becomes a
 *   notification, one per conversation (`tag`), unless a Letter tab is focused;
 *   `{type:"read", conversationId, seq}` (read on some device) closes it when it shows no later
 *   message. A page's `{type:"letter-read"}` message does the same for reads on this device.
 * - `notificationclick`: focuses an open Letter tab and opens the chat there, or opens a new one.
 */
const CACHE = `letter-shell-${VERSION}`;

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) =>
        Promise.all(
          keys
            .filter((k) => k.startsWith('letter-shell-') && k !== CACHE)
            .map((k) => caches.delete(k)),
        ),
      )
      .then(() => self.clients.claim()),
  );
});

function isPassThrough(url) {
  return (
    url.origin !== self.location.origin ||
    url.pathname.startsWith('/api/') ||
    url.pathname === '/ws' ||
    url.pathname === '/healthz' ||
    url.pathname === '/metrics'
  );
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (isPassThrough(url)) return;
  if (request.mode === 'navigate') {
    event.respondWith(
      fetch(request)
        .then((response) => {
          if (response.ok) {
            const copy = response.clone();
            void caches.open(CACHE).then((cache) => cache.put('/', copy));
          }
          return response;
        })
        .catch(() =>
          caches.match('/', { cacheName: CACHE }).then((hit) => hit || Response.error()),
        ),
    );
    return;
  }
  event.respondWith(
    caches.match(request, { cacheName: CACHE }).then((hit) => hit || fetch(request)),
  );
});

function chatUrl(conversationId) {
  return `/#/chat/${encodeURIComponent(conversationId)}`;
}

/** A Letter tab the person is looking at: it shows the message itself, so no notification. */
function focusedTab() {
  return clients
    .matchAll({ type: 'window', includeUncontrolled: true })
    .then((windows) => windows.some((w) => w.visibilityState === 'visible' && w.focused));
}

function closeRead(conversationId, seq) {
  return self.registration.getNotifications({ tag: conversationId }).then((list) =>
    list.forEach((n) => {
      const shown = n.data && typeof n.data.seq === 'number' ? n.data.seq : 0;
      if (typeof seq !== 'number' || shown <= seq) n.close();
    }),
  );
}

self.addEventListener('push', (event) => {
  let data;
  try {
    data = event.data ? event.data.json() : null;
  } catch {
    data = null;
  }
  if (!data || typeof data.conversationId !== 'string') return;
  if (data.type === 'read') {
    event.waitUntil(closeRead(data.conversationId, data.seq));
    return;
  }
  if (data.type !== 'message') return;
  const title = typeof data.title === 'string' && data.title ? data.title : 'Letter';
  const body = typeof data.body === 'string' && data.body ? data.body : 'New message';
  // Chrome (userVisibleOnly) lets a push show nothing only while a tab of the site is focused.
  event.waitUntil(
    focusedTab().then((focused) =>
      focused
        ? undefined
        : self.registration.showNotification(title, {
            body,
            tag: data.conversationId,
            renotify: true,
            icon: '/icons/icon-192.png',
            badge: '/icons/icon-192.png',
            data: { conversationId: data.conversationId, seq: data.seq },
          }),
    ),
  );
});

// The page read a chat here: its notifications go (another device's reads come as `read` pushes).
self.addEventListener('message', (event) => {
  const data = event.data;
  if (data && data.type === 'letter-read' && typeof data.conversationId === 'string')
    event.waitUntil(closeRead(data.conversationId, data.seq));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const conversationId = event.notification.data && event.notification.data.conversationId;
  if (typeof conversationId !== 'string') return;
  event.waitUntil(
    clients.matchAll({ type: 'window', includeUncontrolled: true }).then((windows) => {
      const open = windows.find((w) => new URL(w.url).origin === self.location.origin);
      if (open) {
        open.postMessage({ type: 'letter-open-chat', conversationId });
        return open.focus();
      }
      return clients.openWindow(chatUrl(conversationId));
    }),
  );
});
