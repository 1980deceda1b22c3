/**
 * The session: access token in memory only, refresh token either in the HttpOnly cookie
 * (`cookie` mode, browsers: the sdk never sees it) or in a `RefreshTokenStore` (`token` mode).
 *
 * Refresh tokens rotate and presenting a spent one revokes the whole session, so every refresh
 * goes through one in-flight promise (many callers, one request), and in browsers through a Web
 * Lock so two tabs never present the same cookie at once. Refresh happens proactively before the
 * access token expires (read from the JWT `exp` without verifying it) and once after a 401.
 */
import { authModeHeader } from '@letter/protocol';
import type { AuthResponse, RegisterBody, TokensResponse, User } from '@letter/protocol';
import type { TokenSource } from './api.js';
import { Backoff } from './backoff.js';
import type { Clock, Random, TimerHandle } from './clock.js';
import { Emitter } from './emitter.js';
import { LetterError } from './errors.js';
import type { HttpTransport } from './http.js';
import { localExpiry } from './jwt.js';

export type AuthMode = 'token' | 'cookie';
export type AuthStatus = 'unknown' | 'signedIn' | 'signedOut';

export interface AuthState {
  status: AuthStatus;
  user: User | null;
}

/** Where `token` mode keeps the refresh token between runs (a file, secure storage…). */
export interface RefreshTokenStore {
  load(): Promise<string | null>;
  save(token: string | null): Promise<void>;
}

export function memoryRefreshTokenStore(initial: string | null = null): RefreshTokenStore {
  let token = initial;
  return {
    load: () => Promise.resolve(token),
    save: (next) => {
      token = next;
      return Promise.resolve();
    },
  };
}

/** Runs a refresh exclusively; across tabs in browsers. */
export type RefreshLock = <T>(task: () => Promise<T>) => Promise<T>;

interface LockManagerLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

export function defaultRefreshLock(): RefreshLock {
  const locks = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks;
  if (locks && typeof locks.request === 'function') {
    return (task) => locks.request('letter-refresh', task);
  }
  return (task) => task();
}

export interface AuthEvents {
  change: AuthState;
  /** The session died under us (refresh refused): the app shows its sign-in screen. */
  expired: LetterError;
}

export interface AuthOptions {
  http: HttpTransport;
  clock: Clock;
  random: Random;
  mode: AuthMode;
  refreshTokenStore?: RefreshTokenStore;
  lock?: RefreshLock;
}

/** Refresh this long before expiry at most, and never later than 80 % into the lifetime. */
const maxLeadMs = 60_000;
/** A token this close to expiry is refreshed before use rather than sent. */
const expirySlackMs = 5_000;

export class AuthSession implements TokenSource {
  readonly events = new Emitter<AuthEvents>();
  private current: AuthState = { status: 'unknown', user: null };
  private access: { token: string; expiresAt: number | null } | null = null;
  private refreshToken: string | null = null;
  private inflight: Promise<string | null> | null = null;
  private timer: TimerHandle | null = null;
  /** Bumped on every sign-in/out so a refresh answering late cannot resurrect a dead session. */
  private generation = 0;
  private readonly retry: Backoff;
  private readonly store: RefreshTokenStore;
  private readonly lock: RefreshLock;

  constructor(private readonly options: AuthOptions) {
    this.retry = new Backoff({ baseMs: 1000, capMs: 60_000 }, options.random);
    this.store = options.refreshTokenStore ?? memoryRefreshTokenStore();
    this.lock = options.lock ?? defaultRefreshLock();
  }

  get state(): AuthState {
    return this.current;
  }

  get mode(): AuthMode {
    return this.options.mode;
  }

  async register(body: RegisterBody): Promise<User> {
    const res = await this.options.http.request<AuthResponse>({
      method: 'POST',
      path: '/api/auth/register',
      body,
      headers: this.modeHeaders(),
    });
    return this.signIn(res);
  }

  async login(username: string, password: string): Promise<User> {
    const res = await this.options.http.request<AuthResponse>({
      method: 'POST',
      path: '/api/auth/login',
      body: { username, password },
      headers: this.modeHeaders(),
    });
    return this.signIn(res);
  }

  /**
   * Picks up an existing session (the cookie, or the stored refresh token): refreshes, then
   * loads the user. Null when there is none. Network errors propagate: the session may be fine.
   */
  async resume(): Promise<User | null> {
    const token = await this.refresh();
    if (!token) return null;
    const { user } = await this.options.http.request<{ user: User }>({
      method: 'GET',
      path: '/api/me',
      token,
    });
    this.setState({ status: 'signedIn', user });
    return user;
  }

  /** Ends the session on the server (best effort) and forgets every token. */
  async logout(): Promise<void> {
    const token = this.access?.token ?? null;
    this.clear();
    this.setState({ status: 'signedOut', user: null });
    if (!token) return;
    try {
      await this.options.http.request({ method: 'POST', path: '/api/auth/logout', token });
    } catch {
      // Already dead or unreachable: either way this device no longer holds the session.
    }
  }

  /** The user changed (ready frame, PATCH /api/me): keep the state in step. */
  setUser(user: User): void {
    if (this.current.status === 'signedIn') this.setState({ status: 'signedIn', user });
  }

  async accessToken(): Promise<string | null> {
    if (this.current.status === 'signedOut') return null;
    const access = this.access;
    if (
      access &&
      (access.expiresAt === null || this.options.clock.now() < access.expiresAt - expirySlackMs)
    ) {
      return access.token;
    }
    return this.refresh();
  }

  async renewAfterRejection(rejected: string): Promise<string | null> {
    if (this.access && this.access.token !== rejected) return this.access.token;
    return this.refresh();
  }

  /** One refresh for every concurrent caller. Null means the session is gone. */
  refresh(): Promise<string | null> {
    if (this.inflight) return this.inflight;
    const generation = this.generation;
    const promise = this.lock(() => this.performRefresh(generation)).finally(() => {
      if (this.inflight === promise) this.inflight = null;
    });
    this.inflight = promise;
    return promise;
  }

  dispose(): void {
    if (this.timer !== null) this.options.clock.clearTimeout(this.timer);
    this.timer = null;
    this.events.clear();
  }

  private async performRefresh(generation: number): Promise<string | null> {
    let body: { refreshToken: string } | undefined;
    if (this.options.mode === 'token') {
      const refreshToken = this.refreshToken ?? (await this.store.load());
      if (!refreshToken) {
        if (generation === this.generation)
          this.lose(new LetterError('unauthorized', 'no session'));
        return null;
      }
      body = { refreshToken };
    }
    let tokens: TokensResponse;
    try {
      tokens = await this.options.http.request<TokensResponse>({
        method: 'POST',
        path: '/api/auth/refresh',
        body,
        headers: this.modeHeaders(),
      });
    } catch (error) {
      if (generation !== this.generation) return null;
      if (
        error instanceof LetterError &&
        error.code !== 'rate_limited' &&
        error.code !== 'internal' &&
        error.code !== 'unavailable'
      ) {
        this.lose(error);
        return null;
      }
      this.scheduleRetry();
      throw error;
    }
    if (generation !== this.generation) return null;
    await this.adopt(tokens);
    if (this.current.status !== 'signedIn') {
      this.setState({ status: 'signedIn', user: this.current.user });
    }
    return tokens.accessToken;
  }

  /** Cookie mode says so, and the server then leaves the refresh token out of every body. */
  private modeHeaders(): Record<string, string> | undefined {
    return this.options.mode === 'cookie' ? { [authModeHeader]: 'cookie' } : undefined;
  }

  private async signIn(res: AuthResponse): Promise<User> {
    this.generation++;
    this.inflight = null;
    await this.adopt(res);
    this.setState({ status: 'signedIn', user: res.user });
    return res.user;
  }

  private async adopt(tokens: TokensResponse): Promise<void> {
    const now = this.options.clock.now();
    this.access = { token: tokens.accessToken, expiresAt: localExpiry(tokens.accessToken, now) };
    // Cookie mode: the server keeps the refresh token out of the body (modeHeaders), and any
    // body copy an older server sends is ignored, so script never holds it.
    if (this.options.mode === 'token') {
      if (!tokens.refreshToken)
        throw new LetterError('internal', 'the server sent no refresh token');
      this.refreshToken = tokens.refreshToken;
      await this.store.save(tokens.refreshToken);
    }
    this.retry.reset();
    this.schedule(now);
  }

  private schedule(now: number): void {
    if (this.timer !== null) this.options.clock.clearTimeout(this.timer);
    this.timer = null;
    const expiresAt = this.access?.expiresAt;
    if (expiresAt === undefined || expiresAt === null) return;
    const lead = Math.min(maxLeadMs, (expiresAt - now) * 0.2);
    this.timer = this.options.clock.setTimeout(
      () => {
        this.timer = null;
        this.refresh().catch(() => undefined);
      },
      Math.max(0, expiresAt - lead - now),
    );
  }

  private scheduleRetry(): void {
    if (this.timer !== null) this.options.clock.clearTimeout(this.timer);
    this.timer = this.options.clock.setTimeout(() => {
      this.timer = null;
      this.refresh().catch(() => undefined);
    }, this.retry.next());
  }

  /** The session is dead: forget it and tell the app if it thought it was signed in. */
  private lose(error: LetterError): void {
    const wasSignedIn = this.current.status === 'signedIn';
    this.clear();
    this.setState({ status: 'signedOut', user: null });
    if (wasSignedIn) this.events.emit('expired', error);
  }

  private clear(): void {
    this.generation++;
    this.access = null;
    this.refreshToken = null;
    this.inflight = null;
    if (this.timer !== null) this.options.clock.clearTimeout(this.timer);
    this.timer = null;
    if (this.options.mode === 'token') void this.store.save(null);
  }

  private setState(next: AuthState): void {
    if (next.status === this.current.status && next.user === this.current.user) return;
    this.current = next;
    this.events.emit('change', next);
  }
}
