import type { HistoryPage } from '../store/store.js';

/**
 * A message's JSON, made once however many frames carry it (the event and the sender's `ok`).
 * The SQLite worker makes it on its own thread and sends the string, not an object to clone
 * (store/sqlite/worker-store.ts records it here with `withMessageJson`); elsewhere the first
 * frame makes it.
 */
const cache = new WeakMap<object, string>();

export function messageJson(message: object): string {
  let json = cache.get(message);
  if (json === undefined) cache.set(message, (json = JSON.stringify(message)));
  return json;
}

/** `message`, whose JSON is `json` (made from it, e.g. on another thread): never made again. */
export function withMessageJson<T extends object>(message: T, json: string): T {
  cache.set(message, json);
  return message;
}

const pages = new WeakMap<HistoryPage, string>();

/**
 * `page`, whose answer to GET /api/conversations/:id/messages, `{"messages":[…],"hasMore":…}`,
 * is `json` for every viewer: made where the page was read (the SQLite worker), and recorded only
 * for a page none of whose messages carries an attachment (whose URLs are signed per viewer).
 */
export function withPageJson(page: HistoryPage, json: string): HistoryPage {
  pages.set(page, json);
  return page;
}

/**
 * Forgets the recorded answer: the page's messages were read (and may be changed in place) or
 * replaced, so the JSON may no longer be what they say (worker-store.ts `fromHistoryReply`).
 */
export function forgetPageJson(page: HistoryPage): void {
  pages.delete(page);
}

/** The page's answer as `withPageJson` recorded it, or undefined: the route then builds it. */
export function pageJson(page: HistoryPage): string | undefined {
  return pages.get(page);
}
