/**
 * Files over HTTP (contract "Files"): upload, the type from the bytes, images re-encoded
 * without EXIF/GPS, downloads by bearer and signed URL for the uploader and members only, and
 * hostile uploads refused or defused.
 */
import { readdirSync } from 'node:fs';
import { Agent, get as httpGet, type IncomingMessage } from 'node:http';
import { join, relative } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  register,
  startServer,
  type TestServer,
  type TestUser,
} from '../src/testing/harness.js';
import { download, upload } from './file-requests.js';

const MAX = 2 * 1024 * 1024;

/** Every blob and temporary file under the data dir's files/. */
function blobFiles(server: TestServer): string[] {
  const dir = join(server.dataDir, 'files');
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)));
}

/** A JPEG with an EXIF block carrying GPS coordinates. */
async function jpegWithGps(): Promise<Buffer> {
  return sharp({ create: { width: 64, height: 32, channels: 3, background: '#3a6' } })
    .jpeg()
    .withMetadata({ orientation: 6 })
    .withExifMerge({
      IFD0: { Make: 'SpyCam' },
      IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 2400/100' },
    })
    .toBuffer();
}

describe('files', () => {
  let server: TestServer;
  let ana: TestUser;
  let ben: TestUser;
  let eve: TestUser;
  let group: string;

  beforeAll(async () => {
    server = await startServer({ config: { maxUploadBytes: MAX } });
    [ana, ben, eve] = (await Promise.all(
      ['ana', 'ben', 'eve'].map((u) => register(server, u)),
    )) as [TestUser, TestUser, TestUser];
    const created = await api(server, 'POST', '/api/conversations', ana.accessToken, {
      kind: 'group',
      title: 'Photos',
      memberIds: [ben.user.id],
    });
    group = created.body.conversation.id;
  });
  afterAll(async () => {
    await server.stop();
  });

  /** Uploads as Ana and sends it with a new message of hers in the group. */
  async function shared(name: string, bytes: Uint8Array) {
    const uploaded = await upload(server, ana, name, bytes);
    expect(uploaded.status).toBe(201);
    const sent = await api(
      server,
      'POST',
      `/api/conversations/${group}/messages`,
      ana.accessToken,
      {
        clientMsgId: `c-${Math.random()}`,
        body: 'look',
        attachments: [uploaded.body.file.id],
      },
    );
    expect(sent.status).toBe(201);
    return uploaded.body.file as { id: string; name: string; size: number; mime: string };
  }

  it('stores a file, types it from its bytes, and serves it to members only', async () => {
    const bytes = Buffer.from('%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n');
    const file = await shared('report.txt', bytes);
    expect(file).toMatchObject({ name: 'report.txt', size: bytes.length, mime: 'application/pdf' });

    const got = await download(server, `/api/files/${file.id}`, ben.accessToken);
    expect(got.status).toBe(200);
    expect(got.bytes).toEqual(bytes);
    expect(got.headers.get('x-content-type-options')).toBe('nosniff');
    expect(got.headers.get('content-security-policy')).toBe("sandbox; default-src 'none'");
    expect(got.headers.get('content-disposition')).toMatch(/^attachment;/);
    expect(got.headers.get('cache-control')).toContain('immutable');

    const part = await download(server, `/api/files/${file.id}`, ben.accessToken, 'bytes=1-3');
    expect(part.status).toBe(206);
    expect(part.bytes.toString()).toBe('PDF');
    expect(part.headers.get('content-range')).toBe(`bytes 1-3/${bytes.length}`);

    const outsider = await download(server, `/api/files/${file.id}`, eve.accessToken);
    expect(outsider.status).toBe(404);
    expect(outsider.bytes.toString()).not.toContain('PDF');
    expect((await download(server, `/api/files/${file.id}`)).status).toBe(401);
  });

  it('serves signed URLs without a token, and refuses tampered, expired or revoked ones', async () => {
    const file = await shared('notes.bin', Buffer.from('secret bytes of the group'));
    const { files } = server.node;
    const signed = `/api/files/${file.id}?${files.signQuery(file.id, ben.user.id)}`;
    const ok = await download(server, signed);
    expect(ok.status).toBe(200);
    expect(ok.bytes.toString()).toBe('secret bytes of the group');

    const tampered = signed.replace(
      /s=([A-Za-z0-9_-])/,
      (_m, c: string) => `s=${c === 'A' ? 'B' : 'A'}`,
    );
    const forged = `/api/files/${file.id}?${files.signQuery(file.id, ben.user.id).replace(ben.user.id, eve.user.id)}`;
    const expiredQuery = new URLSearchParams(files.signQuery(file.id, ben.user.id));
    expiredQuery.set('e', '1000');
    for (const path of [tampered, forged, `/api/files/${file.id}?${expiredQuery}`]) {
      const refused = await download(server, path);
      expect(refused.status).toBe(403);
      expect(refused.bytes.toString()).not.toContain('secret');
    }
    // A URL signed for a non-member grants nothing.
    const eves = await download(
      server,
      `/api/files/${file.id}?${files.signQuery(file.id, eve.user.id)}`,
    );
    expect(eves.status).toBe(404);

    // A removed member's URL stops working at once.
    const removed = await api(
      server,
      'DELETE',
      `/api/conversations/${group}/members/${ben.user.id}`,
      ana.accessToken,
    );
    expect(removed.status).toBeLessThan(300);
    const after = await download(server, signed);
    expect(after.status).toBe(404);
    expect(after.bytes.toString()).not.toContain('secret');
    await api(server, 'POST', `/api/conversations/${group}/members`, ana.accessToken, {
      userIds: [ben.user.id],
    });
  });

  it('re-encodes a JPEG without its EXIF and GPS, applies its orientation and makes a thumbnail', async () => {
    const original = await jpegWithGps();
    expect((await sharp(original).metadata()).exif).toBeDefined();
    expect(original.includes(Buffer.from('SpyCam'))).toBe(true);
    const uploaded = await upload(server, ana, 'holiday.jpg', original);
    expect(uploaded.status).toBe(201);
    // Orientation 6: the 64 × 32 picture is shown turned, 32 × 64.
    expect(uploaded.body.file).toMatchObject({ mime: 'image/jpeg', width: 32, height: 64 });
    expect(typeof uploaded.body.file.thumbhash).toBe('string');
    const served = await download(server, `/api/files/${uploaded.body.file.id}`, ana.accessToken);
    expect(served.headers.get('content-disposition')).toMatch(/^inline;/);
    const metadata = await sharp(served.bytes).metadata();
    expect(metadata.exif).toBeUndefined();
    expect(served.bytes.includes(Buffer.from('SpyCam'))).toBe(false);
    const thumb = await download(
      server,
      `/api/files/${uploaded.body.file.id}/thumbnail`,
      ana.accessToken,
    );
    expect(thumb.status).toBe(200);
    expect(thumb.headers.get('content-type')).toBe('image/webp');
  });

  it('serves HTML, SVG with script and a PNG-named HTML file as downloads, never as HTML', async () => {
    const html = Buffer.from('<html><script>alert(1)</script></html>');
    const svg = Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    );
    for (const [name, bytes] of [
      ['page.html', html],
      ['logo.svg', svg],
      ['cat.png', html],
    ] as const) {
      const uploaded = await upload(server, ana, name, bytes);
      expect(uploaded.status).toBe(201);
      expect(uploaded.body.file.mime).not.toMatch(/html|image\/png/);
      const served = await download(server, `/api/files/${uploaded.body.file.id}`, ana.accessToken);
      expect(served.headers.get('content-type')).not.toMatch(/html|svg/);
      expect(served.headers.get('content-disposition')).toMatch(/^attachment;/);
      expect(served.headers.get('content-security-policy')).toBe("sandbox; default-src 'none'");
    }
  });

  it('refuses a 30,000 × 30,000 PNG without decoding it', async () => {
    // A tiny PNG whose header claims 900 megapixels: refused from the header alone.
    const bomb = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } })
      .png()
      .toBuffer();
    const header = Buffer.from(bomb);
    header.writeUInt32BE(30_000, 16);
    header.writeUInt32BE(30_000, 20);
    // The IHDR CRC no longer matches, which is fine: the pixel limit is checked first or the
    // PNG is refused as corrupt; either way not decoded.
    const uploaded = await upload(server, ana, 'bomb.png', header);
    expect([413, 415]).toContain(uploaded.status);
    expect(['payload_too_large', 'unsupported_media_type']).toContain(uploaded.body.error.code);
  });

  it('keeps names safe: no path, no control characters', async () => {
    const uploaded = await upload(
      server,
      ana,
      '../../etc/pass\u202ewd\r\n.txt',
      Buffer.from('hello there'),
    );
    expect(uploaded.status).toBe(201);
    // (FormData sends CR/LF in a name as %0D%0A.)
    const { name } = uploaded.body.file as { name: string };
    expect(name).toMatch(/^pa.*\.txt$/);
    // eslint-disable-next-line no-control-regex -- the point of the check
    expect(name).not.toMatch(/[/\\\u0000-\u001f\u202e]/);
    const served = await download(server, `/api/files/${uploaded.body.file.id}`, ana.accessToken);
    expect(served.headers.get('content-disposition')).not.toMatch(/[\r\n]/);
  });

  it('takes a file of exactly the limit, its multipart wrapping notwithstanding', async () => {
    const exact = await upload(server, ana, 'exact.bin', Buffer.alloc(MAX, 3));
    expect(exact.status).toBe(201);
    expect(exact.body.file.size).toBe(MAX);
  });

  it('refuses an oversize upload with 413 and keeps nothing', async () => {
    const before = blobFiles(server);
    const declared = await upload(server, ana, 'big.bin', Buffer.alloc(MAX + 1, 1));
    expect(declared.status).toBe(413);
    expect(declared.body.error.code).toBe('payload_too_large');
    // Without a Content-Length (chunked), cut at the limit.
    let sent = 0;
    const boundary = 'letterboundary';
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 0)
          controller.enqueue(
            Buffer.from(
              `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n\r\n`,
            ),
          );
        if (sent > MAX + 200_000) {
          controller.enqueue(Buffer.from(`\r\n--${boundary}--\r\n`));
          controller.close();
          return;
        }
        sent += 65536;
        controller.enqueue(Buffer.alloc(65536, 2));
      },
    });
    const response = await fetch(`${server.url}/api/files`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${ana.accessToken}`,
        'content-type': `multipart/form-data; boundary=${boundary}`,
      },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
    expect(blobFiles(server)).toEqual(before);
  });

  it('takes 20 concurrent uploads', async () => {
    const bodies = Array.from({ length: 20 }, (_, i) =>
      Buffer.from(`file number ${i} `.repeat(100)),
    );
    const results = await Promise.all(bodies.map((b, i) => upload(server, ben, `f${i}.txt`, b)));
    for (const [i, result] of results.entries()) {
      expect(result.status).toBe(201);
      const served = await download(server, `/api/files/${result.body.file.id}`, ben.accessToken);
      expect(served.bytes).toEqual(bodies[i]);
    }
  });
});

describe('file lifecycle', () => {
  let now = Date.UTC(2026, 0, 1);
  let server: TestServer;
  let ana: TestUser;
  let ben: TestUser;
  let direct: string;

  beforeAll(async () => {
    server = await startServer({ clock: { now: () => now } });
    [ana, ben] = (await Promise.all(['ana', 'ben'].map((u) => register(server, u)))) as [
      TestUser,
      TestUser,
    ];
    await api(server, 'POST', '/api/contacts', ana.accessToken, { username: ben.user.username });
    await api(server, 'POST', '/api/contacts', ben.accessToken, { username: ana.user.username });
    const opened = await api(server, 'POST', '/api/conversations', ana.accessToken, {
      kind: 'direct',
      userId: ben.user.id,
    });
    direct = opened.body.conversation.id;
  });
  afterAll(async () => {
    await server.stop();
  });

  it('deletes the files of a message deleted for everyone, bytes included', async () => {
    const uploaded = await upload(server, ana, 'gone.txt', Buffer.from('soon gone, for everyone'));
    const sent = await api(
      server,
      'POST',
      `/api/conversations/${direct}/messages`,
      ana.accessToken,
      {
        clientMsgId: 'with-file',
        body: 'a file',
      },
    );
    const seq = sent.body.message.seq as number;
    await server.node.store.attachFiles({
      fileIds: [uploaded.body.file.id],
      uploaderId: ana.user.id,
      conversationId: direct,
      seq,
    });
    const before = blobFiles(server).length;
    const deleted = await api(
      server,
      'DELETE',
      `/api/conversations/${direct}/messages/${seq}`,
      ana.accessToken,
    );
    expect(deleted.status).toBeLessThan(300);
    expect(await server.node.store.getFile(uploaded.body.file.id)).toBeNull();
    expect(blobFiles(server).length).toBe(before - 1);
    expect(
      (await download(server, `/api/files/${uploaded.body.file.id}`, ben.accessToken)).status,
    ).toBe(404);
  });

  it('deletes the files of a deleted account', async () => {
    const uploaded = await upload(server, ben, 'mine.txt', Buffer.from('ben’s own bytes'));
    const gone = await api(server, 'DELETE', '/api/me', ben.accessToken, {
      password: 'correct horse battery',
    });
    expect(gone.status).toBe(204);
    expect(await server.node.store.getFile(uploaded.body.file.id)).toBeNull();
    expect(await server.node.store.uploadedBytes(ben.user.id)).toBe(0);
  });

  it('deletes uploads never attached after 24 hours', async () => {
    // (Ben's account is deleted by now: Ana uploads.)
    const stale = await upload(server, ana, 'stale.txt', Buffer.from('never sent anywhere'));
    now += 25 * 3600 * 1000;
    const fresh = await server.node.store.createFile({
      id: 'f_fresh',
      uploaderId: ana.user.id,
      name: 'fresh.txt',
      size: 1,
      mime: 'text/plain',
      width: null,
      height: null,
      sha256: 'a'.repeat(64),
      thumbSha256: null,
      thumbhash: null,
      createdAt: now - 3600 * 1000,
    });
    const before = blobFiles(server).length;
    await server.node.sweeper.sweep();
    expect(await server.node.store.getFile(stale.body.file.id)).toBeNull();
    expect(await server.node.store.getFile(fresh.id)).not.toBeNull();
    expect(blobFiles(server).length).toBe(before - 1);
  });
});

describe('a graceful stop during a download', () => {
  it('lets the download finish, then ends at once despite keep-alive', async () => {
    const server = await startServer({
      config: {
        maxUploadBytes: 8 * 1024 * 1024,
        timeouts: { headersMs: 10_000, requestMs: 30_000, keepAliveMs: 60_000, idleMs: 120_000 },
      },
    });
    const ana = await register(server, 'ana');
    const bytes = Buffer.alloc(6 * 1024 * 1024, 5);
    const uploaded = await upload(server, ana, 'big.bin', bytes);
    expect(uploaded.status).toBe(201);
    const agent = new Agent({ keepAlive: true });
    // The client reads nothing at first: the answer is still going out when the stop begins.
    const response = await new Promise<IncomingMessage>((resolve, reject) =>
      httpGet(
        `${server.url}/api/files/${uploaded.body.file.id}`,
        { agent, headers: { authorization: `Bearer ${ana.accessToken}` } },
        resolve,
      ).on('error', reject),
    );
    expect(response.headers.connection).toBe('keep-alive');
    response.pause();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    const stopped = server.stop();
    let received = 0;
    response.on('data', (chunk: Buffer) => (received += chunk.length));
    const ended = new Promise((resolve) => response.on('end', resolve));
    response.resume();
    await ended;
    await stopped;
    agent.destroy();
    expect(received).toBe(bytes.length);
    // Not the 60 s keep-alive timeout.
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
