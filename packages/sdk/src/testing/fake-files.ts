/**
 * Files in FakeServer: `POST /api/files` (multipart, one part `file`) keeps the file's facts
 * (never its bytes), and a `send` with `attachments` turns the uploader's own, not yet attached
 * file ids into `message.attachments` with a fake signed URL, as the contract says.
 */
import type { Attachment } from '@letter/protocol';
import { limits } from '@letter/protocol';
import type { FakeServer } from './fake-server.js';

export interface FakeFile {
  id: string;
  uploaderId: string;
  name: string;
  size: number;
  mime: string;
  attached: boolean;
}

/** Answers `POST /api/files`; `userId` is the verified caller, null for a bad token. */
export async function fakeUpload(
  server: FakeServer,
  userId: string | null,
  init: RequestInit,
): Promise<Response> {
  if (!userId) return problem(401, 'unauthorized');
  const form = init.body;
  const part = form instanceof FormData ? form.get('file') : null;
  if (!part || typeof part === 'string') return problem(400, 'bad_request');
  if (part.size > server.maxUploadBytes) return problem(413, 'payload_too_large');
  // Read it through, as a server does, so a test sees the bytes actually went.
  const size = (await part.arrayBuffer()).byteLength;
  const file: FakeFile = {
    id: server.nextId('f'),
    uploaderId: userId,
    name: (part as File).name || 'file',
    size,
    mime: part.type || 'application/octet-stream',
    attached: false,
  };
  server.files.set(file.id, file);
  const { uploaderId: _u, attached: _a, ...view } = file;
  return new Response(JSON.stringify({ file: view }), {
    status: 201,
    headers: { 'content-type': 'application/json' },
  });
}

/** The attachments of a new message; `not_found` for a file that is not the sender's to attach (as the server). */
export function attachFiles(server: FakeServer, senderId: string, ids: readonly string[]) {
  if (ids.length > limits.maxAttachments) throw codeError('bad_request');
  const files = ids.map((id) => server.files.get(id));
  if (files.some((f) => !f || f.uploaderId !== senderId || f.attached))
    throw codeError('not_found');
  return files.map((file): Attachment => {
    file!.attached = true;
    return {
      id: file!.id,
      name: file!.name,
      size: file!.size,
      mime: file!.mime,
      url: `/api/files/${file!.id}?sig=fake`,
    };
  });
}

function codeError(code: string): Error {
  return Object.assign(new Error(code), { code });
}

function problem(status: number, code: string): Response {
  return new Response(JSON.stringify({ error: { code, message: code } }), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}
