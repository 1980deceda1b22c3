/**
 * Files on messages, end to end (contract "Files"): upload → send with attachments → every
 * member gets `message.attachments` with URLs signed for them alone, on every path a message
 * takes (event, ok, history, sync, search, conversation list, message.updated, export); a
 * non-member, a removed member, a later joiner, an expired or tampered URL get no bytes.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  register,
  startServer,
  TestSocket,
  type Frame,
  type TestServer,
  type TestUser,
} from '../src/testing/harness.js';
import type { Attachment } from '@letter/protocol';
import { download, upload } from './file-requests.js';
import { ManualClock } from '../src/util/clock.js';

const PDF = Buffer.from('%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n');

/** Uploads and answers the file id. */
async function uploaded(server: TestServer, user: TestUser, name: string, bytes: Uint8Array) {
  const answer = await upload(server, user, name, bytes);
  expect(answer.status).toBe(201);
  return answer.body.file.id as string;
}

const get = (server: TestServer, path: string, token?: string) => download(server, path, token);

/** The `u` a signed URL was made for. */
const signedFor = (url: string) => new URL(url, 'http://x').searchParams.get('u');

describe('files on messages', () => {
  const clock = new ManualClock(Date.now());
  let server: TestServer;
  let ana: TestUser;
  let ben: TestUser;
  let cal: TestUser;
  let dan: TestUser;
  let eve: TestUser;
  let group: string;
  let png: Buffer;
  let benSocket: TestSocket;
  let calSocket: TestSocket;

  beforeAll(async () => {
    server = await startServer({ clock });
    [ana, ben, cal, dan, eve] = (await Promise.all(
      ['ana', 'ben', 'cal', 'dan', 'eve'].map((u) => register(server, u)),
    )) as [TestUser, TestUser, TestUser, TestUser, TestUser];
    const created = await api(server, 'POST', '/api/conversations', ana.accessToken, {
      kind: 'group',
      title: 'Trip',
      memberIds: [ben.user.id, cal.user.id],
    });
    group = created.body.conversation.id;
    png = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#c84' } })
      .png()
      .toBuffer();
    benSocket = await TestSocket.connect(server, ben.accessToken);
    calSocket = await TestSocket.connect(server, cal.accessToken);
  });
  afterAll(async () => {
    benSocket.close();
    calSocket.close();
    await server.stop();
  });

  /** Every attachment's URL is signed for `userId` and downloads without a bearer token. */
  async function expectWorking(attachments: Attachment[], userId: string, pdf = true) {
    for (const file of attachments) {
      expect(signedFor(file.url)).toBe(userId);
      const got = await get(server, file.url);
      expect(got.status).toBe(200);
      expect(got.bytes.length).toBe(file.size);
      if (file.mime === 'application/pdf' && pdf) expect(got.bytes).toEqual(PDF);
      if (file.thumbnailUrl) {
        expect(signedFor(file.thumbnailUrl)).toBe(userId);
        expect((await get(server, file.thumbnailUrl)).status).toBe(200);
      }
    }
  }

  let sentSeq = 0;
  let attachments: Attachment[] = [];

  it('sends files with an empty body; each member gets URLs signed for them', async () => {
    const anaSocket = await TestSocket.connect(server, ana.accessToken);
    const photo = await uploaded(server, ana, 'beach.png', png);
    const doc = await uploaded(server, ana, 'plan.pdf', PDF);
    const ok = await anaSocket.request({
      type: 'send',
      conversationId: group,
      clientMsgId: 'with-files',
      body: '',
      attachments: [photo, doc],
    });
    anaSocket.close();
    expect(ok.type).toBe('ok');
    sentSeq = ok.message.seq;
    expect(ok.message.body).toBe('');
    await expectWorking(ok.message.attachments, ana.user.id);

    const event = await benSocket.waitFor(
      (f: Frame) => f.type === 'message' && f.message.seq === sentSeq,
    );
    attachments = event.message.attachments;
    expect(attachments.map((a) => [a.id, a.name, a.mime])).toEqual([
      [photo, 'beach.png', 'image/png'],
      [doc, 'plan.pdf', 'application/pdf'],
    ]);
    expect(attachments[0]).toMatchObject({ width: 40, height: 30 });
    expect(attachments[0]!.thumbhash).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(attachments[1]!.thumbnailUrl).toBeUndefined();
    await expectWorking(attachments, ben.user.id);
    // The image downloads as the uploader's bearer sees it (re-encoded once, same bytes).
    const viaBearer = await get(server, `/api/files/${photo}`, ana.accessToken);
    expect((await get(server, attachments[0]!.url)).bytes).toEqual(viaBearer.bytes);
    const calEvent = await calSocket.waitFor(
      (f: Frame) => f.type === 'message' && f.message.seq === sentSeq,
    );
    await expectWorking(calEvent.message.attachments, cal.user.id);
  });

  it('a send to a user (the direct conversation, created on the way) carries files too', async () => {
    const anaSocket = await TestSocket.connect(server, ana.accessToken);
    const doc = await uploaded(server, ana, 'for-eve.pdf', PDF);
    const ok = await anaSocket.request({
      type: 'send',
      to: eve.user.id,
      clientMsgId: 'direct-with-file',
      body: 'for you',
      attachments: [doc],
    });
    anaSocket.close();
    expect(ok.type).toBe('ok');
    const page = await api(
      server,
      'GET',
      `/api/conversations/${ok.message.conversationId}/messages`,
      eve.accessToken,
    );
    await expectWorking(page.body.messages.at(-1).attachments, eve.user.id);
  });

  it('refuses a file that is not the sender’s, or attached already, and stores nothing', async () => {
    const bens = await uploaded(server, ben, 'mine.pdf', PDF);
    const before = await api(server, 'GET', `/api/conversations/${group}`, ana.accessToken);
    for (const files of [[bens], [attachments[0]!.id], ['f_nope']]) {
      const refused = await api(
        server,
        'POST',
        `/api/conversations/${group}/messages`,
        ana.accessToken,
        { clientMsgId: `refused-${files[0]}`, body: 'x', attachments: files },
      );
      expect(refused.status).toBe(404);
    }
    const after = await api(server, 'GET', `/api/conversations/${group}`, ana.accessToken);
    expect(after.body.conversation.lastSeq).toBe(before.body.conversation.lastSeq);
    // Ben's file is still his to attach.
    const sent = await api(
      server,
      'POST',
      `/api/conversations/${group}/messages`,
      ben.accessToken,
      {
        clientMsgId: 'ben-file',
        body: 'sunset pictures',
        attachments: [bens],
      },
    );
    expect(sent.status).toBe(201);
    // A repeat of the same clientMsgId is the original, files and all.
    const repeat = await api(
      server,
      'POST',
      `/api/conversations/${group}/messages`,
      ben.accessToken,
      { clientMsgId: 'ben-file', body: 'sunset pictures', attachments: [bens] },
    );
    expect(repeat.status).toBe(200);
    expect(repeat.body.message.seq).toBe(sent.body.message.seq);
    expect(repeat.body.message.attachments.map((a: Attachment) => a.id)).toEqual([bens]);
    // Bad input: too many, repeated, or empty body without files.
    for (const body of [
      { clientMsgId: 'b1', body: '', attachments: [] },
      { clientMsgId: 'b2', body: 'x', attachments: Array.from({ length: 11 }, (_, i) => `f${i}`) },
      { clientMsgId: 'b3', body: 'x', attachments: [bens, bens] },
    ]) {
      const bad = await api(
        server,
        'POST',
        `/api/conversations/${group}/messages`,
        ben.accessToken,
        body,
      );
      expect(bad.status).toBe(400);
    }
  });

  it('carries signed URLs in history, sync, search, the conversation list and message.updated', async () => {
    const page = await api(server, 'GET', `/api/conversations/${group}/messages`, ben.accessToken);
    const inHistory = page.body.messages.find((m: { seq: number }) => m.seq === sentSeq);
    await expectWorking(inHistory.attachments, ben.user.id);

    const syncer = await TestSocket.connect(server, ben.accessToken);
    await syncer.request({ type: 'sync', cursors: { [group]: sentSeq - 1 } });
    const replayed = syncer.of('message').find((f) => f.message.seq === sentSeq)!;
    syncer.close();
    await expectWorking(replayed.message.attachments, ben.user.id);

    const found = await api(server, 'GET', '/api/search?q=sunset', cal.accessToken);
    expect(found.body.results).toHaveLength(1);
    await expectWorking(found.body.results[0].message.attachments, cal.user.id);

    const list = await api(server, 'GET', '/api/conversations', cal.accessToken);
    const last = list.body.conversations.find((c: { id: string }) => c.id === group).lastMessage;
    expect(last.attachments).toHaveLength(1);
    await expectWorking(last.attachments, cal.user.id);
    const one = await api(server, 'GET', `/api/conversations/${group}`, cal.accessToken);
    await expectWorking(one.body.conversation.lastMessage.attachments, cal.user.id);

    const reacted = await api(
      server,
      'PUT',
      `/api/conversations/${group}/messages/${sentSeq}/reactions`,
      ana.accessToken,
      { emoji: '👍' },
    );
    await expectWorking(reacted.body.message.attachments, ana.user.id);
    const updated = await benSocket.waitFor(
      (f: Frame) => f.type === 'message.updated' && f.message.seq === sentSeq,
    );
    await expectWorking(updated.message.attachments, ben.user.id);
  });

  it('exports the sender’s files as links signed for a day', async () => {
    const exported = await api(server, 'GET', '/api/me/export', ana.accessToken);
    const message = exported.body.messages.find((m: { seq: number }) => m.seq === sentSeq);
    await expectWorking(message.attachments, ana.user.id);
    const expiry = Number(new URL(message.attachments[0].url, 'http://x').searchParams.get('e'));
    expect(expiry * 1000 - clock.now()).toBeGreaterThan(23 * 3600 * 1000);
  });

  it('gives no bytes to a non-member, a tampered URL, a removed member or a later joiner', async () => {
    const [photo] = attachments;
    for (const variant of ['', '/thumbnail']) {
      const eves = await get(server, `/api/files/${photo!.id}${variant}`, eve.accessToken);
      expect(eves.status).toBe(404);
      expect(eves.bytes.length).toBeLessThan(200); // an error body, never the file
    }
    // Ben's URL with Eve's id in it, or a changed signature: 403, no bytes.
    const forUser = photo!.url.replace(`u=${ben.user.id}`, `u=${eve.user.id}`);
    const signature = new URL(photo!.url, 'http://x').searchParams.get('s')!;
    const flipped = photo!.url.replace(
      `s=${signature}`,
      `s=${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`,
    );
    for (const url of [forUser, flipped]) {
      const refused = await get(server, url);
      expect(refused.status).toBe(403);
      expect(refused.bytes.includes(png.subarray(0, 8))).toBe(false);
    }

    // Cal had working URLs; removed, they stop at once (signed and bearer alike).
    const calUrl = (
      await calSocket.waitFor((f: Frame) => f.type === 'message' && f.message.seq === sentSeq)
    ).message.attachments[0].url as string;
    expect((await get(server, calUrl)).status).toBe(200);
    const removed = await api(
      server,
      'DELETE',
      `/api/conversations/${group}/members/${cal.user.id}`,
      ana.accessToken,
    );
    expect(removed.status).toBe(204);
    expect((await get(server, calUrl)).status).toBe(404);
    expect((await get(server, `/api/files/${photo!.id}`, cal.accessToken)).status).toBe(404);

    // Dan, added now, sees nothing from before his join: not the message, not its files.
    await api(server, 'POST', `/api/conversations/${group}/members`, ana.accessToken, {
      userIds: [dan.user.id],
    });
    const dans = await api(server, 'GET', `/api/conversations/${group}/messages`, dan.accessToken);
    expect(dans.body.messages.some((m: { seq: number }) => m.seq <= sentSeq)).toBe(false);
    expect((await get(server, `/api/files/${photo!.id}`, dan.accessToken)).status).toBe(404);
  });

  it('deleting the message for everyone removes its files', async () => {
    const deleted = await api(
      server,
      'DELETE',
      `/api/conversations/${group}/messages/${sentSeq}`,
      ana.accessToken,
    );
    expect(deleted.status).toBe(204);
    const tombstone = await benSocket.waitFor(
      (f: Frame) =>
        f.type === 'message.updated' && f.message.seq === sentSeq && f.message.deletedAt !== null,
    );
    expect(tombstone.message.attachments).toEqual([]);
    for (const file of attachments) {
      expect((await get(server, file.url)).status).toBe(404);
      expect((await get(server, `/api/files/${file.id}`, ana.accessToken)).status).toBe(404);
    }
  });

  it('a signed URL expires', async () => {
    const mine = await uploaded(server, ben, 'later.pdf', PDF);
    const sent = await api(
      server,
      'POST',
      `/api/conversations/${group}/messages`,
      ben.accessToken,
      {
        clientMsgId: 'expiring',
        body: 'soon gone',
        attachments: [mine],
      },
    );
    const url = sent.body.message.attachments[0].url as string;
    expect((await get(server, url)).status).toBe(200);
    clock.advance(12 * 3600 * 1000 + 1000);
    const expired = await get(server, url);
    expect(expired.status).toBe(403);
    expect(expired.bytes.includes(PDF)).toBe(false);
  });
});
