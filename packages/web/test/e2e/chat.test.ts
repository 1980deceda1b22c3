/**
 * End to end: the built web app in real Chromium against a real Letter server.
 * The tests in this file run in order and build on each other (Alice and Bob meet in the
 * first, chat in the next ones), the way a person would use the app.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Locator, Page } from 'playwright-core';
import { join } from 'node:path';
import {
  DESKTOP,
  ensureScreenshotDir,
  launchBrowser,
  logIn,
  Pages,
  PASSWORD,
  startServer,
  WAIT,
} from './harness';
import type { RunningServer } from './harness';
import * as api from './api';

const PHONE = { width: 390, height: 844 };

let server: RunningServer;
let browser: Browser;
let pages: Pages;
let alice: Page;
let bob: Page;

function newPage(options: { viewport?: typeof DESKTOP; dark?: boolean } = {}): Promise<Page> {
  return pages.open({
    viewport: options.viewport ?? DESKTOP,
    colorScheme: options.dark ? 'dark' : 'light',
    timezoneId: 'Europe/Berlin',
    deviceScaleFactor: 1,
  });
}

async function signUp(page: Page, username: string, displayName: string) {
  await page.getByRole('button', { name: 'Create an account' }).click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel(/Display name/).fill(displayName);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.getByRole('button', { name: 'New chat' }).waitFor();
}

async function addContact(page: Page, username: string, displayName: string) {
  await page.getByRole('button', { name: 'New chat' }).click();
  await page.getByRole('searchbox', { name: 'Search people by username' }).fill(username);
  await page.getByRole('button', { name: `Add ${displayName} to contacts` }).click();
  await page.getByRole('button', { name: `Message ${displayName}` }).waitFor();
}

function chatItem(page: Page, title: string): Locator {
  return page
    .getByRole('list', { name: 'Chats' })
    .getByRole('button', { name: new RegExp(`^${title}`) });
}

function bubble(page: Page, text: string): Locator {
  return page.getByRole('log', { name: 'Messages' }).locator('li.message', { hasText: text });
}

async function send(page: Page, text: string) {
  const input = page.getByRole('textbox', { name: 'Message' });
  await input.fill(text);
  await input.press('Enter');
}

async function tickOf(page: Page, text: string): Promise<string | null> {
  return bubble(page, text).locator('.ticks').getAttribute('aria-label');
}

async function shot(page: Page, name: string) {
  await page.screenshot({ path: join(ensureScreenshotDir(), `${name}.png`) });
}

beforeAll(async () => {
  server = await startServer();
  browser = await launchBrowser();
  pages = new Pages(browser, server.url);
}, 60_000);

afterAll(async () => {
  await pages?.close();
  await browser?.close().catch(() => undefined);
  await server?.stop();
});

describe('Letter in the browser', () => {
  it('two people sign up, add each other and chat both ways', async () => {
    alice = await newPage();
    await alice.getByRole('button', { name: 'Log in' }).waitFor();
    await shot(alice, 'login-desktop');
    await signUp(alice, 'alice', 'Alice');
    bob = await newPage();
    await signUp(bob, 'bob', 'Bob');

    await addContact(alice, 'bob', 'Bob');
    await alice.getByRole('button', { name: 'Message Bob' }).click();
    await expect.poll(() => alice.getByRole('heading', { name: 'Bob' }).isVisible()).toBe(true);
    await send(alice, 'Hi Bob! https://example.com');
    await bubble(alice, 'Hi Bob!').waitFor();

    // Bob sees the new chat with one unread message, in the list and in the tab title.
    await chatItem(bob, 'Alice').waitFor();
    await expect.poll(() => chatItem(bob, 'Alice').textContent(), WAIT).toContain('Hi Bob!');
    await expect.poll(() => bob.title(), WAIT).toBe('(1) Letter');

    await addContact(bob, 'alice', 'Alice');
    await bob.getByRole('button', { name: 'Back' }).click();
    await chatItem(bob, 'Alice').click();
    await bubble(bob, 'Hi Bob!').waitFor();
    const link = bubble(bob, 'Hi Bob!').getByRole('link');
    expect(await link.getAttribute('href')).toBe('https://example.com/');
    expect(await link.getAttribute('rel')).toBe('noopener noreferrer');
    await expect.poll(() => bob.title(), WAIT).toBe('Letter');

    await send(bob, 'Hello Alice, good to see you here');
    await bubble(alice, 'Hello Alice').waitFor();
    expect(await bubble(alice, 'Hello Alice').getAttribute('class')).toContain('theirs');
    expect(await bubble(alice, 'Hi Bob!').getAttribute('class')).toContain('mine');
    await expect.poll(() => tickOf(alice, 'Hi Bob!'), WAIT).toBe('Read');
  }, 90_000);

  it('ticks go from sent to delivered to read when the other side opens the chat', async () => {
    // Bob leaves the chat for the list; his app stays online.
    await bob.goto(server.url);
    await chatItem(bob, 'Alice').waitFor();
    await send(alice, 'Are you there?');
    await expect.poll(() => tickOf(alice, 'Are you there?'), WAIT).toBe('Delivered');
    await chatItem(bob, 'Alice').click();
    await bubble(bob, 'Are you there?').waitFor();
    await expect.poll(() => tickOf(alice, 'Are you there?'), WAIT).toBe('Read');
  }, 60_000);

  it('shows when the other person is typing and whether they are online', async () => {
    await expect.poll(() => alice.locator('.chat-status').textContent(), WAIT).toBe('online');
    // Typing for over two seconds: the server drops typing frames closer than 2 s apart, and
    // Bob's last one (while writing his reply) may be more recent than that.
    await bob.getByRole('textbox', { name: 'Message' }).pressSequentially('I am writing a reply', {
      delay: 130,
    });
    await expect.poll(() => alice.locator('.chat-status').textContent(), WAIT).toBe('typing…');
    await bob.getByRole('textbox', { name: 'Message' }).fill('');
    await shot(alice, 'chat-view-desktop');
  }, 60_000);

  it('sends what was written offline once the connection is back, each message once and in order', async () => {
    const bobContext = bob.context();
    await bobContext.setOffline(true);
    await bob.locator('.connection-banner').waitFor();
    await send(bob, 'offline one');
    await send(bob, 'offline two');
    expect(await tickOf(bob, 'offline one')).toBe('Sending');
    expect(await tickOf(bob, 'offline two')).toBe('Sending');
    await bobContext.setOffline(false);
    await bubble(alice, 'offline two').waitFor();
    await expect.poll(() => tickOf(bob, 'offline two'), WAIT).not.toBe('Sending');
    await bob.locator('.connection-banner').waitFor({ state: 'detached' });
    // Give any duplicate a moment to show up before counting.
    await alice.waitForTimeout(1000);
    const texts = await alice.getByRole('log').locator('li.message .body').allTextContents();
    expect(texts.filter((t) => t === 'offline one')).toHaveLength(1);
    expect(texts.filter((t) => t === 'offline two')).toHaveLength(1);
    expect(texts.indexOf('offline one')).toBeLessThan(texts.indexOf('offline two'));
    expect(texts.at(-1)).toBe('offline two');
  }, 60_000);

  it('keeps the session and the history across a reload', async () => {
    await alice.reload();
    await bubble(alice, 'offline two').waitFor();
    await bubble(alice, 'Hi Bob!').waitFor();
    expect(await alice.getByRole('button', { name: 'Log in' }).count()).toBe(0);
    await alice.goto(server.url);
    await chatItem(alice, 'Bob').waitFor();
  }, 60_000);

  it('never shows the chat to a third person', async () => {
    const carol = await newPage();
    await signUp(carol, 'carol', 'Carol');
    await carol.getByText(/No chats yet/).waitFor();
    // Even the chat's address shows nothing of it.
    await chatItem(alice, 'Bob').click();
    const chatHash = await alice.evaluate(() => location.hash);
    expect(chatHash).toMatch(/^#\/chat\//);
    await carol.goto(`${server.url}/${chatHash}`);
    await carol.getByRole('button', { name: 'New chat' }).waitFor();
    await carol.waitForTimeout(1000);
    const text = await carol.locator('body').textContent();
    expect(text).not.toContain('Hi Bob');
    expect(text).not.toContain('offline two');
    expect(await carol.getByRole('list', { name: 'Chats' }).count()).toBe(0);
  }, 60_000);

  it('creates a group that its members see, with who wrote what', async () => {
    await addContact(alice, 'carol', 'Carol');
    await alice.getByRole('button', { name: 'New group' }).click();
    await alice.getByLabel('Group name').fill('Weekend hike');
    await alice.getByRole('checkbox', { name: 'Bob' }).check();
    await alice.getByRole('checkbox', { name: 'Carol' }).check();
    await alice.getByRole('button', { name: /^Create group/ }).click();
    await expect
      .poll(() => alice.getByRole('heading', { name: 'Weekend hike' }).isVisible())
      .toBe(true);
    await send(alice, 'Who is in for Saturday?');
    await bubble(alice, 'Who is in for Saturday?').waitFor();

    // Bob is in another chat: the group shows up in his list with its unread badge.
    await chatItem(bob, 'Weekend hike').waitFor();
    await expect
      .poll(() => chatItem(bob, 'Weekend hike').textContent(), WAIT)
      .toContain('Alice: Who is in for Saturday?');
    await shot(bob, 'chat-list-desktop');
    await chatItem(bob, 'Weekend hike').click();
    await send(bob, 'Me! I will bring snacks');
    await bubble(alice, 'I will bring snacks').waitFor();
    expect(await bubble(alice, 'I will bring snacks').locator('.sender').textContent()).toBe('Bob');
    await expect
      .poll(() => tickOf(alice, 'Who is in for Saturday?'), WAIT)
      .toMatch(/Sent|Delivered/);
    await shot(alice, 'group-chat-desktop');
  }, 60_000);

  it('scrolls back through a long history without the view jumping', async () => {
    const dave = await api.register(server.url, 'dave', 'Dave', PASSWORD);
    const erin = await api.register(server.url, 'erin', 'Erin', PASSWORD);
    const conversation = await api.directWith(server.url, dave, erin.user.id);
    for (let i = 1; i <= 120; i++) {
      const from = i % 3 === 0 ? dave : erin;
      await api.post(server.url, from, conversation.id, `history ${String(i).padStart(3, '0')}`);
    }
    const page = await newPage();
    await logIn(page, 'dave');
    await chatItem(page, 'Erin').click();
    await bubble(page, 'history 120').waitFor();
    const log = page.getByRole('log', { name: 'Messages' });
    const count = () => log.locator('li.message').count();
    const initial = await count();
    expect(initial).toBeLessThan(120);

    // Scroll to the very top, then check the message that was on top stays where it was
    // while the older page is put in above it.
    for (let round = 0; round < 10 && !(await bubble(page, 'history 001').count()); round++) {
      const before = await count();
      const firstText = await log.locator('li.message .body').first().textContent();
      await log.evaluate((el) => (el.scrollTop = 0));
      const anchor = bubble(page, firstText ?? '');
      const topBefore = (await anchor.boundingBox())?.y ?? 0;
      await expect.poll(count, WAIT).toBeGreaterThan(before);
      const topAfter = (await anchor.boundingBox())?.y ?? 0;
      expect(Math.abs(topAfter - topBefore)).toBeLessThan(4);
    }
    await bubble(page, 'history 001').waitFor();
    const texts = await log.locator('li.message .body').allTextContents();
    expect(texts).toHaveLength(120);
    expect(texts).toEqual([...texts].sort());
    await log.getByText('Start of the conversation').waitFor();

    // A new message while scrolled up offers a jump to the latest instead of moving the view.
    await api.post(server.url, erin, conversation.id, 'fresh news');
    const jump = page.getByRole('button', { name: /new message, jump to latest/ });
    await jump.waitFor();
    await jump.click();
    await expect.poll(() => bubble(page, 'fresh news').isVisible(), WAIT).toBe(true);
  }, 120_000);

  it('works on a phone-sized screen and in dark mode', async () => {
    const phone = await newPage({ viewport: PHONE });
    await phone.getByRole('button', { name: 'Log in' }).waitFor();
    await shot(phone, 'login-phone');
    await logIn(phone, 'alice');
    await chatItem(phone, 'Bob').waitFor();
    await shot(phone, 'chat-list-phone');
    await chatItem(phone, 'Bob').click();
    await bubble(phone, 'offline two').waitFor();
    // On a phone the list gives way to the chat, and the back button brings it back.
    expect(await phone.getByRole('list', { name: 'Chats' }).isVisible()).toBe(false);
    await shot(phone, 'chat-view-phone');
    await phone.getByRole('button', { name: 'Back to chats' }).click();
    await chatItem(phone, 'Bob').waitFor({ state: 'visible' });

    const dark = await newPage({ dark: true });
    await logIn(dark, 'bob');
    await chatItem(dark, 'Alice').click();
    await bubble(dark, 'offline two').waitFor();
    await shot(dark, 'chat-view-desktop-dark');
    const phoneDark = await newPage({ viewport: PHONE, dark: true });
    await logIn(phoneDark, 'bob');
    await chatItem(phoneDark, 'Alice').click();
    await bubble(phoneDark, 'offline two').waitFor();
    await shot(phoneDark, 'chat-view-phone-dark');
  }, 90_000);

  it('logs out', async () => {
    await alice.getByRole('button', { name: 'Log out' }).click();
    await alice.getByRole('button', { name: 'Log in' }).waitFor();
    await alice.reload();
    await alice.getByRole('button', { name: 'Log in' }).waitFor();
  }, 30_000);

  it('ran without script errors or Content-Security-Policy violations', () => {
    expect(pages.problems).toEqual([]);
  });
});
