/**
 * Accounts and sessions. A session is one login on one device: it owns a chain of refresh
 * tokens (each spent on use) and the access tokens minted from them. Revoking a session kills
 * both, and closes its sockets with 4401 through `onRevoked`.
 */
import { LetterError, type User } from '@letter/protocol';
import type { Store } from '../store/store.js';
import type { Clock } from '../util/clock.js';
import type { Ids } from '../util/ids.js';
import type { PasswordHasher } from './passwords.js';
import type { AccessTokens } from './tokens.js';
import { type AccessClaims, hashRefreshToken, newRefreshToken } from './tokens.js';

export interface Credentials {
  user: User;
  accessToken: string;
  refreshToken: string;
}

export interface AuthDeps {
  store: Store;
  hasher: PasswordHasher;
  tokens: AccessTokens;
  clock: Clock;
  ids: Ids;
  refreshTtlSeconds: number;
  /** A session ends this long after its login, however often it is refreshed. */
  sessionMaxMs: number;
  /** Told of every session this node revokes, so sockets can be closed everywhere. */
  onRevoked: (sessionIds: string[]) => void;
}

/** How long a positive session check is trusted before asking the store again. */
const SESSION_CACHE_MS = 10_000;
const SESSION_CACHE_MAX = 50_000;
/** Session look-ups in flight at once when re-checking a node's sockets. */
const RECHECK_BATCH = 50;

export class AuthService {
  private readonly liveSessions = new Map<string, { userId: string; checkedAt: number }>();

  constructor(private readonly deps: AuthDeps) {}

  async register(username: string, password: string, displayName?: string): Promise<Credentials> {
    const { store, hasher, clock, ids } = this.deps;
    const passwordHash = await hasher.hash(password);
    const user = await store.createUser({
      id: ids.next('u'),
      username,
      displayName: displayName ?? username,
      passwordHash,
      createdAt: clock.now(),
    });
    return this.startSession(user);
  }

  async login(username: string, password: string): Promise<Credentials> {
    const record = await this.deps.store.getUserByUsername(username.trim().toLowerCase());
    const ok = await this.deps.hasher.verify(record?.passwordHash ?? null, password);
    if (!record || !ok) throw new LetterError('invalid_credentials');
    return this.startSession(record);
  }

  async refresh(
    refreshToken: string,
  ): Promise<{ accessToken: string; refreshToken: string; userId: string }> {
    const { store, clock } = this.deps;
    const next = newRefreshToken();
    const now = clock.now();
    const outcome = await store.rotateRefreshToken(
      hashRefreshToken(refreshToken),
      hashRefreshToken(next),
      now,
      now + this.deps.refreshTtlSeconds * 1000,
    );
    if (outcome.kind === 'reuse') {
      this.forget([outcome.sessionId]);
      this.deps.onRevoked([outcome.sessionId]);
      throw new LetterError(
        'unauthorized',
        'This refresh token was already used; the session is revoked.',
      );
    }
    if (outcome.kind === 'invalid') throw new LetterError('unauthorized');
    const { session } = outcome;
    if (now - session.createdAt >= this.deps.sessionMaxMs) {
      // Past its maximum lifetime: the rotation just made is dropped with the session.
      await store.revokeSession(session.id, now);
      this.forget([session.id]);
      this.deps.onRevoked([session.id]);
      throw new LetterError('unauthorized', 'This session is too old; sign in again.');
    }
    const accessToken = await this.deps.tokens.sign({
      userId: session.userId,
      sessionId: session.id,
    });
    return { accessToken, refreshToken: next, userId: session.userId };
  }

  async logout(sessionId: string): Promise<void> {
    await this.deps.store.revokeSession(sessionId, this.deps.clock.now());
    this.forget([sessionId]);
    this.deps.onRevoked([sessionId]);
  }

  /** Changes the password and ends every other session of the user. */
  async changePassword(
    claims: AccessClaims,
    currentPassword: string,
    newPassword: string,
  ): Promise<void> {
    const { store, hasher, clock } = this.deps;
    const record = await store.getUser(claims.userId);
    if (!record || !(await hasher.verify(record.passwordHash, currentPassword))) {
      throw new LetterError('invalid_credentials', 'The current password is wrong.');
    }
    await store.updatePasswordHash(claims.userId, await hasher.hash(newPassword));
    const revoked = await store.revokeUserSessions(claims.userId, clock.now(), claims.sessionId);
    this.forget(revoked);
    this.deps.onRevoked(revoked);
  }

  /** Checks the password (account deletion and other re-authentication). */
  async checkPassword(userId: string, password: string): Promise<void> {
    const record = await this.deps.store.getUser(userId);
    if (!record || !(await this.deps.hasher.verify(record.passwordHash, password))) {
      throw new LetterError('invalid_credentials', 'The password is wrong.');
    }
  }

  /** Access token → claims, or throws `unauthorized` (forged, expired, or its session revoked). */
  async authenticate(token: string | undefined): Promise<AccessClaims> {
    return (await this.authenticateWith(token, () => undefined)).claims;
  }

  /**
   * `authenticate`, starting `alongside(claims)` once the token is verified and before the
   * session is looked up: a caller's own store query then travels in the same worker round trip
   * as the session check (the WebSocket handshake fetches the user for `ready` this way). Its
   * result is handed back only if the session is live.
   */
  async authenticateWith<T>(
    token: string | undefined,
    alongside: (claims: AccessClaims) => T,
  ): Promise<{ claims: AccessClaims; alongside: T }> {
    const claims = token ? this.deps.tokens.verify(token) : null;
    if (!claims) throw new LetterError('unauthorized');
    const extra = alongside(claims);
    await this.checkSession(claims);
    return { claims, alongside: extra };
  }

  private async checkSession(claims: AccessClaims): Promise<void> {
    const now = this.deps.clock.now();
    const cached = this.liveSessions.get(claims.sessionId);
    if (cached && cached.userId === claims.userId && now - cached.checkedAt < SESSION_CACHE_MS)
      return;
    const session = await this.deps.store.getSession(claims.sessionId);
    if (!session || session.revokedAt !== null || session.userId !== claims.userId) {
      throw new LetterError('unauthorized');
    }
    if (this.liveSessions.size >= SESSION_CACHE_MAX) this.liveSessions.clear();
    this.liveSessions.set(claims.sessionId, { userId: claims.userId, checkedAt: now });
  }

  /**
   * Sessions another service revoked in the store (account deletion): forgotten here and
   * announced like a logout, so their sockets close with 4401 on every node.
   */
  sessionsEnded(sessionIds: string[]): void {
    if (sessionIds.length === 0) return;
    this.forget(sessionIds);
    this.deps.onRevoked(sessionIds);
  }

  /** Drops cached knowledge of sessions revoked here or on another node. */
  forget(sessionIds: string[]): void {
    for (const id of sessionIds) this.liveSessions.delete(id);
  }

  /** Drops every cached session check (revocations of a bus outage may have gone unheard). */
  forgetAll(): void {
    this.liveSessions.clear();
  }

  /**
   * Of `sessionIds`, those the store says have ended (revoked, or gone with their account):
   * after a bus outage, the sockets of a session revoked meanwhile on another node are found so.
   */
  async endedSessions(sessionIds: string[]): Promise<string[]> {
    const ended: string[] = [];
    for (let i = 0; i < sessionIds.length; i += RECHECK_BATCH) {
      const batch = sessionIds.slice(i, i + RECHECK_BATCH);
      const sessions = await Promise.all(batch.map((id) => this.deps.store.getSession(id)));
      sessions.forEach((session, j) => {
        if (!session || session.revokedAt !== null) ended.push(batch[j]!);
      });
    }
    this.forget(ended);
    return ended;
  }

  private async startSession(user: User): Promise<Credentials> {
    const { store, clock, ids, tokens } = this.deps;
    const sessionId = ids.next('s');
    const refreshToken = newRefreshToken();
    const now = clock.now();
    await store.createSession({
      id: sessionId,
      userId: user.id,
      refreshHash: hashRefreshToken(refreshToken),
      createdAt: now,
      expiresAt: now + Math.min(this.deps.refreshTtlSeconds * 1000, this.deps.sessionMaxMs),
    });
    const accessToken = await tokens.sign({ userId: user.id, sessionId });
    return {
      user: { id: user.id, username: user.username, displayName: user.displayName },
      accessToken,
      refreshToken,
    };
  }
}
