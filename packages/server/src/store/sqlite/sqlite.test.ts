/**
 * The SQLite store: the shared conformance suite over the worker store, plus what only SQLite has
 * (files, migrations on reopen, integrity, group commit, crash durability).
 * The worker runs compiled code from dist/: run `npx tsc -b packages/server` first.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { User } from '@letter/protocol';
import { latestVersion, migrations } from './migrations.js';
import { createQueries } from './queries.js';
import { describeStore } from '../suite/suite.js';
import { T0, expectCode, range } from '../suite/helpers.js';
import {
  openSqliteStore as openStore,
  workerScriptUrl,
  type SqliteStoreHandle,
  type SqliteStoreOptions,
} from './worker-store.js';

const workerFile = fileURLToPath(workerScriptUrl());

beforeAll(() => {
  if (!existsSync(workerFile)) {
    throw new Error(`${workerFile} is missing: run \`npx tsc -b packages/server\` before vitest.`);
  }
});

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'letter-sqlite-'));
  dirs.push(dir);
  return join(dir, 'letter.db');
}

describeStore('sqlite (writer on a worker thread)', async () => {
  const store = await openStore({ file: await tempFile(), writer: 'thread' });
  return { store, cleanup: () => store.close() };
});

describeStore('sqlite (writer on the main thread)', async () => {
  const store = await openStore({ file: await tempFile(), writer: 'inline' });
  return { store, cleanup: () => store.close() };
});

let n = 0;
async function seed(store: SqliteStoreHandle, users = 2): Promise<User[]> {
  const made: User[] = [];
  for (let i = 0; i < users; i++) {
    made.push(
      await store.createUser({
        id: `u_${++n}`,
        username: `seed${n}`,
        displayName: `Seed ${n}`,
        passwordHash: 'h',
        createdAt: T0,
      }),
    );
  }
  return made;
}

const append = (store: SqliteStoreHandle, conversationId: string, senderId: string, i: number) =>
  store.appendMessage({
    id: `m_${++n}`,
    conversationId,
    senderId,
    clientMsgId: `cm_${n}`,
    body: `message ${i}`,
    replyToSeq: null,
    createdAt: T0 + i,
  });

function inspect<T>(file: string, read: (db: Database.Database) => T): T {
  const db = new Database(file, { readonly: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

describe.each(['thread', 'inline'] as const)('SQLite store, writer: %s', (writer) => {
  const openSqliteStore = (options: SqliteStoreOptions) => openStore({ writer, ...options });

  it('keeps everything across close and reopen, and migrates idempotently', async () => {
    const file = await tempFile();
    let store = await openSqliteStore({ file });
    const [a, b] = await seed(store);
    const { conversation } = await store.openDirect('c_keep', a!.id, b!.id, T0);
    for (const i of range(1, 3)) await append(store, conversation.id, a!.id, i);
    const before = await store.getConversation(conversation.id, b!.id);
    await store.close();

    for (let reopen = 0; reopen < 2; reopen++) {
      store = await openSqliteStore({ file });
      await store.migrate();
      expect(await store.getUser(a!.id)).toMatchObject({ username: a!.username });
      expect(await store.getConversation(conversation.id, b!.id)).toEqual(before);
      const page = await store.history(conversation.id, b!.id, { limit: 10 });
      expect(page!.messages.map((m) => m.body)).toEqual(['message 1', 'message 2', 'message 3']);
      await store.close();
    }
    expect(inspect(file, (db) => db.pragma('user_version', { simple: true }))).toBe(latestVersion);
  });

  it('shows reactions grouped by emoji and tombstones without content', async () => {
    const file = await tempFile();
    let store = await openSqliteStore({ file });
    const [a, b] = await seed(store);
    const { conversation } = await store.openDirect('c_view', a!.id, b!.id, T0);
    await append(store, conversation.id, a!.id, 1);
    await append(store, conversation.id, b!.id, 2);
    await store.close();
    // No Store method writes these yet; the rows are what later features will write.
    const db = new Database(file);
    const react = db.prepare(
      'INSERT INTO reactions (conversation_id, seq, user_id, emoji, created_at) VALUES (?, ?, ?, ?, ?)',
    );
    react.run(conversation.id, 1, b!.id, '👍', T0 + 1);
    react.run(conversation.id, 1, a!.id, '👍', T0 + 2);
    react.run(conversation.id, 2, a!.id, '🎉', T0 + 3);
    db.prepare('UPDATE messages SET deleted_at = ? WHERE conversation_id = ? AND seq = 2').run(
      T0 + 4,
      conversation.id,
    );
    db.close();

    store = await openSqliteStore({ file });
    expect((await store.getMessage(conversation.id, 1))!.reactions).toEqual({
      '👍': [b!.id, a!.id],
    });
    const page = await store.history(conversation.id, a!.id, { limit: 10 });
    expect(page!.messages[0]!.reactions).toEqual({ '👍': [b!.id, a!.id] });
    const tombstone = {
      seq: 2,
      body: '',
      reactions: {},
      deletedAt: new Date(T0 + 4).toISOString(),
    };
    expect(page!.messages[1]).toMatchObject(tombstone);
    expect((await store.getConversation(conversation.id, a!.id))!.lastMessage).toMatchObject(
      tombstone,
    );
    await store.close();
  });

  it('groups a burst of concurrent appends into few transactions', async () => {
    const file = await tempFile();
    const store = await openSqliteStore({ file });
    const users = await seed(store, 11);
    const hub = users[0]!;
    const conversations: string[] = [];
    for (const peer of users.slice(1)) {
      conversations.push((await store.openDirect(`c_${++n}`, hub.id, peer.id, T0)).conversation.id);
    }
    const start = store.stats();
    const began = performance.now();
    const results = await Promise.all(
      range(1, 500).map((i) =>
        append(
          store,
          conversations[i % conversations.length]!,
          i % 2 ? hub.id : users[1 + (i % 10)]!.id,
          i,
        ),
      ),
    );
    const ms = performance.now() - began;
    const end = store.stats();
    const requests = end.requests - start.requests;
    const transactions = end.transactions - start.transactions;
    console.log(
      `500 concurrent appends: ${ms.toFixed(0)} ms (${Math.round(500 / (ms / 1000))}/s), ` +
        `${transactions} transactions, ${(requests / transactions).toFixed(1)} requests each, ` +
        `largest batch ${end.maxBatch}`,
    );
    expect(requests).toBe(500);
    expect(end.writes - start.writes).toBe(500);
    expect(requests / transactions).toBeGreaterThan(1);
    // Reads run outside write transactions: they count as requests, never as writes.
    const beforeReads = store.stats();
    await Promise.all(conversations.map((id) => store.memberIds(id)));
    const afterReads = store.stats();
    expect(afterReads.requests - beforeReads.requests).toBe(conversations.length);
    expect(afterReads.writes).toBe(beforeReads.writes);
    expect(afterReads.transactions).toBe(beforeReads.transactions);
    for (const id of conversations) {
      const seqs = results.filter((r) => r.message.conversationId === id).map((r) => r.message.seq);
      expect(seqs.sort((x, y) => x - y)).toEqual(range(1, 50));
    }
    await store.close();
    expect(inspect(file, (db) => db.pragma('integrity_check', { simple: true }))).toBe('ok');
    expect(inspect(file, (db) => db.pragma('foreign_key_check'))).toEqual([]);
    expect(inspect(file, (db) => db.pragma('journal_mode', { simple: true }))).toBe('wal');
  });

  it('isolates a failing request from the others in its batch', async () => {
    const file = await tempFile();
    const store = await openSqliteStore({ file });
    const [a, b, outsider] = await seed(store, 3);
    const { conversation } = await store.openDirect('c_iso', a!.id, b!.id, T0);
    const outcomes = await Promise.allSettled(
      range(1, 20).map((i) => append(store, conversation.id, i % 4 ? a!.id : outsider!.id, i)),
    );
    const failed = outcomes.filter((o) => o.status === 'rejected');
    expect(failed).toHaveLength(5);
    for (const failure of failed) await expectCode(Promise.reject(failure.reason), 'not_found');
    const page = await store.history(conversation.id, a!.id, { limit: 50 });
    expect(page!.messages.map((m) => m.seq)).toEqual(range(1, 15));
    await store.close();
  });

  it('answers every queued call before closing, and refuses calls after', async () => {
    const file = await tempFile();
    const store = await openSqliteStore({ file });
    const [a, b] = await seed(store);
    const { conversation } = await store.openDirect('c_close', a!.id, b!.id, T0);
    const pending = range(1, 50).map((i) => append(store, conversation.id, a!.id, i));
    const closing = store.close();
    await expect(store.ping()).rejects.toThrow(/closed/);
    expect((await Promise.all(pending)).map((r) => r.message.seq)).toEqual(range(1, 50));
    await closing;
    await store.close();
    expect(inspect(file, (db) => db.prepare('SELECT count(*) AS n FROM messages').get())).toEqual({
      n: 50,
    });
  });

  it('fails only the batch that meets a lock held by another process, then recovers', async () => {
    const file = await tempFile();
    const store = await openSqliteStore({ file, busyTimeoutMs: 50 });
    const [a, b] = await seed(store);
    const { conversation } = await store.openDirect('c_busy', a!.id, b!.id, T0);
    const other = new Database(file);
    other.exec('BEGIN IMMEDIATE');
    await expect(append(store, conversation.id, a!.id, 1)).rejects.toThrow(/locked|busy/i);
    other.exec('ROLLBACK');
    other.close();
    expect((await append(store, conversation.id, a!.id, 2)).message.seq).toBe(1);
    await store.close();
  });

  it('disk full: the failed batch answers unavailable and stores nothing; the next batch that fits commits', async () => {
    const file = await tempFile();
    const setup = await openSqliteStore({ file });
    const [a, b] = await seed(setup);
    const { conversation } = await setup.openDirect('c_full', a!.id, b!.id, T0);
    await setup.close();
    const pages = inspect(file, (db) => db.pragma('page_count', { simple: true }) as number);
    // Room for a few pages more: a burst of large messages cannot fit, a short one can.
    const store = await openSqliteStore({ file, maxPageCount: pages + 40 });
    const large = (i: number) =>
      Array.from({ length: 500 }, (_, k) => `w${i}x${k}`)
        .join(' ')
        .slice(0, 4000);
    const burst = await Promise.allSettled(
      range(1, 80).map((i) =>
        store.appendMessage({
          id: `m_full_${i}`,
          conversationId: conversation.id,
          senderId: a!.id,
          clientMsgId: `cm_full_${i}`,
          body: large(i),
          replyToSeq: null,
          createdAt: T0 + i,
        }),
      ),
    );
    const refused = burst.filter((outcome) => outcome.status === 'rejected');
    expect(refused.length).toBeGreaterThan(0);
    for (const outcome of refused) {
      await expectCode(Promise.reject(outcome.reason), 'unavailable');
    }
    const acked = burst.flatMap((o) => (o.status === 'fulfilled' ? [o.value.message.id] : []));
    const stored = await store.history(conversation.id, a!.id, { limit: 200 });
    expect(stored!.messages.map((m) => m.id)).toEqual(acked);
    const next = await append(store, conversation.id, a!.id, 999);
    expect(next.message.seq).toBe(acked.length + 1);
    await store.close();
  });

  it('keeps every acknowledged append when the process is killed with SIGKILL', async () => {
    const file = await tempFile();
    const storeModule = new URL('./worker-store.js', workerScriptUrl()).href;
    // A child process appends as fast as it can and prints each acknowledged seq.
    const script = `
      const { openSqliteStore } = await import(${JSON.stringify(storeModule)});
      const store = await openSqliteStore({ file: ${JSON.stringify(file)}, writer: ${JSON.stringify(writer)} });
      for (const id of ['u_a', 'u_b']) {
        await store.createUser({ id, username: id, displayName: id, passwordHash: 'h', createdAt: 0 });
      }
      await store.openDirect('c_kill', 'u_a', 'u_b', 0);
      for (let i = 1; ; i += 8) {
        await Promise.all(Array.from({ length: 8 }, (_, k) => store
          .appendMessage({ id: 'm_' + (i + k), conversationId: 'c_kill', senderId: 'u_a',
            clientMsgId: 'k' + (i + k), body: 'x', replyToSeq: null, createdAt: i + k })
          .then((r) => process.stdout.write(r.message.seq + '\\n'))));
      }`;
    const scriptFile = join(dirname(file), 'append-forever.mjs');
    await writeFile(scriptFile, script);
    const child = spawn(process.execPath, [scriptFile], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const acknowledged: number[] = [];
    await new Promise<void>((resolve, reject) => {
      let buffered = '';
      child.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop()!;
        acknowledged.push(...lines.map(Number));
        if (acknowledged.length >= 200 && !child.killed) child.kill('SIGKILL');
      });
      child.on('exit', () => resolve());
      child.on('error', reject);
    });
    expect(acknowledged.length).toBeGreaterThanOrEqual(200);

    const store = await openSqliteStore({ file });
    const stored = await store.history('c_kill', 'u_a', { after: 0, limit: 200 });
    const conversation = await store.getConversation('c_kill', 'u_a');
    expect(conversation!.lastSeq).toBeGreaterThanOrEqual(Math.max(...acknowledged));
    expect(stored!.messages.map((m) => m.seq)).toEqual(
      range(1, Math.min(200, conversation!.lastSeq)),
    );
    await store.close();
    expect(inspect(file, (db) => db.pragma('integrity_check', { simple: true }))).toBe('ok');
  });

  it('migrates a version-1 database: existing messages become searchable', async () => {
    const file = await tempFile();
    const old = new Database(file);
    old.exec(migrations.find((m) => m.version === 1)!.sql);
    old.pragma('user_version = 1');
    const user = old.prepare(
      'INSERT INTO users (id, username, display_name, password_hash, created_at) VALUES (?, ?, ?, ?, ?)',
    );
    user.run('u_old1', 'old1', 'Old One', 'h', T0);
    user.run('u_old2', 'old2', 'Old Two', 'h', T0);
    old
      .prepare(
        'INSERT INTO conversations (id, kind, direct_key, last_seq, created_at, last_activity_at) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run('c_old', 'direct', '["u_old1","u_old2"]', 2, T0, T0);
    const member = old.prepare(
      'INSERT INTO members (conversation_id, user_id, role, joined_at) VALUES (?, ?, ?, ?)',
    );
    member.run('c_old', 'u_old1', 'member', T0);
    member.run('c_old', 'u_old2', 'member', T0);
    const message = old.prepare(
      'INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    message.run('m_old1', 'c_old', 1, 'u_old1', 'k1', 'written before search existed', T0);
    message.run('m_old2', 'c_old', 2, 'u_old2', 'k2', 'another ancient message', T0);
    old.close();

    const store = await openSqliteStore({ file });
    const hits = await store.search('u_old2', { text: 'search existed', limit: 10 });
    expect(hits!.map((h) => h.message.id)).toEqual(['m_old1']);
    expect(await store.getConversation('c_old', 'u_old1')).toMatchObject({
      firstSeq: 1,
      muted: false,
      archived: false,
    });
    await store.close();
    expect(inspect(file, (db) => db.pragma('user_version', { simple: true }))).toBe(latestVersion);
  });

  it('keeps the search index equal to the messages through edits, deletes and VACUUM', async () => {
    const file = await tempFile();
    let store = await openSqliteStore({ file });
    const [a, b] = await seed(store);
    const { conversation } = await store.openDirect('c_fts', a!.id, b!.id, T0);
    for (const i of range(1, 30)) await append(store, conversation.id, i % 2 ? a!.id : b!.id, i);
    const at = (seq: number, userId: string) => ({
      conversationId: conversation.id,
      seq,
      userId,
      now: T0 + 100,
    });
    for (const seq of range(1, 10)) {
      const sender = seq % 2 ? a! : b!;
      if (seq % 3 === 0) await store.deleteMessage(at(seq, sender.id));
      else await store.editMessage({ ...at(seq, sender.id), body: `rewritten ${seq}` });
    }
    await store.close();

    // FTS5's own check compares the index with the content table, row by row.
    const check = (db: Database.Database) =>
      db
        .prepare(`INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)`)
        .run();
    const db = new Database(file);
    check(db);
    db.exec('DELETE FROM messages WHERE seq = 30');
    check(db);
    db.exec('VACUUM');
    check(db);
    db.close();

    store = await openSqliteStore({ file });
    const found = async (text: string) =>
      (await store.search(a!.id, { text, limit: 50 }))!
        .map((h) => h.message.seq)
        .sort((x, y) => x - y);
    expect(await found('rewritten')).toEqual([1, 2, 4, 5, 7, 8, 10]);
    expect(await found('message')).toEqual(range(11, 29));
    await store.close();
  });

  it('catches the index up before a search, an edit or a delete in a batch, with failures in it', async () => {
    const file = await tempFile();
    const store = await openSqliteStore({ file });
    const [a, b] = await seed(store);
    const { conversation } = await store.openDirect('c_batch_fts', a!.id, b!.id, T0);
    const c = conversation.id;
    const send = (body: string) =>
      store.appendMessage({
        id: `m_${++n}`,
        conversationId: c,
        senderId: a!.id,
        clientMsgId: `cm_${n}`,
        body,
        replyToSeq: null,
        createdAt: T0,
      });
    const target = (seq: number, userId: string) => ({ conversationId: c, seq, userId, now: T0 });
    const before = store.stats();
    // Issued in one tick, so the worker runs them as one batch, in this order.
    const calls = [
      send('alpha one'),
      send('bravo two'),
      // Fails after the worker indexed the two rows above inside its savepoint: the rollback
      // takes that indexing back, and the rows must wait for the next chance.
      store.editMessage({ ...target(1, b!.id), body: 'not yours' }),
      send('charlie three'),
      store.search(b!.id, { text: 'bravo', limit: 10 }),
      store.editMessage({ ...target(3, a!.id), body: 'delta four' }),
      store.deleteMessage(target(1, a!.id)),
      send('echo five'),
    ];
    const settled = await Promise.allSettled(calls);
    expect(settled.map((s) => s.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      ...Array<string>(5).fill('fulfilled'),
    ]);
    const after = store.stats();
    expect(after.transactions - before.transactions).toBe(1);
    // A search first brings the index up to every row before it, the batch's own appends
    // included ('bravo two' is seq 2; the edit that failed changed nothing).
    const hits = (settled[4] as PromiseFulfilledResult<{ message: { seq: number } }[]>).value;
    expect(hits.map((h) => h.message.seq)).toEqual([2]);

    const found = async (text: string) =>
      (await store.search(a!.id, { text, limit: 10 }))!.map((h) => h.message.seq);
    expect(await found('alpha')).toEqual([]);
    expect(await found('bravo')).toEqual([2]);
    expect(await found('charlie')).toEqual([]);
    expect(await found('delta')).toEqual([3]);
    expect(await found('echo')).toEqual([4]);
    await store.close();
    // FTS5's own check compares the index with the content table, row by row (it writes, so
    // not through `inspect`).
    const db = new Database(file);
    db.prepare(`INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)`).run();
    db.close();
  });

  it('searches in a read transaction: no write lock, and every committed row is found', async () => {
    const file = await tempFile();
    const store = await openSqliteStore({ file });
    const [a, b] = await seed(store);
    const { conversation } = await store.openDirect('c_read_search', a!.id, b!.id, T0);
    for (const i of range(1, 5)) await append(store, conversation.id, a!.id, i);
    // Appended rows reach the index once the worker idles (10 ms); only a search while some
    // wait needs the write lock to catch up first.
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Another connection holds the write lock: a search must not need it.
    const other = new Database(file);
    other.pragma('busy_timeout = 0');
    other.exec('BEGIN IMMEDIATE');
    try {
      const before = store.stats();
      const hits = await store.search(b!.id, { text: 'message', limit: 10 });
      expect(hits!.map((h) => h.message.seq).sort((x, y) => x - y)).toEqual(range(1, 5));
      // A read batch is not a write transaction.
      expect(store.stats().transactions).toBe(before.transactions);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    await store.close();
  });

  it('keeps prefix indexes of 2 and 3 characters in the search index (migration 4)', async () => {
    const file = await tempFile();
    const store = await openSqliteStore({ file });
    await store.close();
    const ddl = inspect(
      file,
      (db) =>
        db.prepare(`SELECT sql FROM sqlite_schema WHERE name = 'messages_fts'`).get() as {
          sql: string;
        },
    );
    expect(ddl.sql).toMatch(/prefix\s*=\s*'2 3'/);
  });

  it('commits a lone request at once, and under load lets a batch wait for company', async () => {
    const file = await tempFile();
    // A long delay, so that waiting shows in the timings beyond doubt.
    const store = await openSqliteStore({ file, commitDelayMs: 100 });
    const [a, b] = await seed(store);
    const { conversation } = await store.openDirect('c_delay', a!.id, b!.id, T0);
    let i = 0;
    const timed = async () => {
      const began = performance.now();
      await append(store, conversation.id, a!.id, ++i);
      return performance.now() - began;
    };
    // Quiet server: no waiting.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await timed()).toBeLessThan(90);
    // A burst makes the arrival rate high: the next lone request waits for company...
    await Promise.all(range(1, 50).map(() => append(store, conversation.id, a!.id, ++i)));
    const before = store.stats();
    const waited = await timed();
    expect(waited).toBeGreaterThanOrEqual(95);
    // ...and requests arriving meanwhile join its batch.
    const joined = await Promise.all([
      timed(),
      new Promise((resolve) => setTimeout(resolve, 30)).then(timed),
    ]);
    expect(joined[1]!).toBeLessThan(joined[0]!);
    expect(store.stats().transactions - before.transactions).toBe(2);
    await store.close();
  });

  it('un-archives with a probe of the partial index, not a scan of the group', async () => {
    const file = await tempFile();
    const store = await openSqliteStore({ file });
    await store.close();
    const plan = inspect(file, (db) => {
      const { sql } = createQueries(db).unarchiveOthers;
      return (
        db
          .prepare(`EXPLAIN QUERY PLAN ${sql}`)
          // Parameter values do not change the plan; the literal `archived = 1` does.
          .all(...Array.from(sql.matchAll(/\?/g), () => 'x'))
          .map((row) => (row as { detail: string }).detail)
          .join('\n')
      );
    });
    expect(plan).toMatch(/members_archived/);
  });
});
