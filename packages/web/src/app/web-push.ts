/**
 * Web push for this browser: while notifications are on and permitted, the service worker's
 * push subscription (made with the server's VAPID key) is registered with the server for this
 * session; turned off or signing out, it is deleted there and unsubscribed here. A subscription
 * made with another key (the server's key changed) is replaced. The service worker shows what
 * arrives (sw/sw.js).
 */
import { useEffect, useMemo } from 'react';
import { notificationPermission, setPrefs, useNotifyPrefs } from '../lib/notify-prefs';
import type { PushPort } from './push-port';

export type PushState = 'subscribed' | 'unsubscribed' | 'unsupported';

function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function sameBytes(a: ArrayBuffer | null | undefined, b: Uint8Array): boolean {
  if (!a || a.byteLength !== b.length) return false;
  const view = new Uint8Array(a);
  return view.every((byte, i) => byte === b[i]);
}

/** The service worker's registration, or null (dev server, no support, not registered). */
async function registration(): Promise<ServiceWorkerRegistration | null> {
  if (!('serviceWorker' in navigator) || typeof PushManager === 'undefined') return null;
  const found = await navigator.serviceWorker.getRegistration('/');
  if (!found) return null;
  // Subscribing needs an active worker; right after the first registration it may still install.
  return navigator.serviceWorker.ready;
}

async function drop(port: PushPort, subscription: PushSubscription): Promise<void> {
  // The server forgets it too on logout; a failure here leaves a row that 410s later.
  await port.removePushSubscription(subscription.endpoint).catch(() => undefined);
  await subscription.unsubscribe().catch(() => false);
}

/** Brings this browser's subscription in line with `wanted` (and the permission). */
export async function syncPushSubscription(port: PushPort, wanted: boolean): Promise<PushState> {
  const worker = await registration();
  if (!worker) return 'unsupported';
  const existing = await worker.pushManager.getSubscription();
  if (!wanted || notificationPermission() !== 'granted') {
    if (existing) await drop(port, existing);
    return 'unsubscribed';
  }
  const key = fromBase64url(await port.pushKey());
  let subscription = existing;
  if (subscription && !sameBytes(subscription.options.applicationServerKey, key)) {
    await drop(port, subscription);
    subscription = null;
  }
  subscription ??= await worker.pushManager.subscribe({
    userVisibleOnly: true,
    applicationServerKey: key,
  });
  const json = subscription.toJSON();
  if (!json.endpoint || !json.keys?.p256dh || !json.keys.auth) return 'unsupported';
  // Every visit: the same endpoint again moves it to this session (the last one may be gone).
  await port.addPushSubscription({
    endpoint: json.endpoint,
    keys: { p256dh: json.keys.p256dh, auth: json.keys.auth },
  });
  return 'subscribed';
}

/** Keeps the subscription in line with the settings while signed in; loads the preview setting. */
export function useWebPush(port: PushPort): void {
  const prefs = useNotifyPrefs();
  // Granting permission re-renders through permissionChanged (see NotificationBanner); the
  // permission is read when the prefs change, not at every render (reading it is not free).
  const wanted = useMemo(() => prefs.enabled && notificationPermission() === 'granted', [prefs]);
  useEffect(() => {
    void inTurn(() => syncPushSubscription(port, wanted));
  }, [port, wanted]);
  useEffect(() => {
    let live = true;
    port.pushPreview().then(
      (preview) => live && setPrefs({ preview }),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [port]);
}

/**
 * Renders nothing: keeps web push in line from its own component, so a change of the
 * notification prefs re-renders this, not the whole messenger.
 */
export function WebPush({ port }: { port: PushPort }): null {
  useWebPush(port);
  return null;
}

/** Before signing out: the push subscription goes with the session. */
export function dropWebPush(port: PushPort): Promise<unknown> {
  // Logging out never waits long on it: a worker that never activates, a server not answering.
  return Promise.race([
    inTurn(() => syncPushSubscription(port, false)),
    new Promise((resolve) => setTimeout(resolve, LOGOUT_WAIT_MS)),
  ]);
}

const LOGOUT_WAIT_MS = 3000;

/** One sync at a time: two at once could both subscribe, or drop what the other made. */
let turn: Promise<unknown> = Promise.resolve();
function inTurn(work: () => Promise<PushState>): Promise<unknown> {
  turn = turn.then(work).catch((error: unknown) => {
    console.warn('letter: web push not set up', error);
  });
  return turn;
}

/** Tells the service worker a chat was read here, so its notifications close. */
export function notifyRead(conversationId: string, seq: number): void {
  navigator.serviceWorker?.controller?.postMessage({ type: 'letter-read', conversationId, seq });
}
