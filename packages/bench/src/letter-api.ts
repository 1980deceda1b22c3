/** The few REST calls the harness makes against Letter (CONTRACT.md). */
import http from 'node:http';

export interface LetterUser {
  id: string;
  username: string;
  password: string;
  accessToken: string;
  refreshToken: string;
  /** When the access token was issued (ms, Date.now()). */
  issuedAt: number;
}

async function call<T>(
  base: string,
  method: string,
  path: string,
  body: unknown,
  token?: string,
): Promise<T> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text.slice(0, 200)}`);
  return (text ? JSON.parse(text) : {}) as T;
}

interface AuthAnswer {
  user: { id: string; username: string };
  accessToken: string;
  refreshToken: string;
}

export async function register(
  base: string,
  username: string,
  password: string,
): Promise<LetterUser> {
  const answer = await call<AuthAnswer>(base, 'POST', '/api/auth/register', { username, password });
  return { ...answer, id: answer.user.id, username, password, issuedAt: Date.now() };
}

export async function login(base: string, user: LetterUser): Promise<void> {
  const answer = await call<AuthAnswer>(base, 'POST', '/api/auth/login', {
    username: user.username,
    password: user.password,
  });
  user.accessToken = answer.accessToken;
  user.refreshToken = answer.refreshToken;
  user.issuedAt = Date.now();
}

/** New tokens without argon2: refresh, or log in again when the refresh token is dead. */
export async function renew(base: string, user: LetterUser): Promise<void> {
  try {
    const answer = await call<{ accessToken: string; refreshToken: string }>(
      base,
      'POST',
      '/api/auth/refresh',
      { refreshToken: user.refreshToken },
    );
    user.accessToken = answer.accessToken;
    user.refreshToken = answer.refreshToken;
    user.issuedAt = Date.now();
  } catch {
    await login(base, user);
  }
}

interface ConversationAnswer {
  conversation?: { id: string };
  id?: string;
}

function conversationId(answer: ConversationAnswer): string {
  const id = answer.conversation?.id ?? answer.id;
  if (!id) throw new Error('conversation answer without an id');
  return id;
}

export async function createDirect(base: string, token: string, userId: string): Promise<string> {
  return conversationId(
    await call<ConversationAnswer>(
      base,
      'POST',
      '/api/conversations',
      { kind: 'direct', userId },
      token,
    ),
  );
}

export async function createGroup(
  base: string,
  token: string,
  title: string,
  memberIds: string[],
): Promise<string> {
  return conversationId(
    await call<ConversationAnswer>(
      base,
      'POST',
      '/api/conversations',
      { kind: 'group', title, memberIds },
      token,
    ),
  );
}

export async function healthy(base: string): Promise<boolean> {
  try {
    const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(2000) });
    await res.text();
    return res.ok;
  } catch {
    return false;
  }
}

/** Runs `task` over `items` with at most `limit` in flight; throws the first error at the end. */
export async function boundedAll<T>(
  items: T[],
  limit: number,
  task: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let firstError: unknown;
  const worker = async () => {
    while (next < items.length && firstError === undefined) {
      const index = next++;
      try {
        await task(items[index]!, index);
      } catch (err) {
        firstError ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (firstError !== undefined) throw firstError;
}

/** A GET with a bearer token, timed by the caller; throws on a non-2xx answer. */
export async function getJson<T>(base: string, path: string, token: string): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${path} → ${res.status} ${text.slice(0, 200)}`);
  return JSON.parse(text) as T;
}

export async function postJson<T>(
  base: string,
  path: string,
  token: string,
  body: unknown,
): Promise<T> {
  return call<T>(base, 'POST', path, body, token);
}

/**
 * GETs over a keep-alive `node:http` agent, for figures timed one request at a time: `fetch`
 * (undici, a timeout signal per call) costs the generator more per request and allocates
 * more, and its own pauses land in the figure (docs/performance.md, 27 Nov, round five).
 */
export function keepAliveGetter(base: string, token: string) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const get = (path: string): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const req = http.get(
        `${base}${path}`,
        { agent, headers: { authorization: `Bearer ${token}` }, timeout: 60_000 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString();
            if (res.statusCode !== 200)
              reject(new Error(`GET ${path} → ${res.statusCode} ${text.slice(0, 200)}`));
            else resolve(JSON.parse(text));
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`GET ${path}: no answer in 60 s`)));
      req.on('error', reject);
    });
  return { get, close: () => agent.destroy() };
}
