/** Seeding over the REST API, for states too slow to click together (long histories). */
import type { Conversation, Message, User } from '@letter/protocol';

export interface Account {
  user: User;
  accessToken: string;
}

async function call<T>(
  base: string,
  path: string,
  init: { method?: string; token?: string; body?: unknown },
) {
  const res = await fetch(base + path, {
    method: init.method ?? 'GET',
    headers: {
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  if (!res.ok)
    throw new Error(`${init.method ?? 'GET'} ${path} → ${res.status} ${await res.text()}`);
  return (res.status === 204 ? undefined : await res.json()) as T;
}

export async function register(
  base: string,
  username: string,
  displayName: string,
  password: string,
) {
  return call<Account>(base, '/api/auth/register', {
    method: 'POST',
    body: { username, password, displayName },
  });
}

export async function addContact(base: string, account: Account, username: string) {
  await call(base, '/api/contacts', {
    method: 'POST',
    token: account.accessToken,
    body: { username },
  });
}

export async function directWith(base: string, account: Account, userId: string) {
  const { conversation } = await call<{ conversation: Conversation }>(base, '/api/conversations', {
    method: 'POST',
    token: account.accessToken,
    body: { kind: 'direct', userId },
  });
  return conversation;
}

export async function post(base: string, account: Account, conversationId: string, body: string) {
  const { message } = await call<{ message: Message }>(
    base,
    `/api/conversations/${conversationId}/messages`,
    {
      method: 'POST',
      token: account.accessToken,
      body: { clientMsgId: crypto.randomUUID(), body },
    },
  );
  return message;
}

/**
 * Two people who have each other as contacts and a direct chat in which `second` already wrote
 * `firstMessage`: the start of every two-person suite.
 */
export async function pair(
  base: string,
  first: { username: string; displayName: string },
  second: { username: string; displayName: string },
  password: string,
  firstMessage: string,
) {
  const [a, b] = await Promise.all([
    register(base, first.username, first.displayName, password),
    register(base, second.username, second.displayName, password),
  ]);
  await addContact(base, a, second.username);
  await addContact(base, b, first.username);
  const direct = await directWith(base, b, a.user.id);
  await post(base, b, direct.id, firstMessage);
  return { a, b, direct };
}
