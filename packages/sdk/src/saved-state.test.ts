/**
 * The saved chat list: written while online and synced, shown read-only by a resume that finds
 * no network (an app opened offline), replaced by the server's state when the network is back,
 * gone after logout.
 */
import { describe, expect, it } from 'vitest';
import { memoryRefreshTokenStore } from './auth.js';
import { MemorySavedStateStorage } from './saved-state.js';
import { FakeClock, FakeServer, createTestClient, settle } from './testing/index.js';

describe('saved state', () => {
  it('an offline start shows the last synced list; the network coming back resumes for real', async () => {
    const clock = new FakeClock();
    const server = new FakeServer({ clock });
    const alice = server.addUser('alice', 'Alice');
    const bob = server.addUser('bob', 'Bob');
    const direct = server.openDirect(alice.id, bob.id);
    const group = server.createGroup(bob.id, 'Team', [alice.id]);
    server.post(bob.id, direct.id, 'hello there');
    const storage = new MemorySavedStateStorage();
    const tokens = memoryRefreshTokenStore();
    const first = createTestClient(server, {
      savedStateStorage: storage,
      refreshTokenStore: tokens,
    });
    await first.login('alice', 'password123');
    await settle();
    await clock.advance(2_500);
    await settle();
    const saved = await storage.load();
    expect(saved?.user.id).toBe(alice.id);
    expect(saved?.conversations.map((c) => c.id)).toEqual(first.getSnapshot().conversationOrder);
    first.close();

    // A new page load without a network: the refresh fails to reach the server.
    let offline = true;
    const network = new EventTarget();
    const second = createTestClient(server, {
      savedStateStorage: storage,
      refreshTokenStore: tokens,
      fetch: (input, init) =>
        offline ? Promise.reject(new TypeError('Failed to fetch')) : server.fetch(input, init),
      watchNetwork: true,
      networkTarget: network,
    });
    expect((await second.resume())?.id).toBe(alice.id);
    let state = second.getSnapshot();
    expect(state.session).toBe('signedIn');
    expect(state.connection).toBe('offline');
    expect(state.conversationOrder).toEqual(saved!.conversations.map((c) => c.id));
    expect(state.conversations[direct.id]?.lastMessage?.body).toBe('hello there');

    // Meanwhile, on the server; then the network is back.
    server.post(bob.id, group.id, 'while you were away');
    offline = false;
    network.dispatchEvent(new Event('online'));
    await settle();
    await clock.advance(1_000);
    await settle();
    state = second.getSnapshot();
    expect(state.connection).toBe('online');
    expect(state.conversations[group.id]?.lastMessage?.body).toBe('while you were away');

    await second.logout();
    expect(await storage.load()).toBeNull();
    second.close();
  });

  it('a resume refused by the server (not the network) never shows the saved list', async () => {
    const clock = new FakeClock();
    const server = new FakeServer({ clock });
    server.addUser('alice', 'Alice');
    const storage = new MemorySavedStateStorage();
    await storage.save({
      user: { id: 'u1', username: 'alice', displayName: 'Alice' },
      conversations: [],
      savedAt: new Date(0).toISOString(),
    });
    const client = createTestClient(server, { savedStateStorage: storage });
    expect(await client.resume()).toBeNull();
    expect(client.getSnapshot().session).not.toBe('signedIn');
    client.close();
  });
});
