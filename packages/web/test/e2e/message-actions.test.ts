/**
 * End to end, issue 6 at the message level: two people reply, edit, react, read receipts in
 * message info, and delete for everyone, each seen on the other side. The tests build on
 * each other.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Locator, Page } from 'playwright-core';
import { launchBrowser, logIn, Pages, PASSWORD, startServer } from './harness';
import type { RunningServer } from './harness';
import * as api from './api';

let server: RunningServer;
let browser: Browser;
let pages: Pages;
let ann: Page;
let ben: Page;

function newPage(): Promise<Page> {
  return pages.open();
}

function openChat(page: Page, title: string) {
  return page
    .getByRole('list', { name: 'Chats' })
    .getByRole('button', { name: new RegExp(`^${title}`) })
    .click();
}

function bubble(page: Page, text: string): Locator {
  return page.getByRole('log', { name: 'Messages' }).locator('li.message', { hasText: text });
}

async function action(page: Page, text: string, item: string) {
  await bubble(page, text)
    .getByRole('button', { name: /^Message actions/ })
    .click();
  await page
    .getByRole('menu', { name: 'Message actions' })
    .getByRole(/^React|^Remove/.test(item) ? 'menuitemradio' : 'menuitem', { name: item })
    .click();
}

beforeAll(async () => {
  server = await startServer();
  browser = await launchBrowser();
  pages = new Pages(browser, server.url);
  await api.pair(
    server.url,
    { username: 'ann', displayName: 'Ann' },
    { username: 'ben', displayName: 'Ben' },
    PASSWORD,
    'Where shall we meet?\nAny time after six',
  );
}, 60_000);

afterAll(async () => {
  await pages?.close();
  await browser?.close().catch(() => undefined);
  await server?.stop();
});

describe('message actions between two people', () => {
  it('a reply quotes the original on both sides', async () => {
    [ann, ben] = await Promise.all([newPage(), newPage()]);
    await Promise.all([logIn(ann, 'ann'), logIn(ben, 'ben')]);
    await Promise.all([openChat(ann, 'Ben'), openChat(ben, 'Ann')]);

    await action(ann, 'Where shall we meet?', 'Reply');
    await ann.getByRole('status').getByText('Replying to Ben').waitFor();
    const input = ann.getByRole('textbox', { name: 'Message' });
    await input.fill('At the station');
    await input.press('Enter');

    // Ann quotes Ben; Ben sees his own words quoted as "You".
    for (const [page, who] of [
      [ann, 'Ben'],
      [ben, 'You'],
    ] as const) {
      const quote = bubble(page, 'At the station').getByRole('button', {
        name: new RegExp(`^Reply to ${who}`),
      });
      await quote.waitFor();
      expect(await quote.textContent()).toContain('Where shall we meet?');
      expect(await quote.textContent()).not.toContain('Any time after six');
    }
    // The quote leads back to the original.
    await bubble(ben, 'At the station')
      .getByRole('button', { name: /^Reply to You/ })
      .click();
    await ben.locator('li.message.highlighted', { hasText: 'Where shall we meet?' }).waitFor();
  }, 90_000);

  it('an edit shows "edited" on the other side', async () => {
    await action(ann, 'At the station', 'Edit');
    const editor = ann.getByRole('textbox', { name: 'Edit message' });
    await editor.fill('At the main station');
    await editor.press('Enter');
    await bubble(ben, 'At the main station').getByText('edited').waitFor();
  }, 60_000);

  it('a reaction shows as a chip on the other side, with who reacted', async () => {
    await action(ben, 'At the main station', 'React 👍');
    const chip = bubble(ann, 'At the main station').getByRole('button', { name: '👍 1: Ben' });
    await chip.waitFor();
  }, 60_000);

  it('message info lists the other person as having read it', async () => {
    await action(ann, 'At the main station', 'Message info');
    const info = ann.getByRole('dialog', { name: 'Message info' });
    await info.getByRole('region', { name: 'Read by' }).getByText('Ben').waitFor();
    await info.getByRole('button', { name: 'Close message info' }).click();
  }, 60_000);

  it('delete for everyone leaves a tombstone on the other side', async () => {
    await action(ann, 'At the main station', 'Delete for everyone');
    await ann
      .getByRole('alertdialog', { name: 'Delete message' })
      .getByRole('button', { name: 'Delete' })
      .click();
    await ben
      .getByRole('log', { name: 'Messages' })
      .getByText('This message was deleted')
      .waitFor();
    expect(await bubble(ben, 'At the main station').count()).toBe(0);
    expect(pages.problems).toEqual([]);
  }, 60_000);
});
