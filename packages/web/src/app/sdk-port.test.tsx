// @vitest-environment jsdom
/**
 * The app over the real sdk and the sdk's fake server: the state mapping, key stability of
 * local echoes, history paging, and the whole signed-in flow rendered in jsdom.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { act, cleanup, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { FakeClock, FakeServer, createTestClient, settle } from '@letter/sdk';
import type { LetterClient } from '@letter/sdk';
import { App } from './App';
import { PortContext } from './hooks';
import { createSdkPort } from './sdk-port';

const clients: LetterClient[] = [];
afterEach(() => {
  cleanup();
  for (const client of clients.splice(0)) client.close();
  window.history.replaceState(null, '', '/');
});

function setup() {
  const clock = new FakeClock();
  const server = new FakeServer({ clock });
  const alice = server.addUser('alice', 'Alice');
  const bob = server.addUser('bob', 'Bob');
  const direct = server.openDirect(alice.id, bob.id);
  const client = createTestClient(server);
  clients.push(client);
  const port = createSdkPort(client);
  return { server, alice, bob, direct, client, port };
}

describe('sdk port', () => {
  it('keeps one snapshot object until the client state changes', async () => {
    const { port, server, bob, direct } = setup();
    await port.login('alice', 'password123');
    await settle();
    const first = port.getSnapshot();
    expect(port.getSnapshot()).toBe(first);
    expect(first.auth.status).toBe('signedIn');
    expect(first.connection).toBe('online');
    expect(first.conversations.map((c) => c.id)).toEqual([direct.id]);
    server.post(bob.id, direct.id, 'hi');
    await settle();
    const second = port.getSnapshot();
    expect(second).not.toBe(first);
    expect(second.conversations[0]?.unreadCount).toBe(1);
  });

  it('loads every member of a group the first time its chat opens (the list has a preview)', async () => {
    const { port, server, alice, bob } = setup();
    const others = Array.from({ length: 6 }, (_, i) => server.addUser(`p${i}`, `P${i}`).id);
    const group = server.createGroup(bob.id, 'Crew', [...others, alice.id]);
    await port.login('alice', 'password123');
    await settle();
    const listed = port.getSnapshot().conversations.find((c) => c.id === group.id)!;
    expect(listed.memberCount).toBe(8);
    expect(listed.members.length).toBeLessThan(8);
    port.openThread(group.id);
    await settle();
    const opened = port.getSnapshot().conversations.find((c) => c.id === group.id)!;
    expect(opened.members).toHaveLength(8);
    expect(server.requests).toContain(`GET /api/conversations/${group.id}/members`);
  });

  it('gives a local echo the key its stored copy will have', async () => {
    const { port, direct } = setup();
    await port.login('alice', 'password123');
    await settle();
    port.send(direct.id, 'hello');
    const pending = port.getSnapshot().threads[direct.id]?.messages.at(-1);
    expect(pending).toMatchObject({ body: 'hello', seq: null, outbox: 'sending' });
    await settle();
    const stored = port.getSnapshot().threads[direct.id]?.messages.at(-1);
    expect(stored).toMatchObject({ body: 'hello', seq: 1 });
    expect(stored?.outbox).toBeUndefined();
    expect(stored?.key).toBe(pending?.key);
  });

  it('a file goes through the sdk outbox: pending with its bytes, then stored with its URL', async () => {
    const { port, server, direct } = setup();
    await port.login('alice', 'password123');
    await settle();
    const file = new File(['%PDF-1.4'], 'paper.pdf', { type: 'application/pdf' });
    port.send(direct.id, 'the paper', null, [file]);
    const pending = port.getSnapshot().threads[direct.id]!.messages.at(-1)!;
    expect(pending.outbox).toBe('sending');
    expect(pending.attachments).toEqual([
      expect.objectContaining({ name: 'paper.pdf', size: 8, blob: expect.any(Blob) }),
    ]);
    await settle();
    const stored = port.getSnapshot().threads[direct.id]!.messages.at(-1)!;
    expect(stored.key).toBe(pending.key);
    expect(stored.attachments).toEqual([
      expect.objectContaining({ name: 'paper.pdf', url: expect.stringMatching(/^\/api\/files\//) }),
    ]);
    expect(server.files.size).toBe(1);
  });

  it('loads the latest page on first open and older pages on demand', async () => {
    const { port, server, bob, direct } = setup();
    for (let i = 1; i <= 70; i++) server.post(bob.id, direct.id, `m${i}`);
    await port.login('alice', 'password123');
    await settle();
    port.openThread(direct.id);
    expect(port.getSnapshot().threads[direct.id]?.loadingOlder).toBe(true);
    await settle();
    let thread = port.getSnapshot().threads[direct.id]!;
    expect(thread.loadingOlder).toBe(false);
    expect(thread.messages.at(-1)?.body).toBe('m70');
    expect(thread.hasMore).toBe(true);
    port.loadOlder(direct.id);
    await settle();
    thread = port.getSnapshot().threads[direct.id]!;
    expect(thread.messages.map((m) => m.body)[0]).toBe('m1');
    expect(thread.hasMore).toBe(false);
  });

  it('mutes and searches through the sdk client, not through hand-built requests', async () => {
    const { port, client, server, bob, direct } = setup();
    server.post(bob.id, direct.id, 'lunch at noon?');
    await port.login('alice', 'password123');
    await settle();
    const updateSettings = vi.spyOn(client, 'updateSettings');
    const search = vi.spyOn(client, 'search');
    await port.setChatSettings(direct.id, { muted: true });
    expect(updateSettings).toHaveBeenCalledWith(direct.id, { muted: true });
    // The sdk adopts the answer: the list shows the chat muted before any event arrives.
    expect(port.getSnapshot().conversations[0]?.muted).toBe(true);
    const results = await port.searchMessages('lunch', direct.id);
    expect(search).toHaveBeenCalledWith('lunch', { conversationId: direct.id, limit: 50 });
    expect(results.map((r) => r.message.body)).toEqual(['lunch at noon?']);
  });

  it('shows the signed-in app: list, chat, sending, and the unread title', async () => {
    const { port, server, bob, direct } = setup();
    server.post(bob.id, direct.id, 'are you around?');
    const user = userEvent.setup();
    render(
      <PortContext.Provider value={port}>
        <App />
      </PortContext.Provider>,
    );
    // No session to resume: the sign-in form.
    await user.type(await screen.findByLabelText('Username'), 'alice');
    await user.type(screen.getByLabelText('Password'), 'password123');
    await user.click(screen.getByRole('button', { name: 'Log in' }));
    const item = await screen.findByRole('button', { name: /^Bob/ });
    expect(item.textContent).toContain('are you around?');
    // The title follows in an effect (Messenger.tsx), which may run after the list painted.
    await waitFor(() => expect(document.title).toBe('(1) Letter'));

    await user.click(item);
    await screen.findByText('are you around?', { selector: '.body *, .body' });
    await user.type(screen.getByRole('textbox', { name: 'Message' }), 'yes!{Enter}');
    await act(() => settle());
    const log = screen.getByRole('log', { name: 'Messages' });
    const mine = within(log).getByText('yes!').closest('li')!;
    expect(mine.className).toContain('mine');
    expect(within(mine).getByRole('img').getAttribute('aria-label')).toMatch(/Sent|Delivered|Read/);
    expect(window.location.hash).toBe(`#/chat/${direct.id}`);
  });
});
