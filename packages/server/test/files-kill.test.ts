/**
 * kill -9 during uploads and sends with attachments (issue 13): a real server process is killed
 * while several uploads stream and several sends carrying files are in flight. After the
 * restart no stored message points at a missing or partial file: every attachment of every
 * message downloads with its recorded size and the sha256 of the bytes uploaded, every
 * acknowledged send is there with its files, and every blob under its key is whole (its name
 * is the hash of its bytes). Runs on both engines (the child's store follows LETTER_TEST_ENGINE).
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  api,
  directConversation,
  register,
  sleep,
  TestSocket,
  type TestUser,
} from '../src/testing/harness.js';
import { cleanUp, scratchDir, startChild, type ChildServer } from './child.js';

afterAll(cleanUp);

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/**
 * Streams a multipart upload in 32 KiB slices with a pause between them, so it is mid-body for
 * a while. Resolves with the file id, or null when the connection died first.
 */
function slowUpload(server: ChildServer, user: TestUser, bytes: Buffer): Promise<string | null> {
  const boundary = `b${randomBytes(8).toString('hex')}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="blob.bin"\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n',
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const body = Buffer.concat([head, bytes, tail]);
  return new Promise((resolve) => {
    const request = httpRequest(
      `${server.url}/api/files`,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${user.accessToken}`,
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'content-length': body.length,
        },
      },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () =>
          resolve(response.statusCode === 201 ? (JSON.parse(text).file.id as string) : null),
        );
        response.on('error', () => resolve(null));
      },
    );
    request.on('error', () => resolve(null));
    void (async () => {
      for (let at = 0; at < body.length && !request.destroyed; at += 32 * 1024) {
        request.write(body.subarray(at, at + 32 * 1024));
        await sleep(5);
      }
      request.end();
    })();
  });
}

interface Attachment {
  id: string;
  size: number;
  url: string;
}
interface Message {
  seq: number;
  clientMsgId: string | null;
  attachments: Attachment[];
}

describe('kill -9 during uploads and sends with attachments', () => {
  it('leaves no message pointing at a missing or partial file', { timeout: 180_000 }, async () => {
    const dir = scratchDir('letter-files-kill-');
    const first = await startChild(dir);
    const ana = await register(first, 'fk_ana');
    const ben = await register(first, 'fk_ben');
    const conversationId = await directConversation(first, ana, ben);
    const socket = await TestSocket.connect(first, ana.accessToken);

    // Each upload is followed at once by a send carrying it (pairs carry two files). The
    // server is killed once a few sends are acknowledged: by then later uploads are mid-body
    // and later sends on their way.
    const expected = new Map<string, { size: number; sha: string }>();
    const acked = new Map<string, string[]>();
    let killed = false;
    let sends = 0;
    const killAfter = 4;
    const uploads = Array.from({ length: 14 }, (_, i) => randomBytes(200_000 + i * 37_000));
    const flows = [];
    for (let pair = 0; pair < uploads.length / 2; pair++) {
      flows.push(
        (async () => {
          await sleep(pair * 40);
          const files = await Promise.all(
            [uploads[2 * pair]!, uploads[2 * pair + 1]!].map(async (bytes) => {
              const id = await slowUpload(first, ana, bytes);
              if (id) expected.set(id, { size: bytes.length, sha: sha256(bytes) });
              return id;
            }),
          );
          if (killed || files.some((id) => id === null)) return;
          const clientMsgId = `kill-${pair}`;
          sends++;
          const answer = await socket
            .request({
              type: 'send',
              conversationId,
              clientMsgId,
              body: '',
              attachments: files,
            })
            .catch(() => null);
          if (answer?.type !== 'ok' || killed) return;
          acked.set(clientMsgId, files as string[]);
          if (acked.size >= killAfter) {
            killed = true;
            first.process.kill('SIGKILL');
          }
        })(),
      );
    }
    await Promise.all(flows);
    const exit = await first.exited;
    expect(exit.signal).toBe('SIGKILL');
    expect(acked.size).toBe(killAfter);
    expect(sends, 'some sends were still in flight at the kill').toBeGreaterThanOrEqual(killAfter);
    socket.close();

    const second = await startChild(dir);
    try {
      const page = await api(
        second,
        'GET',
        `/api/conversations/${conversationId}/messages?limit=200`,
        ana.accessToken,
      );
      expect(page.status).toBe(200);
      const messages = page.body.messages as Message[];
      const byClientId = new Map(messages.map((m) => [m.clientMsgId, m]));
      for (const [clientMsgId, files] of acked) {
        const message = byClientId.get(clientMsgId);
        expect(message, clientMsgId).toBeDefined();
        expect(message!.attachments.map((a) => a.id)).toEqual(files);
      }
      let checked = 0;
      for (const message of messages) {
        for (const file of message.attachments) {
          const want = expected.get(file.id);
          expect(want, `${file.id} is a file whose upload was answered`).toBeDefined();
          expect(file.size).toBe(want!.size);
          const response = await fetch(second.url + file.url);
          expect(response.status, file.id).toBe(200);
          const bytes = Buffer.from(await response.arrayBuffer());
          expect(bytes.length).toBe(want!.size);
          expect(sha256(bytes)).toBe(want!.sha);
          checked++;
        }
      }
      expect(checked).toBeGreaterThanOrEqual(2 * killAfter);
      // Ben (the other member) sees the same files, signed for him.
      const bens = await api(
        second,
        'GET',
        `/api/conversations/${conversationId}/messages?limit=200`,
        ben.accessToken,
      );
      const first = (bens.body.messages as Message[]).find((m) => m.attachments.length > 0)!;
      expect((await fetch(second.url + first.attachments[0]!.url)).status).toBe(200);

      // Every blob under its key is whole; the temporaries a crash left are gone.
      const blobs = join(dir, 'files');
      for (const entry of readdirSync(blobs, { recursive: true, withFileTypes: true })) {
        if (!entry.isFile()) continue;
        const path = join(entry.parentPath, entry.name);
        expect(path.startsWith(join(blobs, 'tmp')), `${path} left over`).toBe(false);
        expect(sha256(readFileSync(path)), path).toBe(entry.name);
      }
      expect(existsSync(join(blobs, 'tmp'))).toBe(true);
    } finally {
      const exit = await second.stop('SIGTERM');
      expect(exit.code).toBe(0);
    }
  });
});
