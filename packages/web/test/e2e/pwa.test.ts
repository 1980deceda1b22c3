/**
 * End to end, the installable app and its notifications in a real Chromium: the manifest is
 * valid and its icons are the PNGs it names, the service worker activates and controls the
 * page, a message arriving while the tab is hidden raises a notification whose click opens the
 * chat, and a push delivered through the DevTools protocol (as a push service would) shows a
 * notification whose click opens the chat in the open tab (none while the tab is focused), and a
 * `read` push closes it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { join } from 'node:path';
import { ensureScreenshotDir, launchBrowser, logIn, Pages, PASSWORD, startServer } from './harness';
import type { RunningServer } from './harness';
import * as api from './api';

let server: RunningServer;
let browser: Browser;
let pages: Pages;
let ana: api.Account;
let ben: api.Account;
let chatId: string;

beforeAll(async () => {
  server = await startServer();
  browser = await launchBrowser();
  pages = new Pages(browser, server.url);
  [ana, ben] = await Promise.all([
    api.register(server.url, 'ana_pwa', 'Ana Pwa', PASSWORD),
    api.register(server.url, 'ben_pwa', 'Ben Pwa', PASSWORD),
  ]);
  await api.addContact(server.url, ana, 'ben_pwa');
  chatId = (await api.directWith(server.url, ben, ana.user.id)).id;
  await api.post(server.url, ben, chatId, 'first words');
}, 60_000);

afterAll(async () => {
  await pages?.close();
  await browser?.close().catch(() => undefined);
  await server?.stop();
});

/**
 * A headless browser has no system notification to photograph: this draws what the service
 * worker's `registration.getNotifications()` holds as a notification card, labelled as such.
 */
async function screenshotNotifications(
  page: Page,
  shown: { title: string; body: string; tag: string }[],
): Promise<void> {
  const icon = Buffer.from(
    await (await fetch(`${server.url}/icons/icon-192.png`)).arrayBuffer(),
  ).toString('base64');
  const escape = (text: string) =>
    text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
  const cards = shown
    .map(
      (n) => `<div class="card"><img src="data:image/png;base64,${icon}" alt="">
        <div><b>${escape(n.title)}</b><p>${escape(n.body)}</p><small>${escape(server.url)} · tag ${escape(n.tag)}</small></div></div>`,
    )
    .join('');
  await page.setViewportSize({ width: 560, height: 220 });
  await page.setContent(`<style>
      body { font: 14px system-ui, sans-serif; background: #dfe3e6; margin: 16px; }
      .card { display: flex; gap: 12px; background: #fff; border-radius: 10px; padding: 12px;
        box-shadow: 0 2px 8px rgb(0 0 0 / 20%); }
      img { width: 48px; height: 48px; border-radius: 8px; }
      p { margin: 4px 0; } small { color: #555; } h1 { font-size: 12px; color: #333; }
    </style><h1>Shown by Letter's service worker (registration.getNotifications(), drawn
    here: headless Chromium has no system notification area)</h1>${cards}`);
  await page.screenshot({ path: join(ensureScreenshotDir(), 'notification.png') });
}

/** PNG width and height from its IHDR chunk. */
function pngSize(bytes: Buffer): [number, number] {
  expect(bytes.subarray(1, 4).toString('latin1')).toBe('PNG');
  return [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
}

async function signedInPage(): Promise<{ page: Page; context: BrowserContext }> {
  const page = await pages.open({ permissions: ['notifications'] });
  await logIn(page, 'ana_pwa');
  return { page, context: page.context() };
}

async function workerActive(page: Page) {
  return page.evaluate(async () => {
    const registration = await navigator.serviceWorker.ready;
    const worker = registration.active!;
    if (worker.state !== 'activated')
      await new Promise<void>((resolve) =>
        worker.addEventListener('statechange', () => worker.state === 'activated' && resolve()),
      );
    return {
      state: registration.active?.state,
      scope: registration.scope,
      script: registration.active?.scriptURL,
    };
  });
}

describe('installable app', () => {
  it('the manifest is valid, its icons are the PNGs it names, the page links it', async () => {
    const res = await fetch(`${server.url}/manifest.webmanifest`);
    expect(res.headers.get('content-type')).toMatch(/^application\/manifest\+json/);
    const manifest = (await res.json()) as Record<string, any>;
    expect(manifest).toMatchObject({
      name: 'Letter',
      short_name: 'Letter',
      start_url: '/',
      display: 'standalone',
      theme_color: '#008069',
    });
    const sizes = new Map<string, string>();
    for (const icon of manifest.icons as { src: string; sizes: string; purpose: string }[]) {
      const bytes = Buffer.from(await (await fetch(server.url + icon.src)).arrayBuffer());
      expect(pngSize(bytes).join('x')).toBe(icon.sizes);
      sizes.set(`${icon.sizes} ${icon.purpose}`, icon.src);
    }
    expect([...sizes.keys()].sort()).toEqual(['192x192 any', '512x512 any', '512x512 maskable']);

    const page = await pages.open();
    expect(await page.getAttribute('link[rel="manifest"]', 'href')).toBe('/manifest.webmanifest');
    // Chromium's own manifest parser, through the DevTools protocol: no errors.
    const cdp = await page.context().newCDPSession(page);
    const parsed = (await cdp.send('Page.getAppManifest')) as {
      errors: unknown[];
      url: string;
    };
    expect(parsed.errors).toEqual([]);
    expect(parsed.url).toBe(`${server.url}/manifest.webmanifest`);
  }, 60_000);

  it('the service worker activates with scope / and takes control of the page', async () => {
    const page = await pages.open();
    expect(await workerActive(page)).toEqual({
      state: 'activated',
      scope: `${server.url}/`,
      script: `${server.url}/sw.js`,
    });
    await page.reload();
    expect(await page.evaluate(() => navigator.serviceWorker.controller?.scriptURL)).toBe(
      `${server.url}/sw.js`,
    );
  }, 60_000);
});

describe('notifications', () => {
  it('a message while the tab is hidden raises a notification; its click opens the chat', async () => {
    const page = await pages.open({ permissions: ['notifications'] });
    // Before any app script: the page can be told it is hidden, and every Notification the app
    // makes is recorded (it is still the browser's real one).
    await page.addInitScript(() => {
      const w = window as unknown as {
        __hidden: boolean;
        __notes: { title: string; body?: string; tag?: string; note: Notification }[];
      };
      w.__hidden = false;
      w.__notes = [];
      Object.defineProperty(document, 'visibilityState', {
        configurable: true,
        get: () => (w.__hidden ? 'hidden' : 'visible'),
      });
      // The chime (WebAudio, two tones): count the tones it starts.
      (w as unknown as { __tones: number }).__tones = 0;
      const createOscillator = AudioContext.prototype.createOscillator;
      AudioContext.prototype.createOscillator = function (this: AudioContext) {
        (w as unknown as { __tones: number }).__tones++;
        return createOscillator.call(this);
      };
      const Real = window.Notification;
      window.Notification = class extends Real {
        constructor(title: string, options?: NotificationOptions) {
          super(title, options);
          w.__notes.push({ title, body: options?.body, tag: options?.tag, note: this });
        }
      } as typeof Notification;
    });
    await page.reload();
    await logIn(page, 'ana_pwa');
    await page.getByRole('button', { name: /Ben Pwa/ }).waitFor();
    await page.evaluate(() => {
      (window as unknown as { __hidden: boolean }).__hidden = true;
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await api.post(server.url, ben, chatId, 'are you there?');
    await page.waitForFunction(() => (window as any).__notes.length > 0);
    const notes = await page.evaluate(() =>
      (window as any).__notes.map((n: any) => ({ title: n.title, body: n.body, tag: n.tag })),
    );
    expect(notes).toEqual([{ title: 'Ben Pwa', body: 'are you there?', tag: chatId }]);
    // Sound on (the default): the chime played.
    expect(await page.evaluate(() => (window as any).__tones)).toBe(2);
    // The browser calls onclick when the person clicks it.
    await page.evaluate(() => (window as any).__notes[0].note.onclick());
    await page.getByRole('heading', { name: 'Ben Pwa' }).waitFor();
    expect(new URL(page.url()).hash).toBe(`#/chat/${chatId}`);
    expect(pages.problems).toEqual([]);
  }, 60_000);

  it('a push delivered through DevTools shows a notification whose click opens the chat', async () => {
    const { page, context } = await signedInPage();
    await workerActive(page);
    const cdp = await context.newCDPSession(page);
    const registrationId = await new Promise<string>((resolve) => {
      cdp.on('ServiceWorker.workerRegistrationUpdated', (event: any) => {
        const mine = event.registrations.find((r: any) => r.scopeURL === `${server.url}/`);
        if (mine) resolve(mine.registrationId);
      });
      void cdp.send('ServiceWorker.enable');
    });
    const readNotifications = () =>
      page.evaluate(async () => {
        const registration = await navigator.serviceWorker.ready;
        return (await registration.getNotifications()).map((n) => ({
          title: n.title,
          body: n.body,
          tag: n.tag,
        }));
      });
    const payload = { type: 'message', conversationId: chatId, seq: 9, title: 'Ben Pwa' };
    // While the Letter tab is focused a push shows nothing (the tab shows the message; Chrome
    // allows a silent push then). Playwright makes every page think it is focused: off for this
    // one, and another tab in front, as when the person is elsewhere.
    await cdp.send('ServiceWorker.deliverPushMessage', {
      origin: server.url,
      registrationId,
      data: JSON.stringify({ ...payload, conversationId: 'while-focused' }),
    });
    // The worker handles it after the call returns: give it a moment, then nothing may show.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await readNotifications()).toEqual([]);
    await cdp.send('Emulation.setFocusEmulationEnabled', { enabled: false });
    const elsewhere = await context.newPage();
    await elsewhere.bringToFront();
    await cdp.send('ServiceWorker.deliverPushMessage', {
      origin: server.url,
      registrationId,
      data: JSON.stringify(payload),
    });
    await expect
      .poll(readNotifications, { timeout: 10_000 })
      .toEqual([{ title: 'Ben Pwa', body: 'New message', tag: chatId }]);
    // A `read` push (read on another device) below the shown seq leaves it; up to it closes it.
    const deliver = (data: object) =>
      cdp.send('ServiceWorker.deliverPushMessage', {
        origin: server.url,
        registrationId,
        data: JSON.stringify(data),
      });
    await deliver({ type: 'read', conversationId: chatId, seq: 8 });
    await deliver({ type: 'read', conversationId: 'while-focused', seq: 99 });
    expect(await readNotifications()).toEqual([
      { title: 'Ben Pwa', body: 'New message', tag: chatId },
    ]);
    await deliver({ type: 'read', conversationId: chatId, seq: 9 });
    await expect.poll(readNotifications, { timeout: 10_000 }).toEqual([]);

    // Shown again, then clicked: the worker gets `notificationclick` as the browser would send
    // it, and the open tab opens the chat. A notification shown right after one with the same tag
    // was closed once never showed in CI (1 run of many; not reproduced in 40 rounds under load):
    // the new one shares the closed one's id in Chromium. The push is delivered again, at most
    // twice, if nothing shows; the worker must still show it for the test to pass.
    const again = { ...payload, body: 'see you at 8' };
    const shownAgain = [{ title: 'Ben Pwa', body: 'see you at 8', tag: chatId }];
    for (let attempt = 1; ; attempt++) {
      await deliver(again);
      try {
        await expect.poll(readNotifications, { timeout: 5_000 }).toEqual(shownAgain);
        break;
      } catch (error) {
        if (attempt === 3) throw error;
        console.warn(`pwa.test: push not shown after 5 s, delivering it again (${attempt})`);
      }
    }
    await screenshotNotifications(elsewhere, await readNotifications());
    const worker = context.serviceWorkers().find((w) => w.url() === `${server.url}/sw.js`);
    expect(worker).toBeDefined();
    await worker!.evaluate(async () => {
      const sw = self as any;
      const [notification] = await sw.registration.getNotifications();
      sw.dispatchEvent(new sw.NotificationEvent('notificationclick', { notification }));
    });
    await page.getByRole('heading', { name: 'Ben Pwa' }).waitFor();
    expect(new URL(page.url()).hash).toBe(`#/chat/${chatId}`);
    expect(await readNotifications()).toEqual([]);
  }, 60_000);

  it('offline, Letter opened again comes from the cache and shows the last synced chats', async () => {
    const { page, context } = await signedInPage();
    await workerActive(page);
    await page.getByRole('list', { name: 'Chats' }).getByText('Ben Pwa').waitFor();
    // The saved list is written a moment after the sync settles.
    const saved = () =>
      page.evaluate(
        () =>
          new Promise<boolean>((resolve) => {
            const open = indexedDB.open('letter-saved-state', 1);
            open.onupgradeneeded = () => open.result.createObjectStore('state');
            open.onsuccess = () => {
              const db = open.result;
              const get = db.transaction('state').objectStore('state').get('last');
              get.onsuccess = () => {
                resolve(Boolean(get.result));
                db.close();
              };
              get.onerror = () => resolve(false);
            };
            open.onerror = () => resolve(false);
          }),
      );
    await expect.poll(saved, { timeout: 15_000 }).toBe(true);
    await context.setOffline(true);
    // Letter opened again without a network: a new tab, as after closing the old one.
    await page.close();
    const again = await context.newPage();
    again.on('pageerror', (error) => pages.problems.push(`pageerror: ${error.message}`));
    await again.goto(server.url);
    const list = again.getByRole('list', { name: 'Chats' });
    await list.getByText('Ben Pwa').waitFor();
    expect(await again.getByRole('button', { name: 'Log in' }).count()).toBe(0);
    // Back online: the real session takes over.
    await context.setOffline(false);
    await again.evaluate(() => window.dispatchEvent(new Event('online')));
    await api.post(server.url, ben, chatId, 'back online');
    await list.getByText('back online').waitFor();
  }, 60_000);
});
