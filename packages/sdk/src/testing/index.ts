/**
 * Test doubles, exported so the web app's tests can run the real sdk against a fake server:
 * `const clock = new FakeClock(); const server = new FakeServer({ clock });
 *  const client = createTestClient(server, { clock });`
 * Browser-safe: no Node imports.
 */
import { LetterClient } from '../client.js';
import type { LetterClientOptions } from '../client.js';
import type { FakeServer } from './fake-server.js';

export { FakeClock, seededRandom, settle } from './fake-clock.js';
export { FakeServer } from './fake-server.js';
export type {
  FakeConversation,
  FakeMember,
  FakeServerOptions,
  Interception,
} from './fake-server.js';
export { FakeClientSocket, FakeServerSocket } from './fake-socket.js';
export type { FakeSocketHost } from './fake-socket.js';

let clientMsgIds = 0;

/** A client wired to a FakeServer (token mode, no network watching, ids cmid-1, cmid-2, …). */
export function createTestClient(
  server: FakeServer,
  options: LetterClientOptions = {},
): LetterClient {
  return new LetterClient({
    baseUrl: 'http://fake.test',
    fetch: server.fetch,
    // Uploads go to the fake server's fetch, also where jsdom has an XMLHttpRequest.
    XMLHttpRequest: null,
    WebSocket: server.WebSocket,
    authMode: 'token',
    clock: server.clock,
    random: () => 0.5,
    newId: () => `cmid-${++clientMsgIds}`,
    watchNetwork: false,
    refreshLock: (task) => task(),
    ...options,
  });
}
export { clientView, summarize } from './verify.js';
export type { ConversationSummary } from './verify.js';
