/**
 * End to end: hostile text through every field the web app renders. A user named like markup
 * makes a group titled like markup, sends, quotes, edits and renames with payloads; the victim
 * opens every screen that shows them (chat list, chat, header, group info, system lines, search
 * snippets, people search, contacts). The suite fails if any payload runs (it would call
 * `__xss`, open a dialog or be refused by the CSP) or turns into markup (an element with an
 * event-handler attribute, a `javascript:` link, a script, an iframe).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, logIn, Pages, PASSWORD, startServer } from './harness';
import type { RunningServer } from './harness';
import * as api from './api';

const NAME = 'Eve <img src=x onerror=__xss(1)>';
const TITLE = '"><svg onload=__xss(2)><script>__xss(3)</script>';
const RENAMED = '<iframe srcdoc="<script>parent.__xss(4)</script>">';
/** Message bodies: each carries the search term `zebra`. */
const BODIES = [
  'zebra <img src=x onerror=__xss(5)>',
  'zebra <script>__xss(6)</script>',
  'zebra "><svg onload=__xss(7)>',
  'zebra javascript:__xss(8)',
  'zebra <a href="javascript:__xss(9)">click</a>',
  "zebra {{constructor.constructor('__xss(10)')()}}",
  'zebra <style>@import "javascript:__xss(11)"</style>',
];
const REPLY = 'zebra reply <img src=x onerror=__xss(12)>';
const EDITED = 'zebra edited <svg><animate onbegin=__xss(13) attributeName=x dur=1s>';
const DIRECT = 'zebra direct <img src=x onerror=alert(14)>';

let server: RunningServer;
let browser: Browser;
let pages: Pages;
let victim: Page;
const dialogs: string[] = [];
/** What the app itself reports on its login screen, before any payload is shown. */
let baseline: unknown[] = [];

async function call(path: string, token: string, method: string, body?: unknown) {
  const res = await fetch(server.url + path, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${await res.text()}`);
  return res.status === 204 ? undefined : ((await res.json()) as any);
}

beforeAll(async () => {
  server = await startServer();
  browser = await launchBrowser();
  pages = new Pages(browser, server.url);
  const [eve, vic] = await Promise.all([
    api.register(server.url, 'eve_x', NAME, PASSWORD),
    api.register(server.url, 'vic_x', 'Victor', PASSWORD),
  ]);
  await api.addContact(server.url, eve, 'vic_x');
  await api.addContact(server.url, vic, 'eve_x');
  const { conversation: group } = await call('/api/conversations', eve.accessToken, 'POST', {
    kind: 'group',
    title: TITLE,
    memberIds: [vic.user.id],
  });
  const seqs: number[] = [];
  for (const body of BODIES) seqs.push((await api.post(server.url, eve, group.id, body)).seq);
  await call(`/api/conversations/${group.id}/messages`, eve.accessToken, 'POST', {
    clientMsgId: 'reply',
    body: REPLY,
    replyToSeq: seqs[0],
  });
  await call(`/api/conversations/${group.id}/messages/${seqs[1]}`, eve.accessToken, 'PATCH', {
    body: EDITED,
  });
  await call(
    `/api/conversations/${group.id}/messages/${seqs[2]}/reactions`,
    eve.accessToken,
    'PUT',
    {
      emoji: '👍',
    },
  );
  await call(`/api/conversations/${group.id}`, eve.accessToken, 'PATCH', { title: RENAMED });
  const direct = await api.directWith(server.url, eve, vic.user.id);
  await api.post(server.url, eve, direct.id, DIRECT);

  victim = await pages.open();
  // Set before any app script: a payload that runs calls __xss; CSP refusals are recorded too.
  await victim.addInitScript(() => {
    const w = window as unknown as { __xssHits: unknown[]; __xss: (n: unknown) => void };
    w.__xssHits = [];
    w.__xss = (n) => w.__xssHits.push(n);
    document.addEventListener('securitypolicyviolation', (e) =>
      w.__xssHits.push(
        `csp ${e.violatedDirective} ${e.sample} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`,
      ),
    );
  });
  victim.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  await victim.reload();
  await victim.getByLabel('Username').waitFor();
  // Before any hostile text is on screen the app itself trips nothing: zod runs jitless, so its
  // `new Function('')` probe (refused by script-src 'self') never happens. The baseline is empty.
  baseline = await victim.evaluate(() => (window as unknown as { __xssHits: unknown[] }).__xssHits);
  expect(baseline).toEqual([]);
  await logIn(victim, 'vic_x');
}, 60_000);

afterAll(async () => {
  await pages?.close();
  await browser?.close().catch(() => undefined);
  await server?.stop();
});

/** Nothing ran, and nothing turned into markup, on the screen as it is now. */
async function expectInert(screen: string) {
  // Give an onerror/onload a moment to fire if an element had been made.
  await victim.waitForTimeout(300);
  const found = await victim.evaluate(() => {
    const w = window as unknown as { __xssHits: unknown[] };
    const handlers = [...document.querySelectorAll('*')].filter((el) =>
      [...el.attributes].some((a) => /^on/i.test(a.name)),
    );
    return {
      hits: w.__xssHits,
      handlers: handlers.map((el) => el.outerHTML.slice(0, 120)),
      jsLinks: [...document.querySelectorAll('a[href]')]
        .map((a) => a.getAttribute('href') ?? '')
        .filter((href) => !/^(https?:|\/|#|mailto:)/i.test(href)),
      inlineScripts: [...document.querySelectorAll('script:not([src])')].length,
      frames: document.querySelectorAll('iframe, object, embed').length,
      images: [...document.querySelectorAll('img')].map((img) => img.getAttribute('src')),
    };
  });
  expect(found, screen).toEqual({
    hits: baseline,
    handlers: [],
    jsLinks: [],
    inlineScripts: 0,
    frames: 0,
    images: found.images.filter((src) => src !== 'x'),
  });
  expect(dialogs, screen).toEqual([]);
  expect(pages.problems, screen).toEqual([]);
}

/** The payload is on screen as text, exactly as typed. */
async function expectText(text: string) {
  await victim.getByText(text, { exact: false }).first().waitFor();
}

it('the chat list shows hostile titles, names and previews as text', async () => {
  await expectText(RENAMED);
  await expectText(NAME);
  await expectInert('chat list');
});

it('the group chat shows bodies, the reply quote, the edit and the system lines as text', async () => {
  await victim
    .getByRole('list', { name: 'Chats' })
    .getByRole('button')
    .filter({ hasText: 'iframe srcdoc' })
    .click();
  const log = victim.getByRole('log', { name: 'Messages' });
  for (const body of [BODIES[0]!, ...BODIES.slice(2), REPLY, EDITED])
    await log.getByText(body, { exact: false }).first().waitFor();
  // The quote of the first message inside the reply, and the system lines naming Eve.
  expect(await log.getByText(BODIES[0]!, { exact: false }).count()).toBeGreaterThanOrEqual(2);
  await expectText(RENAMED);
  await expectInert('group chat');
});

it('the group info panel lists the hostile member name as text', async () => {
  await victim.getByRole('button', { name: 'Chat menu' }).click();
  await victim.getByRole('menuitem', { name: 'Group info' }).click();
  await victim.getByText(NAME).first().waitFor();
  await expectInert('group info');
  await victim.keyboard.press('Escape');
});

it('the direct chat with the hostile user shows the name and body as text', async () => {
  await victim.getByRole('list', { name: 'Chats' }).getByRole('button', { name: /^Eve/ }).click();
  await victim.getByRole('log', { name: 'Messages' }).getByText(DIRECT).waitFor();
  await expectInert('direct chat');
});

it('search results show hostile snippets and highlights as text', async () => {
  await victim.getByRole('button', { name: 'Search messages' }).click();
  await victim.getByRole('searchbox', { name: 'Search messages' }).fill('zebra');
  const results = victim.getByRole('list', { name: 'Search results' });
  await results.getByRole('listitem').first().waitFor();
  expect(await results.getByRole('listitem').count()).toBeGreaterThanOrEqual(5);
  await results.getByText('onerror=__xss(5)', { exact: false }).first().waitFor();
  await expectInert('search results');
  await victim.keyboard.press('Escape');
});

it('people search and contacts show the hostile display name as text', async () => {
  await victim.getByRole('button', { name: 'New chat' }).click();
  await victim.getByText(NAME).first().waitFor();
  await victim.getByRole('searchbox', { name: 'Search people by username' }).fill('eve_');
  await victim
    .getByRole('button', { name: `Message ${NAME}` })
    .first()
    .waitFor();
  await expectInert('people search and contacts');
});
