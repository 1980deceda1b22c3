/**
 * End to end, accessibility as axe-core sees it in a real Chromium: zero serious or critical
 * violations on the login screen, the chat list (with the notification banner), a chat, group
 * info and settings. Colour contrast is part of axe's rules: light avatar colours under white
 * initials, secondary text on the selected row, times in sent bubbles were all caught here.
 */
import { AxeBuilder } from '@axe-core/playwright';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, logIn, Pages, PASSWORD, startServer } from './harness';
import type { RunningServer } from './harness';
import * as api from './api';

let server: RunningServer;
let browser: Browser;
let pages: Pages;
let page: Page;

/** Serious and critical violations only, each with where it is, so a failure says what to fix. */
async function audit(screen: string) {
  const result = await new AxeBuilder({ page }).analyze();
  const bad = result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({
      rule: v.id,
      impact: v.impact,
      nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')}: ${n.failureSummary ?? ''}`),
    }));
  expect(bad, screen).toEqual([]);
  // A screen without an <h1> is a best-practice finding (moderate), checked here all the same.
  expect(await page.locator('h1').count(), `${screen}: one h1`).toBe(1);
}

beforeAll(async () => {
  server = await startServer();
  browser = await launchBrowser();
  pages = new Pages(browser, server.url);
  // Names picked so avatars cover many hues, yellow and light green among them.
  const names = ['Ada', 'Bo', 'Cyd', 'Dee', 'Eli', 'Fay'];
  const accounts = await Promise.all(
    names.map((n) => api.register(server.url, `${n.toLowerCase()}_ax`, `${n} Axe`, PASSWORD)),
  );
  const [ada, ...others] = accounts;
  for (const other of others) {
    await api.addContact(server.url, ada!, other.user.username);
    const direct = await api.directWith(server.url, other, ada!.user.id);
    await api.post(server.url, other, direct.id, `hello from ${other.user.displayName}`);
  }
  const res = await fetch(`${server.url}/api/conversations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ada!.accessToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      kind: 'group',
      title: 'Axe group',
      memberIds: others.map((o) => o.user.id),
    }),
  });
  const { conversation: group } = (await res.json()) as { conversation: { id: string } };
  await api.post(server.url, ada!, group.id, 'a message of mine, with a time in a sent bubble');
  await api.post(server.url, others[0]!, group.id, 'and an answer');
  page = await pages.open();
}, 60_000);

afterAll(async () => {
  await pages?.close();
  await browser?.close().catch(() => undefined);
  await server?.stop();
});

it('the login screen', async () => {
  await page.getByLabel('Username').waitFor();
  await audit('login');
}, 60_000);

it('the chat list, a chat, group info and settings', async () => {
  await logIn(page, 'ada_ax');
  const list = page.getByRole('list', { name: 'Chats' });
  await list.getByRole('button', { name: /^Fay Axe/ }).waitFor();
  await audit('chat list');

  await list.getByRole('button', { name: /^Axe group/ }).click();
  await page.getByRole('log', { name: 'Messages' }).getByText('and an answer').waitFor();
  await audit('chat');

  await page.getByRole('button', { name: 'Chat menu' }).click();
  await page.getByRole('menuitem', { name: 'Group info' }).click();
  await page.getByRole('region', { name: 'Group info' }).getByText('Bo Axe').first().waitFor();
  await audit('group info');

  await page.getByRole('button', { name: 'Settings' }).click();
  await page.getByRole('checkbox', { name: 'Show notifications' }).waitFor();
  await audit('settings');
  expect(pages.problems).toEqual([]);
}, 90_000);
