/**
 * An in-memory Letter server that speaks the contract closely enough to test the sdk against:
 * seq per conversation, idempotent sends, read/delivered positions, `sync` with truncation,
 * rotating refresh tokens with reuse detection, and per-viewer conversation snapshots. REST is
 * in fake-rest.ts. Tests reach into it: post as other users, close sockets, drop the line
 * mid-burst, intercept frames.
 */
import { clientFrameSchemas, limits } from '@letter/protocol';
import type {
  Attachment,
  Conversation,
  Message,
  Role,
  SyncResult,
  SystemEvent,
  User,
} from '@letter/protocol';
import type { Clock } from '../clock.js';
import type { FetchLike } from '../http.js';
import type { WebSocketConstructor } from '../socket.js';
import { fakeAnnounceChange } from './fake-actions.js';
import { attachFiles } from './fake-files.js';
import type { FakeFile } from './fake-files.js';
import { handleRest } from './fake-rest.js';
import { FakeClientSocket } from './fake-socket.js';
import type { FakeServerSocket, FakeSocketHost } from './fake-socket.js';

export interface FakeMember {
  userId: string;
  role: Role;
  readSeq: number;
  deliveredSeq: number;
  /** The first seq this member may see (added later: the `added` message). Default 1. */
  firstSeq?: number;
  muted?: boolean;
  archived?: boolean;
}

export interface FakeConversation {
  id: string;
  kind: 'direct' | 'group';
  title: string;
  createdAt: number;
  members: FakeMember[];
  messages: Message[];
  /** Bumped by every change of members or roles, as the server does. */
  membersVersion?: number;
}

interface Session {
  id: string;
  userId: string;
  refreshToken: string;
  spent: Set<string>;
  revoked: boolean;
}

/** What an interceptor does with a client frame: lose it, or process it but lose the answer. */
export type Interception = 'lose' | 'loseAnswer' | undefined;

export interface FakeServerOptions {
  clock: Clock;
  /** Access token lifetime, seconds. */
  accessTtlSec?: number;
}

export class FakeServer implements FakeSocketHost {
  readonly clock: Clock;
  readonly users = new Map<string, { user: User; password: string }>();
  readonly conversations = new Map<string, FakeConversation>();
  readonly sessions = new Map<string, Session>();
  readonly sockets = new Set<FakeServerSocket>();
  readonly accessTokens = new Map<string, { userId: string; sessionId: string; exp: number }>();
  /** Requests seen, e.g. `POST /api/auth/refresh`, for assertions. */
  readonly requests: string[] = [];
  accessTtlSec: number;
  syncMax: number = limits.syncMaxPerConversation;
  /** The browser's cookie jar, as far as `letter_refresh` goes (cookie mode). */
  cookie: string | null = null;
  /** Returning an Interception changes how a client frame is handled. */
  intercept: ((socket: FakeServerSocket, frame: Record<string, unknown>) => Interception) | null =
    null;
  /** Answers a REST call first when it returns a Response (rate limits, outages). */
  restOverride: ((method: string, path: string, init: RequestInit) => Response | undefined) | null =
    null;
  /** Uploaded files by id (fake-files.ts): their facts, not their bytes. */
  readonly files = new Map<string, FakeFile>();
  maxUploadBytes = 26_214_400;
  /** Refuse every WebSocket handshake (server down). */
  refuseSockets = false;
  /** Fail every REST call with a network error (offline). */
  offline = false;
  readonly WebSocket: WebSocketConstructor;
  readonly fetch: FetchLike;
  private counter = 0;

  constructor(options: FakeServerOptions) {
    this.clock = options.clock;
    this.accessTtlSec = options.accessTtlSec ?? 900;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the class below needs the host
    const host = this;
    this.WebSocket = class extends FakeClientSocket {
      constructor(url: string) {
        super(url, host);
      }
    };
    this.fetch = (url, init) => handleRest(this, url, init);
  }

  nextId(prefix: string): string {
    return `${prefix}${++this.counter}`;
  }

  iso(): string {
    return new Date(this.clock.now()).toISOString();
  }

  // Users and sessions

  addUser(username: string, displayName = username, password = 'password123'): User {
    const user = { id: this.nextId('u'), username, displayName };
    this.users.set(user.id, { user, password });
    return user;
  }

  userByName(username: string): User | undefined {
    for (const { user } of this.users.values()) if (user.username === username) return user;
    return undefined;
  }

  /** A new session for the user: what login answers. */
  openSession(userId: string): { accessToken: string; refreshToken: string } {
    const session: Session = {
      id: this.nextId('s'),
      userId,
      refreshToken: this.nextId('rt-'),
      spent: new Set(),
      revoked: false,
    };
    this.sessions.set(session.id, session);
    this.cookie = session.refreshToken;
    return { accessToken: this.accessToken(session), refreshToken: session.refreshToken };
  }

  /** Rotates a refresh token; a spent one revokes its session (reuse detection). */
  refresh(refreshToken: string): { accessToken: string; refreshToken: string } | null {
    for (const session of this.sessions.values()) {
      if (session.spent.has(refreshToken)) {
        this.revokeSession(session.id);
        return null;
      }
      if (session.refreshToken === refreshToken && !session.revoked) {
        session.spent.add(refreshToken);
        session.refreshToken = this.nextId('rt-');
        this.cookie = session.refreshToken;
        return { accessToken: this.accessToken(session), refreshToken: session.refreshToken };
      }
    }
    return null;
  }

  revokeSession(sessionId: string): void {
    const session = this.sessions.get(sessionId);
    if (!session) return;
    session.revoked = true;
    for (const socket of this.sockets) if (socket.sessionId === sessionId) socket.close(4401);
  }

  /** The session behind a Bearer token, or null (unknown, expired, revoked). */
  verify(token: string | null | undefined): { userId: string; sessionId: string } | null {
    const claims = token ? this.accessTokens.get(token) : undefined;
    if (!claims || claims.exp * 1000 <= this.clock.now()) return null;
    if (this.sessions.get(claims.sessionId)?.revoked !== false) return null;
    return claims;
  }

  private accessToken(session: Session): string {
    const iat = Math.floor(this.clock.now() / 1000);
    const exp = iat + this.accessTtlSec;
    const payload = { sub: session.userId, sid: session.id, iat, exp, n: ++this.counter };
    const token = `eyJhbGciOiJIUzI1NiJ9.${base64url(JSON.stringify(payload))}.fake`;
    this.accessTokens.set(token, { userId: session.userId, sessionId: session.id, exp });
    return token;
  }

  // Conversations and messages (as other clients would cause them)

  openDirect(a: string, b: string): FakeConversation {
    for (const c of this.conversations.values()) {
      if (
        c.kind === 'direct' &&
        c.members.some((m) => m.userId === a) &&
        c.members.some((m) => m.userId === b)
      ) {
        return c;
      }
    }
    const conversation: FakeConversation = {
      id: this.nextId('c'),
      kind: 'direct',
      title: '',
      createdAt: this.clock.now(),
      members: [a, b].map((userId) => ({ userId, role: 'member', readSeq: 0, deliveredSeq: 0 })),
      messages: [],
    };
    this.conversations.set(conversation.id, conversation);
    this.announce(conversation);
    return conversation;
  }

  createGroup(creatorId: string, title: string, memberIds: string[]): FakeConversation {
    const ids = [creatorId, ...memberIds.filter((id) => id !== creatorId)];
    const conversation: FakeConversation = {
      id: this.nextId('c'),
      kind: 'group',
      title,
      createdAt: this.clock.now(),
      members: ids.map((userId) => ({
        userId,
        role: userId === creatorId ? 'admin' : 'member',
        readSeq: 0,
        deliveredSeq: 0,
      })),
      messages: [],
    };
    this.conversations.set(conversation.id, conversation);
    this.system(conversation, { kind: 'created', actorId: creatorId, userIds: memberIds });
    this.announce(conversation);
    return conversation;
  }

  /** Appends (idempotent on sender + clientMsgId) and fans out to every session but `except`. */
  post(
    senderId: string,
    conversationId: string,
    body: string,
    clientMsgId: string = this.nextId('cm'),
    except?: FakeServerSocket,
    replyToSeq: number | null = null,
    attachmentIds: readonly string[] = [],
  ): { message: Message; created: boolean } {
    const conversation = this.require(conversationId, senderId);
    const existing = conversation.messages.find(
      (m) => m.senderId === senderId && m.clientMsgId === clientMsgId,
    );
    if (existing) return { message: existing, created: false };
    const attachments = attachFiles(this, senderId, attachmentIds);
    const message = this.append(conversation, {
      senderId,
      clientMsgId,
      body: body.trim(),
      replyToSeq,
      attachments,
    });
    const sender = this.member(conversation, senderId)!;
    sender.readSeq = sender.deliveredSeq = message.seq;
    // A new message from someone else un-archives, without an event of its own.
    for (const m of conversation.members) if (m.userId !== senderId) m.archived = false;
    this.broadcast(conversation, { type: 'message', message }, except);
    return { message, created: true };
  }

  /** Moves a position forward; fans out a receipt when it moved. */
  advance(userId: string, conversationId: string, kind: 'read' | 'delivered', seq: number): void {
    const conversation = this.require(conversationId, userId);
    const member = this.member(conversation, userId)!;
    const clamped = Math.min(seq, conversation.messages.length);
    const moved = kind === 'read' ? clamped > member.readSeq : clamped > member.deliveredSeq;
    if (kind === 'read') member.readSeq = Math.max(member.readSeq, clamped);
    member.deliveredSeq = Math.max(member.deliveredSeq, clamped);
    if (!moved) return;
    this.broadcast(conversation, {
      type: 'receipt',
      conversationId,
      userId,
      kind,
      seq: clamped,
    });
  }

  rename(actorId: string, conversationId: string, title: string): void {
    const conversation = this.require(conversationId, actorId);
    conversation.title = title;
    fakeAnnounceChange(this, conversation, { title });
    this.system(conversation, { kind: 'renamed', actorId, userIds: [], title });
  }

  addMembers(actorId: string, conversationId: string, userIds: string[]): void {
    const conversation = this.require(conversationId, actorId);
    const firstSeq = conversation.messages.length + 1;
    for (const userId of userIds) {
      if (!this.member(conversation, userId)) {
        const seen = firstSeq - 1;
        conversation.members.push({
          userId,
          role: 'member',
          readSeq: seen,
          deliveredSeq: seen,
          firstSeq,
        });
      }
    }
    fakeAnnounceChange(this, conversation, { added: userIds });
    this.system(conversation, { kind: 'added', actorId, userIds });
  }

  removeMember(actorId: string, conversationId: string, userId: string): void {
    const conversation = this.require(conversationId, actorId);
    conversation.members = conversation.members.filter((m) => m.userId !== userId);
    this.toUser(userId, { type: 'conversation.removed', conversationId });
    fakeAnnounceChange(this, conversation, { removed: [userId] });
    this.system(conversation, {
      kind: actorId === userId ? 'left' : 'removed',
      actorId,
      userIds: [userId],
    });
  }

  edit(conversationId: string, seq: number, body: string): Message {
    const conversation = this.conversations.get(conversationId)!;
    const index = seq - 1;
    const message = { ...conversation.messages[index]!, body, editedAt: this.iso() };
    conversation.messages[index] = message;
    this.broadcast(conversation, { type: 'message.updated', message });
    return message;
  }

  // Views, as the REST API answers them for one viewer

  view(conversationId: string, viewerId: string): Conversation | null {
    const c = this.conversations.get(conversationId);
    const me = c && this.member(c, viewerId);
    if (!c || !me) return null;
    const firstSeq = me.firstSeq ?? 1;
    const last = c.messages.at(-1) ?? null;
    const peer = c.members.find((m) => m.userId !== viewerId);
    return {
      id: c.id,
      kind: c.kind,
      title: c.kind === 'direct' ? (peer ? this.user(peer.userId).displayName : '') : c.title,
      members: c.members.map((m) => ({
        user: this.user(m.userId),
        role: m.role,
        readSeq: m.readSeq,
        deliveredSeq: m.deliveredSeq,
      })),
      memberCount: c.members.length,
      membersVersion: c.membersVersion ?? 0,
      lastMessage: last,
      lastSeq: c.messages.length,
      readSeq: me.readSeq,
      unreadCount: c.messages.filter((m) => m.seq > me.readSeq && m.senderId !== viewerId).length,
      createdAt: new Date(c.createdAt).toISOString(),
      lastActivityAt: last?.createdAt ?? new Date(c.createdAt).toISOString(),
      firstSeq,
      muted: me.muted ?? false,
      archived: me.archived ?? false,
    };
  }

  /** The viewer's conversations, latest activity first (ties by id, as the sdk orders). */
  /** As the server lists them: each entry previews the first 5 members and the viewer. */
  list(viewerId: string): Conversation[] {
    return [...this.conversations.keys()]
      .map((id) => this.view(id, viewerId))
      .filter((c): c is Conversation => c !== null)
      .map((c) => ({
        ...c,
        members: c.members.filter(
          (m, i) => i < limits.conversationListMembers || m.user.id === viewerId,
        ),
      }))
      .sort(
        (a, b) =>
          Date.parse(b.lastActivityAt) - Date.parse(a.lastActivityAt) ||
          (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
      );
  }

  history(
    conversationId: string,
    range: { before?: number; after?: number; limit: number },
    viewerId?: string,
  ): { messages: Message[]; hasMore: boolean } {
    const conversation = this.conversations.get(conversationId)!;
    const firstSeq = (viewerId && this.member(conversation, viewerId)?.firstSeq) || 1;
    let messages = conversation.messages.filter((m) => m.seq >= firstSeq);
    if (range.before !== undefined) messages = messages.filter((m) => m.seq < range.before!);
    if (range.after !== undefined) {
      messages = messages.filter((m) => m.seq > range.after!);
      return { messages: messages.slice(0, range.limit), hasMore: messages.length > range.limit };
    }
    return { messages: messages.slice(-range.limit), hasMore: messages.length > range.limit };
  }

  // Sockets

  socketsOf(userId: string): FakeServerSocket[] {
    return [...this.sockets].filter((s) => s.userId === userId);
  }

  /** Closes every socket with `code` (1012 for a restart). */
  closeAll(code: number): void {
    for (const socket of [...this.sockets]) socket.close(code);
  }

  accept(socket: FakeServerSocket): boolean {
    if (this.refuseSockets) return false;
    this.sockets.add(socket);
    return true;
  }

  closed(socket: FakeServerSocket): void {
    this.sockets.delete(socket);
  }

  receive(socket: FakeServerSocket, data: string): void {
    let frame: Record<string, unknown>;
    try {
      frame = JSON.parse(data) as Record<string, unknown>;
    } catch {
      return socket.send({ type: 'error', code: 'bad_request', message: 'unparseable frame' });
    }
    const interception = this.intercept?.(socket, frame);
    if (interception === 'lose') return;
    const answer = (reply: Record<string, unknown>) => {
      if (interception !== 'loseAnswer' && frame.id !== undefined)
        socket.send({ ...reply, id: frame.id });
    };
    const type = frame.type as keyof typeof clientFrameSchemas;
    const parsed = Object.hasOwn(clientFrameSchemas, type)
      ? clientFrameSchemas[type].safeParse(frame)
      : null;
    if (!parsed?.success) {
      return answer({ type: 'error', code: 'bad_request', message: 'bad frame' });
    }
    if (socket.userId === null) {
      const claims = type === 'auth' ? this.verify(frame.token as string) : null;
      if (!claims) return socket.close(4401);
      socket.userId = claims.userId;
      socket.sessionId = claims.sessionId;
      return socket.send({
        type: 'ready',
        user: this.user(claims.userId),
        sessionId: claims.sessionId,
      });
    }
    try {
      answer(this.handle(socket, socket.userId, frame));
    } catch (error) {
      answer({
        type: 'error',
        code: (error as { code?: string }).code ?? 'internal',
        message: String(error),
      });
    }
  }

  private handle(
    socket: FakeServerSocket,
    userId: string,
    frame: Record<string, unknown>,
  ): Record<string, unknown> {
    switch (frame.type) {
      case 'ping':
        return { type: 'ok' };
      case 'send': {
        const { message } = this.post(
          userId,
          frame.conversationId as string,
          frame.body as string,
          frame.clientMsgId as string,
          socket,
          (frame.replyToSeq as number | undefined) ?? null,
          (frame.attachments as string[] | undefined) ?? [],
        );
        return { type: 'ok', message };
      }
      case 'read':
      case 'delivered':
        this.advance(userId, frame.conversationId as string, frame.type, frame.seq as number);
        return { type: 'ok' };
      case 'typing': {
        const conversation = this.require(frame.conversationId as string, userId);
        for (const member of conversation.members) {
          if (member.userId !== userId) {
            this.toUser(member.userId, { type: 'typing', conversationId: conversation.id, userId });
          }
        }
        return { type: 'ok' };
      }
      case 'sync': {
        const result: SyncResult = { conversations: [], truncated: [] };
        for (const [id, cursor] of Object.entries(frame.cursors as Record<string, number>)) {
          const conversation = this.conversations.get(id);
          if (!conversation || !this.member(conversation, userId)) continue;
          const from = this.member(conversation, userId)!.firstSeq ?? 1;
          const missed = conversation.messages.filter((m) => m.seq > cursor && m.seq >= from);
          for (const message of missed.slice(0, this.syncMax))
            socket.send({ type: 'message', message });
          if (missed.length > this.syncMax) result.truncated.push(id);
        }
        result.conversations = this.list(userId).map((c) => ({ id: c.id, lastSeq: c.lastSeq }));
        return { type: 'ok', ...result };
      }
      default:
        throw Object.assign(new Error('unexpected frame'), { code: 'bad_request' });
    }
  }

  // Internals

  user(id: string): User {
    return this.users.get(id)!.user;
  }

  member(conversation: FakeConversation, userId: string): FakeMember | undefined {
    return conversation.members.find((m) => m.userId === userId);
  }

  require(conversationId: string, userId: string): FakeConversation {
    const conversation = this.conversations.get(conversationId);
    if (!conversation || !this.member(conversation, userId)) throw new NotFound();
    return conversation;
  }

  private append(
    conversation: FakeConversation,
    fields: {
      senderId: string | null;
      clientMsgId: string | null;
      body: string;
      system?: SystemEvent;
      replyToSeq?: number | null;
      attachments?: Attachment[];
    },
  ): Message {
    const message: Message = {
      id: this.nextId('m'),
      conversationId: conversation.id,
      seq: conversation.messages.length + 1,
      senderId: fields.senderId,
      clientMsgId: fields.clientMsgId,
      body: fields.body,
      createdAt: this.iso(),
      editedAt: null,
      deletedAt: null,
      replyToSeq: fields.replyToSeq ?? null,
      attachments: fields.attachments ?? [],
      reactions: {},
      ...(fields.system ? { system: fields.system } : {}),
    };
    conversation.messages.push(message);
    return message;
  }

  private system(conversation: FakeConversation, event: SystemEvent): void {
    const message = this.append(conversation, {
      senderId: null,
      clientMsgId: null,
      body: '',
      system: event,
    });
    // As the server does: the actor's own positions move to it, with no receipt.
    const actor = event.actorId === null ? undefined : this.member(conversation, event.actorId);
    if (actor) actor.readSeq = actor.deliveredSeq = message.seq;
    this.broadcast(conversation, { type: 'message', message });
  }

  /** A `conversation` frame to every member, each with their own view. */
  announce(conversation: FakeConversation): void {
    for (const member of conversation.members) {
      const view = this.view(conversation.id, member.userId);
      if (view) this.toUser(member.userId, { type: 'conversation', conversation: view });
    }
  }

  broadcast(
    conversation: FakeConversation,
    frame: Record<string, unknown>,
    except?: FakeServerSocket,
  ): void {
    for (const member of conversation.members) this.toUser(member.userId, frame, except);
  }

  toUser(userId: string, frame: Record<string, unknown>, except?: FakeServerSocket): void {
    for (const socket of this.sockets) {
      if (socket.userId === userId && socket !== except) socket.send(frame);
    }
  }
}

class NotFound extends Error {
  readonly code = 'not_found';
  constructor() {
    super('not found');
  }
}

function base64url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
