// @vitest-environment jsdom
/**
 * The push subscription's life in the app, against a fake service worker registration and
 * PushManager (jsdom has neither): subscribed once permission is granted, replaced when the
 * server's key changed, dropped when notifications go off and on logout.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { act, cleanup, renderHook } from '@testing-library/react';
import { permissionChanged, resetPrefsCache, setPrefs } from '../lib/notify-prefs';
import type { PushPort } from './push-port';
import { dropWebPush, useWebPush } from './web-push';

const SERVER_KEY = Buffer.from(Array.from({ length: 65 }, (_, i) => i)).toString('base64url');
let permission: NotificationPermission = 'default';

interface FakeSubscription {
  endpoint: string;
  options: { applicationServerKey: ArrayBuffer };
  toJSON(): { endpoint: string; keys: { p256dh: string; auth: string } };
  unsubscribe: ReturnType<typeof vi.fn>;
}
let current: FakeSubscription | null = null;
let serial = 0;

function fakeSubscription(key: Uint8Array): FakeSubscription {
  const endpoint = `https://push.example/${++serial}`;
  const subscription: FakeSubscription = {
    endpoint,
    options: { applicationServerKey: key.slice().buffer },
    toJSON: () => ({ endpoint, keys: { p256dh: 'BPk', auth: 'au' } }),
    unsubscribe: vi.fn(async () => {
      if (current === subscription) current = null;
      return true;
    }),
  };
  return subscription;
}

const pushManager = {
  getSubscription: vi.fn(async () => current),
  subscribe: vi.fn(async (options: { applicationServerKey: Uint8Array }) => {
    current = fakeSubscription(new Uint8Array(options.applicationServerKey));
    return current;
  }),
};

function fakePort(): PushPort & { [K in keyof PushPort]: ReturnType<typeof vi.fn> } {
  return {
    pushKey: vi.fn(async () => SERVER_KEY),
    addPushSubscription: vi.fn(async () => undefined),
    removePushSubscription: vi.fn(async () => undefined),
    pushPreview: vi.fn(async () => true),
    setPushPreview: vi.fn(async () => undefined),
  };
}

/** Lets the effect's chain of awaits run out. */
const settle = () => act(() => new Promise((resolve) => setTimeout(resolve, 0)));

beforeEach(() => {
  permission = 'default';
  current = null;
  window.localStorage.clear();
  resetPrefsCache();
  vi.clearAllMocks();
  vi.stubGlobal('Notification', {
    get permission() {
      return permission;
    },
  });
  vi.stubGlobal('PushManager', class {});
  const registration = { pushManager };
  Object.defineProperty(navigator, 'serviceWorker', {
    configurable: true,
    value: { getRegistration: async () => registration, ready: Promise.resolve(registration) },
  });
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe('web push in the app', () => {
  it('subscribes with the server key once permission is granted, and registers it', async () => {
    const port = fakePort();
    renderHook(() => useWebPush(port));
    await settle();
    expect(pushManager.subscribe).not.toHaveBeenCalled();
    permission = 'granted';
    // What the banner does after the browser said yes.
    act(() => permissionChanged());
    await settle();
    expect(pushManager.subscribe).toHaveBeenCalledTimes(1);
    const options = pushManager.subscribe.mock.calls[0]![0] as {
      userVisibleOnly: boolean;
      applicationServerKey: Uint8Array;
    };
    expect(options.userVisibleOnly).toBe(true);
    expect(Buffer.from(options.applicationServerKey).toString('base64url')).toBe(SERVER_KEY);
    expect(port.addPushSubscription).toHaveBeenCalledWith({
      endpoint: current!.endpoint,
      keys: { p256dh: 'BPk', auth: 'au' },
    });
  });

  it('replaces a subscription made with another key; turned off, drops it on both sides', async () => {
    permission = 'granted';
    const stale = fakeSubscription(new Uint8Array(65).fill(9));
    current = stale;
    const port = fakePort();
    renderHook(() => useWebPush(port));
    await settle();
    expect(port.removePushSubscription).toHaveBeenCalledWith(stale.endpoint);
    expect(stale.unsubscribe).toHaveBeenCalled();
    expect(pushManager.subscribe).toHaveBeenCalledTimes(1);
    const fresh = current!;
    expect(fresh).not.toBe(stale);
    expect(port.addPushSubscription).toHaveBeenCalledWith(
      expect.objectContaining({ endpoint: fresh.endpoint }),
    );
    // Notifications off in the settings.
    act(() => setPrefs({ enabled: false }));
    await settle();
    expect(port.removePushSubscription).toHaveBeenLastCalledWith(fresh.endpoint);
    expect(fresh.unsubscribe).toHaveBeenCalled();
    expect(current).toBeNull();
  });

  it('logout drops the subscription', async () => {
    permission = 'granted';
    const port = fakePort();
    renderHook(() => useWebPush(port));
    await settle();
    const subscribed = current!;
    await act(() => dropWebPush(port));
    expect(port.removePushSubscription).toHaveBeenCalledWith(subscribed.endpoint);
    expect(subscribed.unsubscribe).toHaveBeenCalled();
  });
});
