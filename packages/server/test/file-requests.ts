/** Uploads and downloads over HTTP, for the files tests. */
import type { TestServer, TestUser } from '../src/testing/harness.js';

/** `POST /api/files` with one part `file`. */
export async function upload(server: TestServer, user: TestUser, name: string, bytes: Uint8Array) {
  const form = new FormData();
  form.append('file', new Blob([bytes]), name);
  const response = await fetch(`${server.url}/api/files`, {
    method: 'POST',
    headers: { authorization: `Bearer ${user.accessToken}` },
    body: form,
  });
  return { status: response.status, body: (await response.json()) as any };
}

/** A GET of `path` (a signed URL, or with a bearer token), its bytes read whole. */
export async function download(server: TestServer, path: string, token?: string, range?: string) {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (range) headers.range = range;
  const response = await fetch(server.url + path, { headers });
  return {
    status: response.status,
    headers: response.headers,
    bytes: Buffer.from(await response.arrayBuffer()),
  };
}
