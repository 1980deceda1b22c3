/**
 * The first half of the PostgreSQL store: schema, users, sessions, contacts and blocks.
 * `PostgresStore` (postgres/open.ts) extends it with conversations and messages, as the SQLite store
 * splits the same way. Checks that must hold at commit lock the rows they read (see writeTx).
 */
import { sql } from 'kysely';
import { LetterError, type User } from '@letter/protocol';
import type {
  ContactRecord,
  NewUser,
  RefreshOutcome,
  SessionRecord,
  UserRecord,
  NewSession,
} from '../store.js';
import { violatedConstraint, writeTx, type Db } from './db.js';
import { migratePostgres } from './migrations.js';
import { presenceVisible } from '../shared/presence-rule.js';
import { toContact, toSession, toUser, toUserRecord } from '../shared/rows.js';
import * as rules from '../shared/rules.js';

export abstract class PostgresPeople {
  constructor(
    readonly db: Db,
    private readonly schema: string | undefined,
  ) {}

  async migrate(): Promise<void> {
    await migratePostgres(this.db, this.schema);
  }

  async ping(): Promise<void> {
    await sql`SELECT 1`.execute(this.db);
  }

  // Users

  async createUser(user: NewUser): Promise<User> {
    const username = user.username.toLowerCase();
    try {
      await this.db
        .insertInto('users')
        .values({
          id: user.id,
          username,
          display_name: user.displayName,
          password_hash: user.passwordHash,
          created_at: user.createdAt,
          last_seen_at: null,
          deleted_at: null,
        })
        .execute();
    } catch (error) {
      // The unique index on lower(username) decides, so two registrations racing for one name
      // cannot both win.
      if (violatedConstraint(error) === 'users_username_key') {
        throw new LetterError('username_taken');
      }
      throw error;
    }
    return { id: user.id, username, displayName: user.displayName };
  }

  async getUserByUsername(username: string): Promise<UserRecord | null> {
    const row = await this.db
      .selectFrom('users')
      .selectAll()
      .where(sql<string>`lower(username)`, '=', username.toLowerCase())
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return row ? toUserRecord(row) : null;
  }

  async getUser(id: string): Promise<UserRecord | null> {
    const row = await this.db
      .selectFrom('users')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? toUserRecord(row) : null;
  }

  async getUsers(ids: string[]): Promise<User[]> {
    if (ids.length === 0) return [];
    const rows = await this.db
      .selectFrom('users')
      .select(['id', 'username', 'display_name'])
      .where(sql<boolean>`id = any(${ids}::text[])`)
      .execute();
    const byId = new Map(rows.map((row) => [row.id, toUser(row)]));
    return rules.inRequestedOrder(ids, byId);
  }

  async searchUsers(prefix: string, limit: number, excludeId: string): Promise<User[]> {
    const from = prefix.toLowerCase();
    // A range on the username index (C collation: code point order): every string with this
    // prefix sorts below prefix + U+10FFFF.
    const rows = await this.db
      .selectFrom('users')
      .select(['id', 'username', 'display_name'])
      .where(sql<string>`lower(username)`, '>=', from)
      .where(sql<string>`lower(username)`, '<', `${from}\u{10FFFF}`)
      .where('deleted_at', 'is', null)
      .where('id', '!=', excludeId)
      .orderBy(sql`lower(username)`)
      .limit(Math.max(0, Math.trunc(limit)))
      .execute();
    return rows.map(toUser);
  }

  async updateDisplayName(userId: string, displayName: string): Promise<User> {
    const row = await this.db
      .updateTable('users')
      .set({ display_name: displayName })
      .where('id', '=', userId)
      .returning(['id', 'username', 'display_name'])
      .executeTakeFirst();
    if (!row) throw new LetterError('not_found');
    return toUser(row);
  }

  async updatePasswordHash(userId: string, passwordHash: string): Promise<void> {
    const result = await this.db
      .updateTable('users')
      .set({ password_hash: passwordHash })
      .where('id', '=', userId)
      .executeTakeFirst();
    if (result.numUpdatedRows === 0n) throw new LetterError('not_found');
  }

  async setLastSeen(userId: string, at: number): Promise<void> {
    await this.db.updateTable('users').set({ last_seen_at: at }).where('id', '=', userId).execute();
  }

  // Sessions

  async createSession(session: NewSession): Promise<void> {
    await writeTx(this.db, async (tx) => {
      await tx
        .insertInto('sessions')
        .values({
          id: session.id,
          user_id: session.userId,
          created_at: session.createdAt,
          revoked_at: null,
        })
        .execute();
      await tx
        .insertInto('refresh_tokens')
        .values({
          token_hash: session.refreshHash,
          session_id: session.id,
          expires_at: session.expiresAt,
          spent_at: null,
        })
        .execute();
    });
  }

  async getSession(id: string): Promise<SessionRecord | null> {
    const row = await this.db
      .selectFrom('sessions')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? toSession(row) : null;
  }

  async rotateRefreshToken(
    oldHash: string,
    newHash: string,
    now: number,
    expiresAt: number,
  ): Promise<RefreshOutcome> {
    return writeTx(this.db, async (tx): Promise<RefreshOutcome> => {
      // Both rows locked: two presentations of one token queue here, and the second sees the
      // first one's spent_at (PostgreSQL re-reads locked rows after the wait), so it is reuse.
      const row = await tx
        .selectFrom('refresh_tokens as t')
        .innerJoin('sessions as s', 's.id', 't.session_id')
        .select(['t.expires_at', 't.spent_at', 's.id', 's.user_id', 's.created_at', 's.revoked_at'])
        .where('t.token_hash', '=', oldHash)
        .forNoKeyUpdate(['t', 's'])
        .executeTakeFirst();
      if (!row || row.revoked_at !== null) return { kind: 'invalid' };
      if (row.spent_at !== null) {
        // A token exchanged before is presented again: one of the two copies is stolen, and we
        // cannot tell which, so the whole session dies.
        await this.revokeSessionIn(tx, row.id, now);
        return { kind: 'reuse', sessionId: row.id, userId: row.user_id };
      }
      if (row.expires_at <= now) return { kind: 'invalid' };
      await tx
        .updateTable('refresh_tokens')
        .set({ spent_at: now })
        .where('token_hash', '=', oldHash)
        .execute();
      await tx
        .insertInto('refresh_tokens')
        .values({ token_hash: newHash, session_id: row.id, expires_at: expiresAt, spent_at: null })
        .execute();
      return { kind: 'rotated', session: toSession(row) };
    });
  }

  async revokeSession(id: string, now: number): Promise<void> {
    await this.revokeSessionIn(this.db, id, now);
  }

  async revokeUserSessions(userId: string, now: number, exceptId?: string): Promise<string[]> {
    return this.revokeUserSessionsIn(this.db, userId, now, exceptId ?? '');
  }

  /** Revokes the user's live sessions but `exceptId`, oldest first; their ids. */
  async revokeUserSessionsIn(
    db: Db,
    userId: string,
    now: number,
    exceptId: string,
  ): Promise<string[]> {
    const rows = await db
      .with('revoked', (w) =>
        w
          .updateTable('sessions')
          .set({ revoked_at: now })
          .where('user_id', '=', userId)
          .where('revoked_at', 'is', null)
          .where('id', '!=', exceptId)
          .returning(['id', 'created_at']),
      )
      .selectFrom('revoked')
      .select('id')
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map((row) => row.id);
  }

  private async revokeSessionIn(db: Db, id: string, now: number): Promise<void> {
    await db
      .updateTable('sessions')
      .set({ revoked_at: now })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .execute();
  }

  // Contacts and blocks

  async addContact(ownerId: string, contactId: string, now: number): Promise<boolean> {
    return writeTx(this.db, async (tx) => {
      await this.requireUsers(tx, [contactId, ownerId]);
      const inserted = await tx
        .insertInto('contacts')
        .values({ owner_id: ownerId, contact_id: contactId, created_at: now })
        .onConflict((oc) => oc.doNothing())
        .executeTakeFirst();
      return inserted.numInsertedOrUpdatedRows === 1n;
    });
  }

  async removeContact(ownerId: string, contactId: string): Promise<void> {
    await this.db
      .deleteFrom('contacts')
      .where('owner_id', '=', ownerId)
      .where('contact_id', '=', contactId)
      .execute();
  }

  async listContacts(ownerId: string): Promise<ContactRecord[]> {
    const rows = await this.db
      .selectFrom('contacts as k')
      .innerJoin('users as u', 'u.id', 'k.contact_id')
      .select(['u.id', 'u.username', 'u.display_name', 'u.last_seen_at'])
      .select(presenceVisible(sql.ref('k.owner_id'), sql.ref('k.contact_id')).as('visible'))
      .where('k.owner_id', '=', ownerId)
      .orderBy('u.username')
      .execute();
    return rows.map((row) => toContact(row, Boolean(row.visible)));
  }

  async block(blockerId: string, blockedId: string, now: number): Promise<void> {
    await writeTx(this.db, async (tx) => {
      await this.requireUsers(tx, [blockedId, blockerId]);
      await tx
        .insertInto('blocks')
        .values({ blocker_id: blockerId, blocked_id: blockedId, created_at: now })
        .onConflict((oc) => oc.doNothing())
        .execute();
    });
  }

  async unblock(blockerId: string, blockedId: string): Promise<void> {
    await this.db
      .deleteFrom('blocks')
      .where('blocker_id', '=', blockerId)
      .where('blocked_id', '=', blockedId)
      .execute();
  }

  async listBlocked(blockerId: string): Promise<User[]> {
    const rows = await this.db
      .selectFrom('blocks as b')
      .innerJoin('users as u', 'u.id', 'b.blocked_id')
      .select(['u.id', 'u.username', 'u.display_name'])
      .where('b.blocker_id', '=', blockerId)
      .orderBy('u.username')
      .execute();
    return rows.map(toUser);
  }

  async isBlockedEitherWay(a: string, b: string): Promise<boolean> {
    return this.blockedEitherWayIn(this.db, a, b);
  }

  async blockedEitherWayIn(db: Db, a: string, b: string): Promise<boolean> {
    const row = await db
      .selectFrom('blocks')
      .select('blocker_id')
      .where((eb) =>
        eb.or([
          eb.and([eb('blocker_id', '=', a), eb('blocked_id', '=', b)]),
          eb.and([eb('blocker_id', '=', b), eb('blocked_id', '=', a)]),
        ]),
      )
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  async presenceAudience(userId: string): Promise<string[]> {
    // Who might see the user (contact owners, co-members), narrowed by the one rule.
    const rows = await this.db
      .selectFrom(
        this.db
          .selectFrom('contacts')
          .select('owner_id as id')
          .where('contact_id', '=', userId)
          .union(
            this.db
              .selectFrom('members as mine')
              .innerJoin('members as m', 'm.conversation_id', 'mine.conversation_id')
              .select('m.user_id as id')
              .where('mine.user_id', '=', userId)
              .where('m.user_id', '!=', userId),
          )
          .as('candidate'),
      )
      .select('candidate.id')
      .where(presenceVisible(sql.ref('candidate.id'), userId))
      .execute();
    return rows.map((row) => row.id);
  }

  async canSeePresence(viewerId: string, subjectId: string): Promise<boolean> {
    const row = await this.db
      .selectNoFrom(presenceVisible(viewerId, subjectId).as('visible'))
      .executeTakeFirst();
    return Boolean(row?.visible);
  }

  async blockPeers(userId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('blocks')
      .select('blocked_id as id')
      .where('blocker_id', '=', userId)
      .union(
        this.db.selectFrom('blocks').select('blocker_id as id').where('blocked_id', '=', userId),
      )
      .execute();
    return rows.map((row) => row.id);
  }

  /**
   * Locks the users FOR SHARE, in id order, and returns those that exist and were not deleted.
   * Account deletion updates the user row first, so a change that needs a live user (a contact,
   * a block, a conversation with them) either commits before the deletion, which then undoes
   * it, or waits and sees the tombstone. Users are always locked before conversations.
   */
  async lockUsers(db: Db, ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await db
      .selectFrom('users')
      .select(['id', 'deleted_at'])
      .where(sql<boolean>`id = any(${[...new Set(ids)]}::text[])`)
      .orderBy('id')
      .forShare()
      .execute();
    return new Set(rows.filter((row) => row.deleted_at === null).map((row) => row.id));
  }

  /** `lockUsers` for ids that must all be live users, checked in the order given. */
  async requireUsers(db: Db, ids: string[]): Promise<void> {
    const live = await this.lockUsers(db, ids);
    for (const id of ids) if (!live.has(id)) throw rules.unknownUser();
  }
}
