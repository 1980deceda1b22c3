import type { HistoryPage } from '../store/store.js';

/**
 * A message's JSON, made once however many frames carry it (the event and the sender's `ok`).
 * The SQLite worker makes it on its own thread and sends the string, not an object to clone
 * (store/sqlite/worker-store.ts records it with `withMessageJson`); elsewhere the first frame
 * makes it.
 *
 * The JSON rides on the message object itself, as a property keyed by a symbol and not
 * enumerable: `JSON.stringify`, spreads, `Object.keys` and structured clones never see it, and
 * it lives and dies with the message. Not in a process-wide WeakMap, as before: V8's minor GC
 * copied the JSON of every message recorded in it since the previous collection, dead or not
 * (as if each value outlived its key by one collection), so at 5,000 msg/s each scavenge copied
 * ~0.74 MB instead of ~0.08 and took twice as long (docs/performance.md, round twenty-four;
 * test/gc/promotion.test.ts).
 */
const JSON_OF: unique symbol = Symbol('letter.messageJson');

interface CarriesJson {
  [JSON_OF]?: string;
}

export function messageJson(message: object): string {
  const json = (message as CarriesJson)[JSON_OF];
  return json ?? record(message, JSON.stringify(message));
}

/** `message`, whose JSON is `json` (made from it, e.g. on another thread): never made again. */
export function withMessageJson<T extends object>(message: T, json: string): T {
  record(message, json);
  return message;
}

function record(message: object, json: string): string {
  // A frozen or sealed message keeps no JSON: it is made again for each frame.
  if (Object.isExtensible(message)) {
    Object.defineProperty(message, JSON_OF, { value: json, writable: true, configurable: true });
  }
  return json;
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
