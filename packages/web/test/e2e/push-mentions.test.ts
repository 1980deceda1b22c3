/**
 * End to end in Chromium: the web app's push subscription and @mentions.
 *
 * Web push: headless Chromium has no push service (Playwright's contexts are incognito, where
 * Chrome has no Push API, and a persistent profile's `subscribe` waits for Google's FCM), so the
 * browser's `PushManager` is replaced by a recording stand-in before the app loads. Everything
 * else is real: the app reads the VAPID key through the sdk, subscribes with it, registers the
 * subscription with the server (which checks it with the SSRF rule; the stand-in's host is
 * allow-listed), replaces a subscription made with another key, and deletes and unsubscribes it
 * when notifications go off and on logout. What the service worker does with a push is pwa.test.ts.
 *
 * Mentions: `@` in a group's composer opens the member picker, the keyboard picks, the other
 * side sees the mention highlighted and the chat list's `@` badge; axe on those screens.
 */
import { createECDH } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { ensureScreenshotDir, launchBrowser, logIn, Pages, PASSWORD, startServer } from './harness';
import type { RunningServer } from './harness';
import * as api from './api';
import { audit } from './axe';

// Allow-listed, so the SSRF rule admits it; nothing listens there (a push to it fails, harmlessly).
const PUSH_HOST = '127.0.0.1:9';
let server: RunningServer;
let browser: Browser;
let pages: Pages;
let ana: api.Account;
let ben: api.Account;
let cy: api.Account;
let groupId: string;

beforeAll(async () => {
  server = await startServer({ LETTER_PUSH_ALLOW_HOSTS: PUSH_HOST });
  browser = await launchBrowser();
  pages = new Pages(browser, server.url);
  [ana, ben, cy] = await Promise.all([
    api.register(server.url, 'ana_pm', 'Ana Mention', PASSWORD),
    api.register(server.url, 'ben_pm', 'Ben Mention', PASSWORD),
    api.register(server.url, 'cy_pm', 'Cy Mention', PASSWORD),
  ]);
  const res = await fetch(`${server.url}/api/conversations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ana.accessToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'group', title: 'Trip', memberIds: [ben.user.id, cy.user.id] }),
  });
  groupId = ((await res.json()) as { conversation: { id: string } }).conversation.id;
  await api.post(server.url, cy, groupId, 'who brings the tent?');
}, 60_000);

afterAll(async () => {
  await pages?.close();
  await browser?.close().catch(() => undefined);
  await server?.stop();
});

const base64url = (bytes: Buffer) => bytes.toString('base64url');

interface PushLog {
  subscribe: { userVisibleOnly: boolean; key: string }[];
  unsubscribe: string[];
}

/** The stand-in PushManager, installed before any app script; starts with `stale` subscribed. */
function installPushStandIn(
  page: Page,
  options: { host: string; p256dh: string; auth: string; staleKey: number[] },
) {
  return page.addInitScript((o) => {
    const log = { subscribe: [] as unknown[], unsubscribe: [] as string[] };
    (window as unknown as { __push: typeof log }).__push = log;
    let serial = 0;
    const make = (key: Uint8Array, name: string) => {
      const subscription = {
        endpoint: `https://${o.host}/sub/${name}`,
        options: { userVisibleOnly: true, applicationServerKey: key.buffer },
        toJSON: () => ({
          endpoint: subscription.endpoint,
          keys: { p256dh: o.p256dh, auth: o.auth },
        }),
        unsubscribe: async () => {
          log.unsubscribe.push(subscription.endpoint);
          if (current === subscription) current = null;
          return true;
        },
      };
      return subscription;
    };
    let current: ReturnType<typeof make> | null = make(new Uint8Array(o.staleKey), 'stale');
    const toBase64url = (bytes: Uint8Array) =>
      btoa(String.fromCharCode(...bytes))
        .replace(/\+/g, '-')
        .replace(/\//g, '_')
        .replace(/=+$/, '');
    PushManager.prototype.getSubscription = async () => current as unknown as PushSubscription;
    PushManager.prototype.subscribe = async (init?: PushSubscriptionOptionsInit) => {
      const key = new Uint8Array(init!.applicationServerKey as Uint8Array);
      log.subscribe.push({ userVisibleOnly: init!.userVisibleOnly, key: toBase64url(key) });
      current = make(key, `s${++serial}`);
      return current as unknown as PushSubscription;
    };
  }, options);
}

/** The push routes the page called, with their answers. */
function recordPushRoutes(page: Page) {
  const calls: { method: string; path: string; body: unknown; status: number }[] = [];
  page.on('response', (response) => {
    const request = response.request();
    const path = new URL(request.url()).pathname;
    if (!path.startsWith('/api/push/') || path === '/api/push/key') return;
    if (request.method() === 'GET') return;
    const raw = request.postData();
    calls.push({
      method: request.method(),
      path,
      body: raw ? (JSON.parse(raw) as unknown) : null,
      status: response.status(),
    });
  });
  return calls;
}

describe('web push subscription', () => {
  it('subscribes with the server key, replaces one made with another key, drops it when off and on logout', async () => {
    const page = await pages.open({ permissions: ['notifications'] });
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const keys = { p256dh: base64url(ecdh.getPublicKey()), auth: base64url(Buffer.alloc(16, 7)) };
    await installPushStandIn(page, { host: PUSH_HOST, ...keys, staleKey: Array(65).fill(4) });
    const calls = recordPushRoutes(page);
    await page.reload();
    await logIn(page, 'ana_pm');
    const serverKey = (
      (await (
        await fetch(`${server.url}/api/push/key`, {
          headers: { authorization: `Bearer ${ana.accessToken}` },
        })
      ).json()) as { publicKey: string }
    ).publicKey;
    const log = () => page.evaluate(() => (window as unknown as { __push: PushLog }).__push);
    const stale = `https://${PUSH_HOST}/sub/stale`;
    const first = `https://${PUSH_HOST}/sub/s1`;
    await expect.poll(() => calls.length, { timeout: 15_000 }).toBe(2);
    expect(calls).toEqual([
      { method: 'DELETE', path: '/api/push/subscriptions', body: { endpoint: stale }, status: 204 },
      {
        method: 'POST',
        path: '/api/push/subscriptions',
        body: { endpoint: first, keys },
        status: 201,
      },
    ]);
    expect(await log()).toEqual({
      subscribe: [{ userVisibleOnly: true, key: serverKey }],
      unsubscribe: [stale],
    });

    // Settings: notifications off drops it; on subscribes again; message text is the server's.
    await page.getByRole('button', { name: 'Settings' }).click();
    const toggle = page.getByLabel('Show notifications');
    await toggle.uncheck();
    await expect.poll(() => calls.length).toBe(3);
    expect(calls[2]).toMatchObject({ method: 'DELETE', body: { endpoint: first }, status: 204 });
    await toggle.check();
    await expect.poll(() => calls.length).toBe(4);
    expect(calls[3]).toMatchObject({
      method: 'POST',
      body: { endpoint: `https://${PUSH_HOST}/sub/s2` },
    });
    await page.getByLabel('Show message text in notifications').uncheck();
    await expect.poll(() => calls.length).toBe(5);
    expect(calls[4]).toMatchObject({
      method: 'PATCH',
      path: '/api/push/settings',
      body: { preview: false },
      status: 200,
    });
    const settings = await fetch(`${server.url}/api/push/settings`, {
      headers: { authorization: `Bearer ${ana.accessToken}` },
    });
    expect(await settings.json()).toEqual({ settings: { preview: false } });
    await page.getByLabel('Show message text in notifications').check();
    await expect.poll(() => calls.length).toBe(6);

    // Logout: deleted on the server while the session still can, then unsubscribed here.
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    expect(calls[6]).toMatchObject({
      method: 'DELETE',
      body: { endpoint: `https://${PUSH_HOST}/sub/s2` },
      status: 204,
    });
    expect((await log()).unsubscribe).toEqual([stale, first, `https://${PUSH_HOST}/sub/s2`]);
    expect(pages.problems).toEqual([]);
  }, 90_000);
});

describe('@mentions', () => {
  it('@ opens the member picker; the keyboard mentions Ben, who sees the highlight and the @ badge', async () => {
    const anaPage = await pages.open();
    await logIn(anaPage, 'ana_pm');
    await anaPage.getByRole('button', { name: /Trip/ }).click();
    const input = anaPage.getByRole('textbox', { name: 'Message' });
    await input.pressSequentially('@');
    const picker = anaPage.getByRole('listbox', { name: 'Mention a member' });
    await picker.waitFor();
    expect((await picker.getByRole('option').allTextContents()).sort()).toEqual([
      'BMBen Mention@ben_pm',
      'CMCy Mention@cy_pm',
    ]);
    await input.pressSequentially('m');
    const selected = () => picker.getByRole('option', { selected: true }).textContent();
    const firstSelected = await selected();
    await anaPage.keyboard.press('ArrowDown');
    expect(await selected()).not.toBe(firstSelected);
    if (!(await selected())?.includes('@ben_pm')) await anaPage.keyboard.press('ArrowUp');
    expect(await selected()).toContain('@ben_pm');
    await anaPage.screenshot({ path: join(ensureScreenshotDir(), 'mention-picker.png') });
    await audit(anaPage, 'the @ picker open');
    await anaPage.keyboard.press('Enter');
    expect(await input.inputValue()).toBe('@ben_pm ');
    await input.pressSequentially('the tent is yours');
    await anaPage.keyboard.press('Enter');
    // Ana's own copy: the mention styled, not as hers.
    const sent = anaPage.locator('.message.mine .mention', { hasText: '@ben_pm' });
    await sent.waitFor();
    expect(await sent.getAttribute('class')).toBe('mention');

    const benPage = await pages.open();
    await logIn(benPage, 'ben_pm');
    const row = benPage.getByRole('button', { name: /Trip/ });
    await row.getByRole('img', { name: '1 unread mention' }).waitFor();
    await row.click();
    const mine = benPage.locator('.message.mentions-me .mention-me', { hasText: '@ben_pm' });
    await mine.waitFor();
    await benPage.screenshot({ path: join(ensureScreenshotDir(), 'mention-highlight.png') });
    await audit(benPage, 'a chat with a mention of the reader');
    // Read: the badge goes.
    await expect
      .poll(() => row.getByRole('img', { name: /unread mention/ }).count(), { timeout: 10_000 })
      .toBe(0);
    expect(pages.problems).toEqual([]);
  }, 90_000);
});
