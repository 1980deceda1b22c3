/**
 * Notification preferences: on/off, message text in the notification, sound. Kept in this
 * browser's localStorage for now (per device, not synced: the server stores none of it yet);
 * the permission banner's "Not now" lives here too.
 */
import { useSyncExternalStore } from 'react';

export interface NotifyPrefs {
  enabled: boolean;
  preview: boolean;
  sound: boolean;
  /** The person said "Not now" to the permission banner. */
  bannerDismissed: boolean;
}

export const defaultPrefs: NotifyPrefs = {
  enabled: true,
  preview: true,
  sound: true,
  bannerDismissed: false,
};
const KEY = 'letter.notifications';
const listeners = new Set<() => void>();
let current: NotifyPrefs | null = null;

function read(): NotifyPrefs {
  try {
    const raw = window.localStorage.getItem(KEY);
    const parsed = raw ? (JSON.parse(raw) as Partial<NotifyPrefs>) : {};
    const pick = (name: keyof NotifyPrefs) =>
      typeof parsed[name] === 'boolean' ? parsed[name] : defaultPrefs[name];
    return {
      enabled: pick('enabled'),
      preview: pick('preview'),
      sound: pick('sound'),
      bannerDismissed: pick('bannerDismissed'),
    };
  } catch {
    return defaultPrefs;
  }
}

export function getPrefs(): NotifyPrefs {
  current ??= read();
  return current;
}

export function setPrefs(change: Partial<NotifyPrefs>): void {
  const before = getPrefs();
  // Nothing new: no write, and no re-render of everything that reads the prefs.
  if (Object.entries(change).every(([name, value]) => before[name as keyof NotifyPrefs] === value))
    return;
  current = { ...before, ...change };
  try {
    window.localStorage.setItem(KEY, JSON.stringify(current));
  } catch {
    // Storage full or refused: the choice still holds for this visit.
  }
  for (const listener of listeners) listener();
}

/**
 * The browser's permission changed (the person answered its prompt): the prefs' readers look
 * again (web push subscribes once it is granted).
 */
export function permissionChanged(): void {
  current = { ...getPrefs() };
  for (const listener of listeners) listener();
}

/** For tests: forget the cached copy so the next read sees localStorage. */
export function resetPrefsCache(): void {
  current = null;
}

function subscribe(listener: () => void) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function useNotifyPrefs(): NotifyPrefs {
  return useSyncExternalStore(subscribe, getPrefs, getPrefs);
}

/** The browser's permission, or 'unsupported' where there is no Notification API. */
export type Permission = NotificationPermission | 'unsupported';

export function notificationPermission(): Permission {
  return typeof Notification === 'undefined' ? 'unsupported' : Notification.permission;
}
