/**
 * The first half of the SQLite store: opening the database, users, sessions, contacts and
 * blocks. `SqliteStore` (sqlite/sqlite-store.ts) extends it with conversations and messages; the split only
 * keeps each file about one part of the domain.
 */
import Database from 'better-sqlite3';
import { LetterError, type User } from '@letter/protocol';
import type {
  ContactRecord,
  NewUser,
  RefreshOutcome,
  SessionRecord,
  UserRecord,
  NewSession,
} from '../store.js';
import type { Db } from './db.js';
import { migrate } from './migrations.js';
import { createQueries, type Queries } from './queries.js';
import { createActionQueries, type ActionQueries } from './queries-actions.js';
import { toContact, toSession, toUser, toUserRecord } from '../shared/rows.js';
import * as rules from '../shared/rules.js';

export interface SqliteOptions {
  /** Milliseconds to wait for a lock held by another connection (e.g. a backup). */
  busyTimeoutMs?: number;
}

/** How long a write waits for a lock another process holds, by default. */
export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

export function openDatabase(file: string, options: SqliteOptions = {}): Db {
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    // An acknowledged message must survive power loss, not only a crash: fsync every commit.
    // Group commit in the worker spreads that fsync over a whole batch of requests.
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS)}`);
    db.pragma('temp_store = MEMORY');
    // Automatic checkpoints stay on here; the worker turns them off for its writer connection
    // and checkpoints on a thread of its own instead (sqlite/checkpoints.ts).
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

export abstract class SqlitePeople {
  readonly db: Db;
  /** Statements; public for the store's helper classes, never reached through the worker. */
  readonly q: Queries;
  readonly a: ActionQueries;

  constructor(file: string, options: SqliteOptions = {}) {
    this.db = openDatabase(file, options);
    this.q = createQueries(this.db);
    this.a = createActionQueries(this.db);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  migrate(): void {
    migrate(this.db);
  }

  ping(): void {
    this.db.prepare('SELECT 1').get();
  }

  // Users

  createUser(user: NewUser): User {
    const username = user.username.toLowerCase();
    if (this.q.userByUsername.get({ username })) throw new LetterError('username_taken');
    this.q.insertUser.run({ ...user, username });
    return { id: user.id, username, displayName: user.displayName };
  }

  getUserByUsername(username: string): UserRecord | null {
    const row = this.q.userByUsername.get({ username: username.toLowerCase() });
    return row && row.deleted_at === null ? toUserRecord(row) : null;
  }

  getUser(id: string): UserRecord | null {
    const row = this.q.userById.get({ id });
    return row ? toUserRecord(row) : null;
  }

  getUsers(ids: string[]): User[] {
    const byId = new Map(
      this.q.usersByIds.all({ idsJson: JSON.stringify(ids) }).map((row) => [row.id, toUser(row)]),
    );
    return rules.inRequestedOrder(ids, byId);
  }

  searchUsers(prefix: string, limit: number, excludeId: string): User[] {
    const from = prefix.toLowerCase();
    // A range on the username index: every string with this prefix sorts below prefix+U+10FFFF.
    const rows = this.q.searchUsers.all({ from, to: `${from}\u{10FFFF}`, excludeId, limit });
    return rows.map(toUser);
  }

  updateDisplayName(userId: string, displayName: string): User {
    if (this.q.setDisplayName.run({ id: userId, displayName }).changes === 0) {
      throw new LetterError('not_found');
    }
    return toUser(this.requireUser(userId));
  }

  updatePasswordHash(userId: string, passwordHash: string): void {
    if (this.q.setPasswordHash.run({ id: userId, passwordHash }).changes === 0) {
      throw new LetterError('not_found');
    }
  }

  setLastSeen(userId: string, at: number): void {
    this.q.setLastSeen.run({ id: userId, at });
  }

  // Sessions

  createSession(session: NewSession): void {
    this.q.insertSession.run(session);
    this.q.insertRefreshToken.run({
      tokenHash: session.refreshHash,
      sessionId: session.id,
      expiresAt: session.expiresAt,
    });
  }

  getSession(id: string): SessionRecord | null {
    const row = this.q.sessionById.get({ id });
    return row ? toSession(row) : null;
  }

  rotateRefreshToken(
    oldHash: string,
    newHash: string,
    now: number,
    expiresAt: number,
  ): RefreshOutcome {
    const row = this.q.refreshToken.get({ tokenHash: oldHash });
    if (!row || row.revoked_at !== null) return { kind: 'invalid' };
    if (row.spent_at !== null) {
      // Someone presents a token that was already exchanged: one of the two copies is stolen,
      // and we cannot tell which, so the whole session dies.
      this.q.revokeSession.run({ id: row.id, now });
      return { kind: 'reuse', sessionId: row.id, userId: row.user_id };
    }
    if (row.expires_at <= now) return { kind: 'invalid' };
    this.q.spendRefreshToken.run({ tokenHash: oldHash, now });
    this.q.insertRefreshToken.run({ tokenHash: newHash, sessionId: row.id, expiresAt });
    return { kind: 'rotated', session: toSession(row) };
  }

  revokeSession(id: string, now: number): void {
    this.q.revokeSession.run({ id, now });
  }

  revokeUserSessions(userId: string, now: number, exceptId?: string): string[] {
    const rows = this.q.revokeUserSessions.all({ userId, now, exceptId: exceptId ?? '' });
    return rows.map((row) => row.id);
  }

  // Contacts and blocks

  addContact(ownerId: string, contactId: string, now: number): boolean {
    this.requireUser(contactId);
    return this.q.insertContact.run({ ownerId, contactId, now }).changes > 0;
  }

  removeContact(ownerId: string, contactId: string): void {
    this.q.deleteContact.run({ ownerId, contactId });
  }

  listContacts(ownerId: string): ContactRecord[] {
    return this.q.contacts.all({ ownerId }).map((row) => toContact(row, Boolean(row.visible)));
  }

  block(blockerId: string, blockedId: string, now: number): void {
    this.requireUser(blockedId);
    this.q.insertBlock.run({ blockerId, blockedId, now });
  }

  unblock(blockerId: string, blockedId: string): void {
    this.q.deleteBlock.run({ blockerId, blockedId });
  }

  listBlocked(blockerId: string): User[] {
    return this.q.blocked.all({ blockerId }).map(toUser);
  }

  isBlockedEitherWay(a: string, b: string): boolean {
    return this.q.blockEitherWay.get({ a, b })?.blocked === 1;
  }

  presenceAudience(userId: string): string[] {
    return this.q.presenceAudience.all({ userId }).map((row) => row.id);
  }

  canSeePresence(viewerId: string, subjectId: string): boolean {
    return Boolean(this.q.canSeePresence.get({ viewerId, subjectId })?.visible);
  }

  blockPeers(userId: string): string[] {
    return this.q.blockPeers.all({ userId }).map((row) => row.id);
  }

  /** A user who exists and was not deleted, or `not_found`. */
  requireUser(id: string) {
    const row = this.q.userById.get({ id });
    if (!row || row.deleted_at !== null) throw rules.unknownUser();
    return row;
  }
}
