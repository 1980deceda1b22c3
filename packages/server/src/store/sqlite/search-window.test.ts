/**
 * SQLite search ranks only the newest SEARCH_RANK_WINDOW matches the viewer may see
 * (sqlite/queries-actions.ts): bm25 over every match cost ~800 ms at 1,000,000 messages. The
 * window counts only what the viewer may see, so others' conversations never push the viewer's
 * own matches out of it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from './sqlite-store.js';
import { SEARCH_RANK_WINDOW } from './queries-actions.js';
import { T0 } from '../suite/helpers.js';

let dir = '';
let store: SqliteStore;
afterEach(async () => {
  store.close();
  await rm(dir, { recursive: true, force: true });
});

async function open(): Promise<SqliteStore> {
  dir = await mkdtemp(join(tmpdir(), 'letter-search-window-'));
  store = new SqliteStore(join(dir, 'letter.db'));
  store.migrate();
  return store;
}

function user(name: string): string {
  const id = `u_${name}`;
  store.createUser({ id, username: name, displayName: name, passwordHash: 'h', createdAt: T0 });
  return id;
}

let n = 0;
function send(conversationId: string, senderId: string, body: string): number {
  n += 1;
  const { message } = store.appendMessage({
    id: `m_${n}`,
    conversationId,
    senderId,
    clientMsgId: `cm_${n}`,
    body,
    replyToSeq: null,
    createdAt: T0 + n,
  });
  return message.seq;
}

const LONG = 'a long message that mentions the zebra once among a good many other words';

describe('sqlite search: the rank window', () => {
  it('ranks the newest matches only: a better match older than the window is not first', async () => {
    await open();
    const [ana, ben] = [user('ana'), user('ben')];
    const { conversation } = store.openDirect('c_ab', ana, ben, T0);
    const old = send(conversation.id, ana, 'zebra');
    for (let i = 0; i < SEARCH_RANK_WINDOW; i++) send(conversation.id, ben, LONG);
    const hits = store.search(ana, { text: 'zebra', limit: 5 })!;
    expect(hits).toHaveLength(5);
    expect(hits.map((h) => h.message.seq)).not.toContain(old);

    // Within the window the best match still comes first, whatever its age.
    const recent = send(conversation.id, ana, 'zebra');
    for (let i = 0; i < 10; i++) send(conversation.id, ben, LONG);
    expect(store.search(ana, { text: 'zebra', limit: 5 })![0]!.message.seq).toBe(recent);
    const inOne = store.search(ana, { text: 'zebra', limit: 5, conversationId: conversation.id });
    expect(inOne!.map((h) => h.message.seq)).not.toContain(old);
  });

  it("fills the window with what the viewer may see: others' newer matches push nothing out", async () => {
    await open();
    const [ana, ben, cid, dee] = [user('ana'), user('ben'), user('cid'), user('dee')];
    const mine = store.openDirect('c_ab', ana, ben, T0).conversation.id;
    const theirs = store.openDirect('c_cd', cid, dee, T0).conversation.id;
    const first = send(mine, ana, 'zebra');
    // Newer matches the viewer may not see, more than the window holds.
    for (let i = 0; i <= SEARCH_RANK_WINDOW; i++) send(theirs, cid, LONG);
    expect(store.search(ana, { text: 'zebra', limit: 5 })!.map((h) => h.message.seq)).toEqual([
      first,
    ]);
    expect(store.search(cid, { text: 'zebra', limit: 1 })!).toHaveLength(1);
  });
});
