/**
 * End to end, issue 13 in the web app: Ann pastes a photo, drags a PDF onto the chat and
 * records a voice note with Chromium's fake microphone; Ben sees the photo (its box first, then
 * the image, in a lightbox with download), the file chip that downloads, and plays the voice
 * note and seeks in it. A file composed offline waits in the outbox and goes out in order.
 * The tests build on each other.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Locator, Page } from 'playwright-core';
import { ensureScreenshotDir, launchBrowser, logIn, Pages, PASSWORD, startServer } from './harness';
import type { RunningServer } from './harness';
import * as api from './api';
import { audit } from './axe';

const UPLOAD_LIMIT = 2 * 1024 * 1024;

let server: RunningServer;
let browser: Browser;
let pages: Pages;
let ann: Page;
let ben: Page;

function openChat(page: Page, title: string) {
  return page
    .getByRole('list', { name: 'Chats' })
    .getByRole('button', { name: new RegExp(`^${title}`) })
    .click();
}

function messages(page: Page): Locator {
  return page.getByRole('log', { name: 'Messages' });
}

beforeAll(async () => {
  // A small upload limit, so a refused upload can be shown (413) without a large file.
  server = await startServer({ LETTER_MAX_UPLOAD_BYTES: String(UPLOAD_LIMIT) });
  // The fake device is a microphone that beeps; the fake UI grants it without a prompt.
  browser = await launchBrowser([
    '--use-fake-device-for-media-stream',
    '--use-fake-ui-for-media-stream',
    '--autoplay-policy=no-user-gesture-required',
  ]);
  pages = new Pages(browser, server.url);
  await api.pair(
    server.url,
    { username: 'ann_f', displayName: 'Ann' },
    { username: 'ben_f', displayName: 'Ben' },
    PASSWORD,
    'Send me the photos from the trip?',
  );
}, 60_000);

afterAll(async () => {
  await pages?.close();
  await browser?.close().catch(() => undefined);
  await server?.stop();
});

describe('photos, files and voice notes between two people', () => {
  it('a pasted image goes with its caption; the other side sees it at its shape, then the image', async () => {
    [ann, ben] = await Promise.all([pages.open(), pages.open()]);
    await ann.context().grantPermissions(['microphone']);
    await Promise.all([logIn(ann, 'ann_f'), logIn(ben, 'ben_f')]);
    await Promise.all([openChat(ann, 'Ben'), openChat(ben, 'Ann')]);

    // A 640 × 400 PNG drawn in the page and pasted into the composer, as a screenshot would be.
    await ann.getByRole('textbox', { name: 'Message' }).evaluate(async (input) => {
      const canvas = document.createElement('canvas');
      canvas.width = 640;
      canvas.height = 400;
      const context = canvas.getContext('2d')!;
      const sky = context.createLinearGradient(0, 0, 0, 400);
      sky.addColorStop(0, '#3a8fd6');
      sky.addColorStop(1, '#f6c86b');
      context.fillStyle = sky;
      context.fillRect(0, 0, 640, 400);
      context.fillStyle = '#1f6f43';
      context.fillRect(0, 300, 640, 100);
      const blob = await new Promise<Blob>((resolve) => canvas.toBlob((b) => resolve(b!)));
      const data = new DataTransfer();
      data.items.add(new File([blob], 'trip.png', { type: 'image/png' }));
      input.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true }));
    });
    const tray = ann.getByRole('region', { name: 'Files to send' });
    await tray.getByRole('heading', { name: 'Send 1 file' }).waitFor();
    await tray.getByRole('textbox', { name: 'Caption' }).fill('The lake at sunset');
    await tray.getByRole('button', { name: 'Send' }).click();

    const photo = messages(ben).getByRole('button', { name: 'Open photo trip.png' });
    await photo.waitFor();
    const box = await photo.boundingBox();
    expect(box!.width / box!.height).toBeCloseTo(640 / 400, 1);
    const image = photo.getByRole('img', { name: 'trip.png' });
    await expect
      .poll(() => image.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth))
      .toBeGreaterThan(0);
    await messages(ben).getByText('The lake at sunset').waitFor();
    await ben.getByRole('list', { name: 'Chats' }).getByText('📷 The lake at sunset').waitFor();

    // Ann's own bubble ends as the stored photo too (the upload's progress bar is gone).
    await messages(ann).getByRole('button', { name: 'Open photo trip.png' }).waitFor();
    expect(await messages(ann).getByRole('progressbar').count()).toBe(0);
  }, 90_000);

  it('the photo opens in a lightbox with a download link; Esc closes it', async () => {
    await messages(ben).getByRole('button', { name: 'Open photo trip.png' }).click();
    const dialog = ben.getByRole('dialog', { name: /Photo 1 of 1: trip\.png/ });
    await dialog.waitFor();
    const href = await dialog.getByRole('link', { name: 'Download trip.png' }).getAttribute('href');
    const served = await ben.evaluate(async (url) => {
      const res = await fetch(url!);
      return { status: res.status, type: res.headers.get('content-type') };
    }, href);
    expect(served).toEqual({ status: 200, type: 'image/png' });
    await audit(ben, 'lightbox');
    await ben.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
  }, 60_000);

  it('a PDF dragged onto the chat arrives as a chip that downloads as a file', async () => {
    await ann.getByRole('region', { name: /^Chat with/ }).evaluate((chat) => {
      const pdf = '%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n';
      const data = new DataTransfer();
      data.items.add(new File([pdf], 'itinerary.pdf', { type: 'application/pdf' }));
      for (const type of ['dragenter', 'dragover', 'drop'])
        chat.dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true }));
    });
    const tray = ann.getByRole('region', { name: 'Files to send' });
    await tray.getByText('itinerary.pdf').waitFor();
    await tray.getByRole('button', { name: 'Send' }).click();

    const chip = messages(ben).getByRole('link', { name: /^Download itinerary\.pdf, \d+ B$/ });
    await chip.waitFor();
    const href = await chip.getAttribute('href');
    const served = await ben.evaluate(async (url) => {
      const res = await fetch(url!);
      return {
        status: res.status,
        type: res.headers.get('content-type'),
        disposition: res.headers.get('content-disposition'),
        text: await res.text(),
      };
    }, href);
    expect(served.status).toBe(200);
    expect(served.type).toMatch(/^application\/pdf/);
    expect(served.disposition).toMatch(/^attachment;/);
    expect(served.text).toMatch(/^%PDF-1\.4/);
    await ben.getByRole('list', { name: 'Chats' }).getByText('📄 itinerary.pdf').waitFor();
  }, 60_000);

  it('a voice note recorded from the fake microphone plays on the other side, with seek', async () => {
    await ann.getByRole('button', { name: 'Record a voice note' }).click();
    const recorder = ann.getByRole('group', { name: 'Recording a voice note' });
    const send = recorder.getByRole('button', { name: 'Send voice note' });
    await expect.poll(() => send.isEnabled()).toBe(true);
    await recorder.getByText('0:02').waitFor();
    await audit(ann, 'recorder');
    await send.click();

    const play = messages(ben).getByRole('button', { name: 'Play voice note' });
    await play.waitFor();
    await ben
      .getByRole('list', { name: 'Chats' })
      // The length depends on how fast a loaded machine records: 0:02 or more.
      .getByText(/^🎤 \d:\d\d$/)
      .waitFor();
    await play.click();
    const audio = messages(ben).locator('.voice-note audio');
    await expect
      .poll(() => audio.evaluate((a: HTMLAudioElement) => a.currentTime), { timeout: 10_000 })
      .toBeGreaterThan(0.3);
    await messages(ben).getByRole('button', { name: 'Pause voice note' }).click();
    await messages(ben).getByRole('slider', { name: 'Seek voice note' }).fill('1');
    await expect
      .poll(() => audio.evaluate((a: HTMLAudioElement) => Math.round(a.currentTime * 10) / 10))
      .toBeCloseTo(1, 0);
    // The README's picture: a photo, a file and a voice note.
    await messages(ben)
      .getByRole('button', { name: 'Open photo trip.png' })
      .scrollIntoViewIfNeeded();
    await ben.screenshot({ path: join(ensureScreenshotDir(), 'chat-attachments-desktop.png') });
  }, 60_000);

  it('on a phone in dark mode the photo fits the screen and the tray fits the composer', async () => {
    const phone = await pages.open({
      viewport: { width: 390, height: 844 },
      colorScheme: 'dark',
      deviceScaleFactor: 1,
    });
    await logIn(phone, 'ben_f');
    await openChat(phone, 'Ann');
    const photo = messages(phone).getByRole('button', { name: 'Open photo trip.png' });
    await photo.waitFor();
    const box = await photo.boundingBox();
    expect(box!.x + box!.width).toBeLessThanOrEqual(390);
    expect(box!.width / box!.height).toBeCloseTo(640 / 400, 1);
    await expect.poll(() => photo.locator('img.attachment-photo.loaded').count()).toBe(1);
    await messages(phone).getByRole('button', { name: 'Play voice note' }).waitFor();
    await phone.screenshot({
      path: join(ensureScreenshotDir(), 'chat-attachments-phone-dark.png'),
    });
    await phone.locator('input[type=file]').setInputFiles({
      name: 'a-rather-long-file-name-for-a-small-screen.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from('x'),
    });
    const tray = phone.getByRole('region', { name: 'Files to send' });
    const caption = tray.getByRole('textbox', { name: 'Caption' });
    const send = tray.getByRole('button', { name: 'Send' });
    for (const part of [caption, send]) {
      const rect = await part.boundingBox();
      expect(rect!.x + rect!.width).toBeLessThanOrEqual(390);
    }
    await audit(phone, 'tray on a phone, dark');
    await tray.getByRole('button', { name: 'Cancel' }).click();
    await phone.context().close();
  }, 60_000);

  it('a file sent offline waits in the outbox and goes out in order after the text before it', async () => {
    await ann.context().setOffline(true);
    await ann.getByText('You are offline', { exact: false }).waitFor();
    const input = ann.getByRole('textbox', { name: 'Message' });
    await input.fill('Written offline, before the file');
    await input.press('Enter');
    await ann.locator('input[type=file]').setInputFiles({
      name: 'notes.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from('packing list: tent, stove, map\n'),
    });
    await ann
      .getByRole('region', { name: 'Files to send' })
      .getByRole('button', { name: 'Send' })
      .click();
    await messages(ann).getByText('notes.txt').waitFor();
    await ann.context().setOffline(false);

    const chip = messages(ben).getByRole('link', { name: /^Download notes\.txt/ });
    await chip.waitFor();
    const order = await messages(ben)
      .locator('li.message')
      .evaluateAll((items) => items.map((li) => li.textContent ?? ''));
    const text = order.findIndex((t) => t.includes('Written offline, before the file'));
    const file = order.findIndex((t) => t.includes('notes.txt'));
    expect(text).toBeGreaterThan(-1);
    expect(file).toBeGreaterThan(text);
  }, 60_000);

  it('a hostile file name is shown as text, and the file still comes down as a file', async () => {
    // No quotes: browsers send `"` in a multipart file name as %22.
    const hostile = '<img src=x onerror=window.pwned=1>.html';
    await ann.locator('input[type=file]').setInputFiles({
      name: hostile,
      mimeType: 'text/html',
      buffer: Buffer.from('<script>window.pwned = 1</script><h1>hi</h1>'),
    });
    await ann
      .getByRole('region', { name: 'Files to send' })
      .getByRole('button', { name: 'Send' })
      .click();
    const chip = messages(ben).getByRole('link', { name: `Download ${hostile}, 44 B` });
    await chip.waitFor();
    await chip.getByText(hostile, { exact: true }).waitFor();
    const served = await ben.evaluate(
      async (url) => {
        const res = await fetch(url!);
        return {
          type: res.headers.get('content-type'),
          disposition: res.headers.get('content-disposition'),
          csp: res.headers.get('content-security-policy'),
        };
      },
      await chip.getAttribute('href'),
    );
    expect(served.type).not.toMatch(/html/);
    expect(served.disposition).toMatch(/^attachment;/);
    expect(served.csp).toMatch(/sandbox/);
    expect(await ben.evaluate(() => (window as { pwned?: number }).pwned)).toBeUndefined();
    expect(await ben.locator('img[src="x"]').count()).toBe(0);
  }, 60_000);

  it('three files picked at once go as one message: an album of two photos and a chip', async () => {
    // Picked together in the file dialog: two photos drawn in the page and a text file.
    await ann.locator('input[type=file]').evaluate(async (input: HTMLInputElement) => {
      const png = async (color: string) => {
        const canvas = document.createElement('canvas');
        canvas.width = 300;
        canvas.height = 200;
        const context = canvas.getContext('2d')!;
        context.fillStyle = color;
        context.fillRect(0, 0, 300, 200);
        return new Promise<Blob>((resolve) => canvas.toBlob((b) => resolve(b!)));
      };
      const data = new DataTransfer();
      data.items.add(new File([await png('#2f7d4f')], 'hills.png', { type: 'image/png' }));
      data.items.add(new File(['north, then east\n'], 'route.txt', { type: 'text/plain' }));
      data.items.add(new File([await png('#2a62b8')], 'river.png', { type: 'image/png' }));
      input.files = data.files;
      input.dispatchEvent(new Event('change', { bubbles: true }));
    });
    const tray = ann.getByRole('region', { name: 'Files to send' });
    await tray.getByRole('heading', { name: 'Send 3 files' }).waitFor();
    await tray.getByRole('textbox', { name: 'Caption' }).fill('Day two');
    await tray.getByRole('button', { name: 'Send' }).click();

    const bubble = messages(ben).locator('li.message', { hasText: 'Day two' });
    const album = bubble.getByRole('group', { name: '2 photos' });
    await album.getByRole('button', { name: 'Open photo river.png' }).waitFor();
    expect(
      await album
        .getByRole('button')
        .evaluateAll((buttons) => buttons.map((b) => b.getAttribute('aria-label'))),
    ).toEqual(['Open photo hills.png', 'Open photo river.png']);
    await bubble.getByRole('link', { name: /^Download route\.txt/ }).waitFor();
    // One message, not three: the caption once, and nothing else arrived with these files.
    expect(await messages(ben).locator('li.message', { hasText: 'route.txt' }).count()).toBe(1);
    expect(
      await messages(ben)
        .getByRole('group', { name: /photos$/ })
        .count(),
    ).toBe(1);
    await ben.getByRole('list', { name: 'Chats' }).getByText('📷 Day two (+2)').waitFor();

    // The lightbox walks the album's photos (after the chat's earlier photo).
    await album.getByRole('button', { name: 'Open photo hills.png' }).click();
    const first = ben.getByRole('dialog', { name: /: hills\.png$/ });
    await first.waitFor();
    await first.getByRole('button', { name: 'Next photo' }).click();
    await ben.getByRole('dialog', { name: /: river\.png$/ }).waitFor();
    await ben.keyboard.press('Escape');
    await ben.getByRole('dialog').waitFor({ state: 'detached' });
  }, 60_000);

  it('a file over the limit fails with the reason, Retry and Discard; Discard drops it', async () => {
    await ann.locator('input[type=file]').setInputFiles({
      name: 'too-big.bin',
      mimeType: 'application/octet-stream',
      buffer: Buffer.alloc(UPLOAD_LIMIT + 1024, 1),
    });
    await ann
      .getByRole('region', { name: 'Files to send' })
      .getByRole('button', { name: 'Send' })
      .click();
    const failed = messages(ann).locator('li.message', { hasText: 'too-big.bin' });
    await failed.getByText('The file is too large', { exact: false }).waitFor();
    await failed.getByRole('button', { name: 'Not sent. Retry' }).waitFor();
    await audit(ann, 'a failed upload');
    await failed.getByRole('button', { name: 'Discard' }).click();
    await failed.waitFor({ state: 'detached' });
    const input = ann.getByRole('textbox', { name: 'Message' });
    await input.fill('after the big one');
    await input.press('Enter');
    await messages(ben).getByText('after the big one').waitFor();
    expect(await messages(ben).getByText('too-big.bin').count()).toBe(0);
  }, 60_000);

  it('the chat with photos, files and voice notes: axe clean, no CSP report', async () => {
    await ben.getByRole('list', { name: 'Chats' }).getByText('after the big one').waitFor();
    await audit(ben, 'chat with attachments');
    expect(pages.problems).toEqual([]);
  }, 60_000);
});
