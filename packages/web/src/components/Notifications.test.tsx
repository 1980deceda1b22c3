// @vitest-environment jsdom
/**
 * The permission banner, the notification settings and the in-tab notifier, against a fake
 * Notification API (jsdom has none) and a document whose visibility the test decides.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { act, cleanup, render, renderHook, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { Conversation } from '@letter/protocol';
import { NotificationBanner } from './NotificationBanner';
import { NotificationSettings } from './NotificationSettings';
import { notificationText, useMessageNotifications } from '../app/notifications';
import { getPrefs, resetPrefsCache } from '../lib/notify-prefs';
import { playMessageSound } from '../lib/sound';
import { alice, bob, carol, conversation, member, message } from '../testing/fixtures';

vi.mock('../lib/sound', () => ({ playMessageSound: vi.fn() }));

const shown: { title: string; options: NotificationOptions; instance: { onclick?: () => void } }[] =
  [];
let permission: NotificationPermission = 'default';
let visibility: DocumentVisibilityState = 'visible';

class FakeNotification {
  static get permission() {
    return permission;
  }
  static requestPermission = vi.fn(async () => (permission = 'granted'));
  onclick: (() => void) | null = null;
  close = vi.fn();
  constructor(title: string, options: NotificationOptions) {
    shown.push({ title, options, instance: this as { onclick?: () => void } });
  }
}

beforeEach(() => {
  shown.length = 0;
  permission = 'default';
  visibility = 'visible';
  window.localStorage.clear();
  resetPrefsCache();
  vi.stubGlobal('Notification', FakeNotification);
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => visibility });
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe('NotificationBanner', () => {
  it('asks for permission on a click, then goes away', async () => {
    const user = userEvent.setup();
    render(<NotificationBanner />);
    await user.click(screen.getByRole('button', { name: 'Turn on notifications' }));
    expect(FakeNotification.requestPermission).toHaveBeenCalled();
    expect(screen.queryByRole('region', { name: 'Notifications' })).toBeNull();
  });

  it('"Not now" hides it for good, in this browser', async () => {
    const user = userEvent.setup();
    render(<NotificationBanner />);
    await user.click(screen.getByRole('button', { name: 'Not now' }));
    expect(screen.queryByRole('region', { name: 'Notifications' })).toBeNull();
    cleanup();
    resetPrefsCache();
    render(<NotificationBanner />);
    expect(screen.queryByRole('region', { name: 'Notifications' })).toBeNull();
  });

  it('is not shown once permission was granted or denied', () => {
    permission = 'denied';
    render(<NotificationBanner />);
    expect(screen.queryByRole('region', { name: 'Notifications' })).toBeNull();
  });
});

describe('NotificationSettings', () => {
  it('switches notifications, preview and sound, kept in localStorage', async () => {
    permission = 'granted';
    const user = userEvent.setup();
    const onPreviewChange = vi.fn();
    render(<NotificationSettings onPreviewChange={onPreviewChange} />);
    const preview = screen.getByRole('checkbox', { name: 'Show message text in notifications' });
    expect((preview as HTMLInputElement).checked).toBe(true);
    await user.click(preview);
    // The account's setting on the server: every device's pushes follow it.
    expect(onPreviewChange).toHaveBeenCalledExactlyOnceWith(false);
    await user.click(screen.getByRole('checkbox', { name: 'Play a sound' }));
    expect(getPrefs()).toMatchObject({ enabled: true, preview: false, sound: false });
    await user.click(screen.getByRole('checkbox', { name: 'Show notifications' }));
    expect((preview as HTMLInputElement).disabled).toBe(true);
    resetPrefsCache();
    expect(getPrefs()).toMatchObject({ enabled: false, preview: false, sound: false });
  });
});

describe('in-tab notifications', () => {
  const group = (seq: number, from = bob.id, extra: Partial<Conversation> = {}) =>
    conversation({
      id: 'g1',
      kind: 'group',
      title: 'Climbing',
      members: [member(alice), member(bob), member(carol)],
      lastMessage: message(seq, from, `message ${seq}`, '2026-01-01T10:00:00.000Z'),
      lastSeq: seq,
      ...extra,
    });

  function run(initial: Conversation[]) {
    const onOpen = vi.fn();
    const hook = renderHook(
      ({ list }: { list: Conversation[] }) => useMessageNotifications(list, alice.id, onOpen),
      { initialProps: { list: initial } },
    );
    return { onOpen, update: (list: Conversation[]) => hook.rerender({ list }), hook };
  }

  it('a new message while the tab is hidden shows sender, group and text, tagged per chat', async () => {
    permission = 'granted';
    visibility = 'hidden';
    const { onOpen, update } = run([group(1)]);
    expect(shown).toHaveLength(0); // what was there at start is not news
    update([group(2)]);
    expect(shown).toEqual([
      expect.objectContaining({
        title: 'Bob Brown in Climbing',
        options: expect.objectContaining({ body: 'message 2', tag: 'g1' }),
      }),
    ]);
    act(() => shown[0]!.instance.onclick!());
    expect(onOpen).toHaveBeenCalledWith('g1');
  });

  it('nothing while the tab is visible, for my own or a muted chat, or when switched off', () => {
    permission = 'granted';
    const { update } = run([group(1)]);
    update([group(2)]);
    visibility = 'hidden';
    update([group(3, alice.id)]);
    update([group(4, bob.id, { muted: true })]);
    window.localStorage.setItem('letter.notifications', JSON.stringify({ enabled: false }));
    resetPrefsCache();
    update([group(5)]);
    expect(shown).toHaveLength(0);
  });

  it('chimes for a message in another chat or a hidden tab, not in the open chat, not when off', () => {
    vi.mocked(playMessageSound).mockClear();
    const onOpen = vi.fn();
    const hook = renderHook(
      ({ list, openId }: { list: Conversation[]; openId: string | null }) =>
        useMessageNotifications(list, alice.id, onOpen, openId),
      { initialProps: { list: [group(1)], openId: 'g1' as string | null } },
    );
    hook.rerender({ list: [group(2)], openId: 'g1' });
    expect(playMessageSound).not.toHaveBeenCalled();
    hook.rerender({ list: [group(3)], openId: null });
    expect(playMessageSound).toHaveBeenCalledTimes(1);
    visibility = 'hidden';
    hook.rerender({ list: [group(4)], openId: 'g1' });
    expect(playMessageSound).toHaveBeenCalledTimes(2);
    hook.rerender({ list: [group(5, alice.id)], openId: null });
    window.localStorage.setItem('letter.notifications', JSON.stringify({ sound: false }));
    resetPrefsCache();
    hook.rerender({ list: [group(6)], openId: null });
    expect(playMessageSound).toHaveBeenCalledTimes(2);
  });

  it('"New message" instead of the text when previews are off', () => {
    const text = notificationText(group(3), group(3).lastMessage!, false);
    expect(text).toEqual({ title: 'Bob Brown in Climbing', body: 'New message' });
  });

  it('a photo without text says 📷 Photo', () => {
    const photo = {
      ...group(3).lastMessage!,
      body: '',
      attachments: [{ id: 'f1', name: 'a.jpg', size: 1, mime: 'image/jpeg', url: '/x' }],
    };
    expect(notificationText(group(3), photo, true).body).toBe('📷 Photo');
  });

  it('reports the first message of the visit: the moment for the banner', async () => {
    const { update, hook } = run([group(1)]);
    expect(hook.result.current).toBe(false);
    update([group(2)]);
    await act(async () => undefined);
    expect(hook.result.current).toBe(true);
  });
});
