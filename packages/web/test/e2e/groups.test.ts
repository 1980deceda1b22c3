/**
 * End to end, issue 6 at the conversation level: group management seen by three people,
 * message search, mute, archive, and the settings panel (export, account deletion).
 * The tests run in order and build on each other.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Locator, Page } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
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

let server: RunningServer;
let browser: Browser;
let pages: Pages;
let ann: Page;
let ben: Page;
let cat: Page;
let accounts: Record<'ann' | 'ben' | 'cat', api.Account>;

function newPage(): Promise<Page> {
  return pages.open({ timezoneId: 'Europe/Berlin', deviceScaleFactor: 1 });
}

function chatItem(page: Page, title: string): Locator {
  return page
    .getByRole('list', { name: 'Chats' })
    .getByRole('button', { name: new RegExp(`^${title}`) });
}

function log(page: Page): Locator {
  return page.getByRole('log', { name: 'Messages' });
}

function bubble(page: Page, text: string): Locator {
  return log(page).locator('li.message', { hasText: text });
}

async function send(page: Page, text: string) {
  const input = page.getByRole('textbox', { name: 'Message' });
  await input.fill(text);
  await input.press('Enter');
}

async function menu(page: Page, item: string) {
  await page.getByRole('button', { name: 'Chat menu' }).click();
  await page.getByRole('menuitem', { name: item }).click();
}

async function shot(page: Page, name: string) {
  await page.screenshot({ path: join(ensureScreenshotDir(), `${name}.png`) });
}

beforeAll(async () => {
  server = await startServer();
  browser = await launchBrowser();
  pages = new Pages(browser, server.url);
  const [a, b, c] = await Promise.all([
    api.register(server.url, 'ann', 'Ann', PASSWORD),
    api.register(server.url, 'ben', 'Ben', PASSWORD),
    api.register(server.url, 'cat', 'Cat', PASSWORD),
  ]);
  accounts = { ann: a, ben: b, cat: c };
  await api.addContact(server.url, a, 'ben');
  await api.addContact(server.url, a, 'cat');
  await api.addContact(server.url, b, 'ann');
  await api.addContact(server.url, c, 'ann');
}, 60_000);

afterAll(async () => {
  await pages?.close();
  await browser?.close().catch(() => undefined);
  await server?.stop();
});

describe('groups, search, mute, archive and settings in the browser', () => {
  it('an admin creates, renames and grows a group; the others see it happen', async () => {
    [ann, ben, cat] = await Promise.all([newPage(), newPage(), newPage()]);
    await Promise.all([logIn(ann, 'ann'), logIn(ben, 'ben'), logIn(cat, 'cat')]);

    await ann.getByRole('button', { name: 'New group' }).click();
    await ann.getByLabel('Group name').fill('Trip');
    await ann.getByRole('checkbox', { name: 'Ben' }).check();
    await ann.getByRole('button', { name: /^Create group/ }).click();
    await ann.getByRole('heading', { name: 'Trip' }).waitFor();
    await chatItem(ben, 'Trip').click();

    await menu(ann, 'Group info');
    const info = ann.getByRole('region', { name: 'Group info' });
    await info.getByRole('button', { name: 'Rename group' }).click();
    await info.getByRole('textbox', { name: 'Group name' }).fill('Summit');
    await info.getByRole('textbox', { name: 'Group name' }).press('Enter');
    await ben.getByRole('heading', { name: 'Summit' }).waitFor();
    await log(ben).getByText('Ann renamed the group to "Summit"').waitFor();

    await info.getByRole('button', { name: 'Add members' }).click();
    await info.getByRole('checkbox', { name: 'Cat' }).check();
    await info.getByRole('button', { name: 'Add (1)' }).click();
    await info.getByRole('list', { name: 'Members' }).getByText('@cat').waitFor();
    await log(ben).getByText('Ann added Cat').waitFor();
    await chatItem(cat, 'Summit').click();
    await log(cat).getByText('Ann added you').waitFor();
    await shot(ann, 'group-info-desktop');

    // Ben only sees the list.
    await menu(ben, 'Group info');
    const benInfo = ben.getByRole('region', { name: 'Group info' });
    await benInfo.getByRole('list', { name: 'Members' }).waitFor();
    expect(await benInfo.getByRole('button', { name: 'Rename group' }).count()).toBe(0);
    expect(await benInfo.getByRole('button', { name: /Remove .* from the group/ }).count()).toBe(0);
    await benInfo.getByRole('button', { name: 'Back' }).click();
  }, 90_000);

  it('a removed member loses the chat and hears nothing more of it', async () => {
    const info = ann.getByRole('region', { name: 'Group info' });
    await info.getByRole('button', { name: 'Remove Cat from the group' }).click();
    await log(ben).getByText('Ann removed Cat').waitFor();
    await chatItem(cat, 'Summit').waitFor({ state: 'detached' });
    await info.getByRole('button', { name: 'Back' }).click();

    await send(ann, 'only for the two of us now');
    await bubble(ben, 'only for the two of us now').waitFor();
    await cat.waitForTimeout(500);
    expect(await chatItem(cat, 'Summit').count()).toBe(0);
    expect(await cat.getByText('only for the two of us now').count()).toBe(0);
  }, 60_000);

  it('search finds a message and opens its chat at it', async () => {
    // Ann starts from another chat, so opening the result really switches chats.
    const direct = await api.directWith(server.url, accounts.ann, accounts.ben.user.id);
    await api.post(server.url, accounts.ben, direct.id, 'hello Ann');
    await chatItem(ann, 'Ben').click();
    await bubble(ann, 'hello Ann').waitFor();

    await ann.getByRole('button', { name: 'Search messages' }).click();
    await ann.getByRole('searchbox', { name: 'Search messages' }).fill('two of');
    const results = ann.getByRole('list', { name: 'Search results' });
    const hit = results.getByRole('button', { name: /Summit/ });
    await hit.waitFor();
    expect(await hit.locator('mark').allTextContents()).toEqual(['two', 'of']);
    await shot(ann, 'search-desktop');
    await hit.click();
    await ann.getByRole('heading', { name: 'Summit' }).waitFor();
    await bubble(ann, 'only for the two of us now').waitFor();
    await ann
      .getByRole('region', { name: 'Search messages' })
      .getByRole('button', { name: 'Back' })
      .click();
  }, 60_000);

  it('a member leaves the group', async () => {
    await menu(ben, 'Group info');
    const info = ben.getByRole('region', { name: 'Group info' });
    await info.getByRole('button', { name: 'Leave group' }).click();
    await info.getByRole('button', { name: 'Leave', exact: true }).click();
    await chatItem(ben, 'Summit').waitFor({ state: 'detached' });
    await log(ann).getByText('Ben left').waitFor();
  }, 60_000);

  it('a muted chat keeps its badge but leaves the page title', async () => {
    const direct = await api.directWith(server.url, accounts.ann, accounts.ben.user.id);
    await api.post(server.url, accounts.ben, direct.id, 'ping one');
    await expect.poll(() => ann.title(), WAIT).toBe('(1) Letter');

    await chatItem(ann, 'Ben').click();
    await bubble(ann, 'ping one').waitFor();
    await expect.poll(() => ann.title(), WAIT).toBe('Letter');
    await menu(ann, 'Mute');
    await chatItem(ann, 'Ben').getByRole('img', { name: 'muted' }).waitFor();
    await chatItem(ann, 'Summit').click();

    await api.post(server.url, accounts.ben, direct.id, 'ping two');
    await chatItem(ann, 'Ben').getByRole('img', { name: '1 unread' }).waitFor();
    await ann.waitForTimeout(300);
    expect(await ann.title()).toBe('Letter');

    await chatItem(ann, 'Ben').click();
    await menu(ann, 'Unmute');
    await chatItem(ann, 'Ben').getByRole('img', { name: 'muted' }).waitFor({ state: 'detached' });
  }, 60_000);

  it('archive moves a chat to Archived; a new message brings it back', async () => {
    await menu(ann, 'Archive chat');
    await chatItem(ann, 'Ben').waitFor({ state: 'detached' });
    await ann.getByRole('button', { name: 'Archived (1)' }).click();
    const archived = ann.getByRole('region', { name: 'Archived' });
    await archived.getByRole('button', { name: /^Ben/ }).waitFor();
    await archived.getByRole('button', { name: 'Back' }).click();

    const direct = await api.directWith(server.url, accounts.ann, accounts.ben.user.id);
    await api.post(server.url, accounts.ben, direct.id, 'are you there?');
    await chatItem(ann, 'Ben').waitFor();
    expect(await ann.getByRole('button', { name: /^Archived/ }).count()).toBe(0);
  }, 60_000);

  it('settings: export downloads a JSON file; deleting the account frees the username', async () => {
    await cat.getByRole('button', { name: 'Settings' }).click();
    const settings = cat.getByRole('region', { name: 'Settings' });
    const [download] = await Promise.all([
      cat.waitForEvent('download'),
      settings.getByRole('button', { name: 'Download my data' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('letter-export-cat.json');
    const data = JSON.parse(readFileSync(await download.path(), 'utf8')) as {
      format: string;
      user: { username: string };
    };
    expect(data.format).toBe('letter-export/1');
    expect(data.user.username).toBe('cat');

    await settings.getByRole('button', { name: 'Delete account…' }).click();
    await settings.getByLabel('Confirm with your password').fill(PASSWORD);
    await settings.getByRole('button', { name: 'Delete my account' }).click();
    await cat.getByRole('button', { name: 'Log in' }).waitFor();

    await cat.getByRole('button', { name: 'Create an account' }).click();
    await cat.getByLabel('Username').fill('cat');
    await cat.getByLabel(/Display name/).fill('Cat Again');
    await cat.getByLabel('Password').fill(PASSWORD);
    await cat.getByRole('button', { name: 'Sign up' }).click();
    await cat.getByRole('button', { name: 'New chat' }).waitFor();
    await cat.getByText('Cat Again').first().waitFor();
  }, 60_000);

  it('ran without script errors or Content-Security-Policy violations', () => {
    expect(pages.problems).toEqual([]);
  });
});
