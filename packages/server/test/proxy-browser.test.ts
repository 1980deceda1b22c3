/**
 * End to end through the reverse proxy: the built web app in Chromium, served by Letter behind
 * Debian's nginx with deploy/nginx.conf (HTTPS with a certificate made by the test, HTTP/2, the
 * WebSocket over wss://), set up as README's "Operating Letter" says (LETTER_TRUST_PROXY). Two
 * people sign up, meet and chat; a reload keeps the session (the Secure refresh cookie).
 * Needs the built web app (`npm run build`) and Chromium, like packages/web/test/e2e.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startProxy, type Proxy } from '../src/testing/nginx.js';
// The web suite's browser harness (packages/web may not import server code, the other way is fine).
import {
  launchBrowser,
  Pages,
  PASSWORD,
  startServer,
  WAIT,
  type RunningServer,
} from '../../web/test/e2e/harness.js';

let server: RunningServer;
let proxy: Proxy;
let browser: Browser;
let pages: Pages;
const sockets: string[] = [];

beforeAll(async () => {
  server = await startServer({ LETTER_TRUST_PROXY: '127.0.0.1' });
  proxy = await startProxy(new URL(server.url).host);
  browser = await launchBrowser();
  pages = new Pages(browser, proxy.url);
}, 60_000);

afterAll(async () => {
  await pages?.close();
  await browser?.close().catch(() => undefined);
  await proxy?.stop();
  await server?.stop();
});

async function open(): Promise<Page> {
  // The certificate is the test's own; everything else is as a browser on a real site sees it.
  const page = await pages.open({ ignoreHTTPSErrors: true });
  page.on('websocket', (ws) => sockets.push(ws.url()));
  return page;
}

async function signUp(page: Page, username: string, displayName: string) {
  await page.getByRole('button', { name: 'Create an account' }).click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel(/Display name/).fill(displayName);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.getByRole('button', { name: 'New chat' }).waitFor();
}

const bubble = (page: Page, text: string) =>
  page.getByRole('log', { name: 'Messages' }).locator('li.message', { hasText: text });

async function send(page: Page, text: string) {
  const input = page.getByRole('textbox', { name: 'Message' });
  await input.fill(text);
  await input.press('Enter');
}

describe('Letter in the browser behind nginx', () => {
  it('two people sign up over https, chat over wss:// and stay logged in across a reload', async () => {
    const alice = await open();
    expect(await alice.evaluate('window.isSecureContext')).toBe(true);
    await signUp(alice, 'proxyalice', 'Alice');
    const bob = await open();
    await signUp(bob, 'proxybob', 'Bob');

    await alice.getByRole('button', { name: 'New chat' }).click();
    await alice.getByRole('searchbox', { name: 'Search people by username' }).fill('proxybob');
    await alice.getByRole('button', { name: 'Add Bob to contacts' }).click();
    await alice.getByRole('button', { name: 'Message Bob' }).click();
    await send(alice, 'Hello Bob, through nginx');
    await bubble(alice, 'through nginx').waitFor();

    const chat = bob.getByRole('list', { name: 'Chats' }).getByRole('button', { name: /^Alice/ });
    await chat.click();
    await bubble(bob, 'through nginx').waitFor();
    await send(bob, 'Hi Alice, over wss');
    await bubble(alice, 'over wss').waitFor();

    // The refresh cookie (Secure, HttpOnly) is what logs Alice back in after a reload.
    const cookies = await alice.context().cookies();
    expect(cookies.find((c) => c.httpOnly)?.secure).toBe(true);
    await alice.reload();
    await alice.getByRole('button', { name: 'New chat' }).waitFor(WAIT);
    expect(sockets.length).toBeGreaterThan(0);
    for (const url of sockets) expect(url.startsWith(`${proxy.wsUrl}`)).toBe(true);
    expect(pages.problems).toEqual([]);
  }, 90_000);
});
