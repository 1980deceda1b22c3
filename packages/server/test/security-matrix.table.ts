/**
 * The security matrix: for every REST route the app registers, every client frame type of
 * packages/protocol and every server frame type, how to exercise it and what each actor must
 * get. security-matrix.test.ts runs it and fails when a route or frame type has no row, so a
 * new route cannot ship without saying who may use it.
 *
 * Actors (the world is built in security-matrix.test.ts):
 * - outsider: never a member of the group G nor of the owner's direct conversation;
 * - removed: a member of G until before the AFTER-REMOVAL messages;
 * - lateJoiner: added to G after the BEFORE-JOIN messages: sees nothing from before its join
 *   point, whether message, edit, reaction or receipt, over REST or WebSocket;
 * - blocked / blocker: the two sides of a direct conversation where the blocker blocked the
 *   other; both are still members, neither may send there (`403 blocked`) nor add the other to
 *   a group;
 * - disabled: a session that was logged out or revoked by a password change (401 / 4401).
 */
import type { ClientFrameType, ServerFrameType } from '@letter/protocol';
import type { Frame, TestServer, TestUser } from '../src/testing/harness.js';

export const actors = [
  'outsider',
  'removed',
  'lateJoiner',
  'blocked',
  'blocker',
  'disabled',
] as const;
export type Actor = (typeof actors)[number];

export interface World {
  server: TestServer;
  owner: TestUser;
  member: TestUser;
  users: Record<Exclude<Actor, 'disabled'>, TestUser> & { disabled: TestUser };
  /** The disabled actor's dead sessions: one logged out, one revoked by a password change. */
  deadSessions: { label: string; accessToken: string; refreshToken: string }[];
  group: string;
  /** The owner and member's direct conversation: the outsider's second target. */
  ownerDirect: string;
  /** The blocker and blocked's direct conversation. */
  blockDirect: string;
  /** A group each side of the block administers (with the member in it), to add the other to. */
  adminGroupOf: { blocked: string; blocker: string };
  /** An owner message in G from before the late joiner's join point. */
  oldSeq: number;
  /** The member's message in G from before the join point (for reactions by the owner). */
  oldMemberSeq: number;
  /** The seq of the system message that added the late joiner. */
  joinSeq: number;
  /** The owner's file, sent with the owner message `oldSeq` in G. */
  fileId: string;
  /** Per user id: two unattached uploads of theirs, for the REST and the frame send rows. */
  uploads: Record<string, [string, string]>;
  /** Per side of the block: its own message, a spare own message to delete, the peer's. */
  blockSeqs: Record<'blocked' | 'blocker', { own: number; spare: number; peer: number }>;
}

/** Strings each actor must never receive, in any REST answer or WebSocket frame. */
export function forbiddenFor(actor: Actor): string[] {
  switch (actor) {
    case 'outsider':
      return ['GROUP-', 'DIRECT-SECRET'];
    case 'removed':
      return ['AFTER-REMOVAL', 'DIRECT-SECRET'];
    case 'lateJoiner':
      return ['BEFORE-JOIN', 'DIRECT-SECRET'];
    default:
      return ['DIRECT-SECRET'];
  }
}

/** What the actor acts on: its token, the conversation and seq it tries. */
export interface Target {
  self: TestUser;
  token: string;
  conversationId: string;
  /** A seq in that conversation the actor tries to act on (not its own). */
  seq: number;
  /** The actor's own message there (blocked sides only; else the same as seq). */
  ownSeq: number;
  spareSeq: number;
  /** The other side of the block, or the owner. */
  peerId: string;
}

export function targetOf(world: World, actor: Actor, token?: string): Target {
  const self = world.users[actor];
  if (actor === 'blocked' || actor === 'blocker') {
    const seqs = world.blockSeqs[actor];
    const peer = world.users[actor === 'blocked' ? 'blocker' : 'blocked'];
    return {
      self,
      token: token ?? self.accessToken,
      conversationId: world.blockDirect,
      seq: seqs.peer,
      ownSeq: seqs.own,
      spareSeq: seqs.spare,
      peerId: peer.user.id,
    };
  }
  return {
    self,
    token: token ?? self.accessToken,
    conversationId: world.group,
    seq: world.oldSeq,
    ownSeq: world.oldSeq,
    spareSeq: world.oldSeq,
    peerId: world.owner.user.id,
  };
}

export interface Call {
  path: string;
  body?: unknown;
  /** Defaults to the target's token; `null` sends none. */
  token?: string | null;
}

export interface Answer {
  status: number;
  code?: string;
  /** Extra assertions on the answer's body (throw to fail). */
  check?: (body: any, world: World) => void;
}
/** Not applicable to this actor, and why (every cell is filled in on purpose). */
export interface NotApplicable {
  na: string;
}
export type Expectation = Answer | NotApplicable;

export interface RouteRow {
  call: (world: World, target: Target, actor: Actor) => Call;
  expect: Record<Actor, Expectation>;
}

const notFound: Answer = { status: 404, code: 'not_found' };
const unauthorized: Answer = { status: 401, code: 'unauthorized' };
const forbidden: Answer = { status: 403, code: 'forbidden' };
const blocked: Answer = { status: 403, code: 'blocked' };
const ok = (status = 200, check?: Answer['check']): Answer => ({ status, check });
const na = (reason: string): NotApplicable => ({ na: reason });

/** Every actor the same, but the disabled session gets 401. */
function onlyAuth(
  reason: string,
  disabled: Expectation = unauthorized,
): Record<Actor, Expectation> {
  const cell = na(reason);
  return {
    outsider: cell,
    removed: cell,
    lateJoiner: cell,
    blocked: cell,
    blocker: cell,
    disabled,
  };
}
function publicRoute(reason: string): Record<Actor, Expectation> {
  return onlyAuth(reason, na(reason));
}

/** A conversation route: non-members 404, the disabled session 401, the rest as given. */
function conversationRoute(
  lateJoiner: Expectation,
  blockSides: Expectation,
): Record<Actor, Expectation> {
  return {
    outsider: notFound,
    removed: notFound,
    lateJoiner,
    blocked: blockSides,
    blocker: blockSides,
    disabled: unauthorized,
  };
}

function seqsAtOrAfterJoin(messages: { seq: number }[], world: World): void {
  for (const message of messages) {
    if (message.seq < world.joinSeq)
      throw new Error(
        `the late joiner got seq ${message.seq}, before its join at ${world.joinSeq}`,
      );
  }
}

function lacksGroup(body: any, world: World): void {
  const ids = (body.conversations as { id: string }[]).map((c) => c.id);
  if (ids.includes(world.group) || ids.includes(world.ownerDirect))
    throw new Error('a conversation the caller is not in is listed');
}

const base = (t: Target) => `/api/conversations/${t.conversationId}`;

/**
 * Keyed `METHOD /path` exactly as fastify registered it (HEAD, which fastify adds for each GET,
 * is left out).
 */
export const routeRows: Record<string, RouteRow> = {
  'GET /': { call: () => ({ path: '/' }), expect: publicRoute('public: the web app') },
  'GET /healthz': { call: () => ({ path: '/healthz' }), expect: publicRoute('public: health') },
  'GET /metrics': { call: () => ({ path: '/metrics' }), expect: publicRoute('public: metrics') },
  'POST /api/auth/register': {
    call: () => ({ path: '/api/auth/register' }),
    expect: publicRoute('public: makes an account'),
  },
  'POST /api/auth/login': {
    call: () => ({ path: '/api/auth/login' }),
    expect: publicRoute('public: password login'),
  },
  'POST /api/auth/refresh': {
    call: (world, target) => ({
      path: '/api/auth/refresh',
      token: null,
      body: {
        refreshToken: world.deadSessions.find((s) => s.accessToken === target.token)?.refreshToken,
      },
    }),
    expect: onlyAuth('the caller’s own session'),
  },
  'POST /api/auth/logout': {
    call: () => ({ path: '/api/auth/logout' }),
    expect: onlyAuth('the caller’s own session'),
  },
  'GET /api/me': { call: () => ({ path: '/api/me' }), expect: onlyAuth('the caller’s own') },
  'PATCH /api/me': {
    call: () => ({ path: '/api/me', body: { displayName: 'Renamed' } }),
    expect: onlyAuth('the caller’s own profile'),
  },
  'DELETE /api/me': {
    call: () => ({ path: '/api/me', body: { password: 'correct horse battery' } }),
    expect: onlyAuth('the caller’s own account'),
  },
  'POST /api/me/password': {
    call: () => ({
      path: '/api/me/password',
      body: { currentPassword: 'correct horse battery', newPassword: 'another horse battery' },
    }),
    expect: onlyAuth('the caller’s own password'),
  },
  'GET /api/me/export': {
    call: () => ({ path: '/api/me/export' }),
    // The forbidden strings are checked on every answer: the export holds none of them.
    expect: {
      ...onlyAuth('the caller’s own data'),
      outsider: ok(),
      removed: ok(),
      lateJoiner: ok(),
    },
  },
  'GET /api/push/key': {
    call: () => ({ path: '/api/push/key' }),
    expect: onlyAuth('the server’s public VAPID key, the same for everyone'),
  },
  'POST /api/push/subscriptions': {
    call: () => ({
      path: '/api/push/subscriptions',
      body: { endpoint: 'https://push.invalid/x', keys: { p256dh: 'AAAA', auth: 'AAAA' } },
    }),
    expect: onlyAuth('the caller’s own session’s subscription'),
  },
  'GET /api/push/settings': {
    call: () => ({ path: '/api/push/settings' }),
    expect: onlyAuth('the caller’s own settings'),
  },
  'PATCH /api/push/settings': {
    call: () => ({ path: '/api/push/settings', body: { preview: true } }),
    expect: onlyAuth('the caller’s own settings'),
  },
  'DELETE /api/push/subscriptions': {
    call: () => ({ path: '/api/push/subscriptions', body: { endpoint: 'https://push.invalid/x' } }),
    expect: onlyAuth('the caller’s own session’s subscription'),
  },
  'GET /api/users': {
    call: (_w, t) => ({ path: `/api/users?query=${t.self.user.username.slice(0, 4)}` }),
    expect: onlyAuth('a directory of usernames, not about a conversation'),
  },
  'GET /api/users/:id': {
    call: (world) => ({ path: `/api/users/${world.owner.user.id}` }),
    expect: onlyAuth('public profile by an unguessable id'),
  },
  'GET /api/contacts': {
    call: () => ({ path: '/api/contacts' }),
    expect: onlyAuth('the caller’s own list'),
  },
  'POST /api/contacts': {
    call: (world) => ({ path: '/api/contacts', body: { username: world.owner.user.username } }),
    expect: onlyAuth('the caller’s own list'),
  },
  'DELETE /api/contacts/:userId': {
    call: (world) => ({ path: `/api/contacts/${world.owner.user.id}` }),
    expect: onlyAuth('the caller’s own list'),
  },
  'GET /api/blocks': {
    call: () => ({ path: '/api/blocks' }),
    expect: onlyAuth('the caller’s own list'),
  },
  'POST /api/blocks': {
    call: (world) => ({ path: '/api/blocks', body: { userId: world.member.user.id } }),
    expect: onlyAuth('the caller’s own list'),
  },
  'DELETE /api/blocks/:userId': {
    call: (world) => ({ path: `/api/blocks/${world.member.user.id}` }),
    expect: onlyAuth('the caller’s own list'),
  },
  'GET /api/conversations': {
    call: () => ({ path: '/api/conversations' }),
    expect: {
      outsider: ok(200, lacksGroup),
      removed: ok(200, lacksGroup),
      lateJoiner: ok(),
      blocked: ok(),
      blocker: ok(),
      disabled: unauthorized,
    },
  },
  'POST /api/conversations': {
    // A new group with the other side of the block in it.
    call: (_w, t) => ({
      path: '/api/conversations',
      body: { kind: 'group', title: 'with the peer', memberIds: [t.peerId] },
    }),
    expect: {
      outsider: na('makes a conversation of its own'),
      removed: na('makes a conversation of its own'),
      lateJoiner: na('makes a conversation of its own'),
      blocked,
      blocker: blocked,
      disabled: unauthorized,
    },
  },
  'POST /api/files': {
    call: () => ({ path: '/api/files', body: {} }),
    expect: onlyAuth('the caller’s own upload'),
  },
  // The file is on a G message from before the join point and the removal: nobody but its
  // uploader and the members who may see that message gets it (the block sides are not in G).
  'GET /api/files/:id': {
    call: (world) => ({ path: `/api/files/${world.fileId}` }),
    expect: { ...conversationRoute(notFound, notFound) },
  },
  'GET /api/files/:id/thumbnail': {
    call: (world) => ({ path: `/api/files/${world.fileId}/thumbnail` }),
    expect: { ...conversationRoute(notFound, notFound) },
  },
  'GET /api/conversations/:id': {
    call: (_w, t) => ({ path: base(t) }),
    expect: conversationRoute(ok(), ok()),
  },
  'GET /api/conversations/:id/members': {
    call: (_w, t) => ({ path: `${base(t)}/members` }),
    expect: conversationRoute(ok(), ok()),
  },
  'PATCH /api/conversations/:id': {
    call: (_w, t) => ({ path: base(t), body: { title: 'GROUP-AFTER-REMOVAL taken over' } }),
    // Not an admin of G; a direct conversation has no title to manage.
    expect: conversationRoute(forbidden, forbidden),
  },
  'GET /api/conversations/:id/messages': {
    call: (_w, t) => ({ path: `${base(t)}/messages?limit=200` }),
    expect: conversationRoute(
      ok(200, (body, world) => seqsAtOrAfterJoin(body.messages, world)),
      ok(),
    ),
  },
  'POST /api/conversations/:id/messages': {
    call: (world, t) => ({
      path: `${base(t)}/messages`,
      // With one of the actor's own uploads: a member's send takes it, anyone else stores nothing.
      body: {
        clientMsgId: `matrix-${t.self.user.id}`,
        body: 'GROUP-AFTER-REMOVAL from the row',
        attachments: [world.uploads[t.self.user.id]![0]],
      },
    }),
    expect: conversationRoute(ok(201), blocked),
  },
  'POST /api/conversations/:id/read': {
    call: (_w, t) => ({ path: `${base(t)}/read`, body: { seq: t.seq } }),
    expect: conversationRoute(ok(204), ok(204)),
  },
  'PATCH /api/conversations/:id/settings': {
    call: (_w, t) => ({ path: `${base(t)}/settings`, body: { muted: true } }),
    expect: conversationRoute(ok(), ok()),
  },
  'POST /api/conversations/:id/members': {
    // Outsiders and removed members try to add themselves; the sides of a block try to add the
    // other to a group they administer.
    call: (world, t, actor) =>
      actor === 'blocked' || actor === 'blocker'
        ? {
            path: `/api/conversations/${world.adminGroupOf[actor]}/members`,
            body: { userIds: [t.peerId] },
          }
        : { path: `${base(t)}/members`, body: { userIds: [t.self.user.id] } },
    expect: conversationRoute(forbidden, blocked),
  },
  'DELETE /api/conversations/:id/members/:userId': {
    call: (world, t) => ({ path: `${base(t)}/members/${world.member.user.id}` }),
    expect: {
      ...conversationRoute(forbidden, forbidden),
      // In the direct conversation the "member" is not in it: still no managing a direct one.
      blocked: { status: 403 },
      blocker: { status: 403 },
    },
  },
  'PATCH /api/conversations/:id/members/:userId': {
    call: (_w, t) => ({ path: `${base(t)}/members/${t.self.user.id}`, body: { role: 'admin' } }),
    expect: conversationRoute(forbidden, forbidden),
  },
  'PATCH /api/conversations/:id/messages/:seq': {
    // The late joiner tries a message from before its join: 404, not 403, as if it did not exist.
    // An edit reaches the peer like a send: refused between the sides of a block.
    call: (_w, t) => ({ path: `${base(t)}/messages/${t.ownSeq}`, body: { body: 'GROUP-edited' } }),
    expect: conversationRoute(notFound, blocked),
  },
  'DELETE /api/conversations/:id/messages/:seq': {
    call: (_w, t) => ({ path: `${base(t)}/messages/${t.spareSeq}` }),
    expect: conversationRoute(notFound, ok(204)),
  },
  'PUT /api/conversations/:id/messages/:seq/reactions': {
    call: (_w, t) => ({ path: `${base(t)}/messages/${t.seq}/reactions`, body: { emoji: '👍' } }),
    // A reaction reaches the peer like a send.
    expect: conversationRoute(notFound, blocked),
  },
  'DELETE /api/conversations/:id/messages/:seq/reactions': {
    call: (_w, t) => ({ path: `${base(t)}/messages/${t.seq}/reactions` }),
    expect: conversationRoute(notFound, ok()),
  },
  'GET /api/conversations/:id/messages/:seq/receipts': {
    call: (_w, t) => ({ path: `${base(t)}/messages/${t.seq}/receipts` }),
    expect: conversationRoute(notFound, ok()),
  },
  'GET /api/search': {
    // The forbidden strings catch a result, snippet or highlight from before the join point.
    call: (_w, t) => ({ path: `/api/search?q=group&conversationId=${t.conversationId}` }),
    expect: conversationRoute(ok(), ok()),
  },
};

/** A WebSocket frame row: the frames to send (each gets an id) and the answer per actor. */
export type FrameAnswer =
  | { ok: true; check?: (answer: Frame, world: World) => void }
  | { error: string }
  /** Either answer is right (e.g. typing to a blocked peer may be refused or dropped). */
  | { okOrError: string };
export type FrameExpectation = FrameAnswer | NotApplicable;

export interface FrameRow {
  frames: (world: World, target: Target, actor: Actor) => Frame[];
  /** The disabled session always gets close 4401 before any frame is handled. */
  expect: Record<Exclude<Actor, 'disabled'>, FrameExpectation>;
}

const okFrame: FrameAnswer = { ok: true };
const notFoundFrame: FrameAnswer = { error: 'not_found' };
const memberFrames = (
  lateJoiner: FrameExpectation,
  blockSides: FrameExpectation,
): FrameRow['expect'] => ({
  outsider: notFoundFrame,
  removed: notFoundFrame,
  lateJoiner,
  blocked: blockSides,
  blocker: blockSides,
});

export const frameRows: Record<ClientFrameType, FrameRow> = {
  auth: {
    frames: (_w, t) => [{ type: 'auth', token: t.token }],
    expect: {
      outsider: { error: 'bad_request' },
      removed: { error: 'bad_request' },
      lateJoiner: { error: 'bad_request' },
      blocked: { error: 'bad_request' },
      blocker: { error: 'bad_request' },
    },
  },
  ping: {
    frames: () => [{ type: 'ping' }],
    expect: {
      outsider: okFrame,
      removed: okFrame,
      lateJoiner: okFrame,
      blocked: okFrame,
      blocker: okFrame,
    },
  },
  send: {
    frames: (world, t, actor) => [
      {
        type: 'send',
        conversationId: t.conversationId,
        clientMsgId: `frame-${actor}`,
        body: 'GROUP-AFTER-REMOVAL by frame',
        attachments: [world.uploads[t.self.user.id]![1]],
      },
      ...(actor === 'blocked' || actor === 'blocker'
        ? [{ type: 'send', to: t.peerId, clientMsgId: `frame-to-${actor}`, body: 'hello' }]
        : []),
    ],
    expect: memberFrames(okFrame, { error: 'blocked' }),
  },
  typing: {
    frames: (_w, t) => [{ type: 'typing', conversationId: t.conversationId }],
    expect: memberFrames(okFrame, { okOrError: 'blocked' }),
  },
  delivered: {
    frames: (_w, t) => [{ type: 'delivered', conversationId: t.conversationId, seq: t.seq }],
    expect: memberFrames(okFrame, okFrame),
  },
  read: {
    frames: (_w, t) => [{ type: 'read', conversationId: t.conversationId, seq: t.seq }],
    expect: memberFrames(okFrame, okFrame),
  },
  sync: {
    frames: (world) => [
      {
        type: 'sync',
        cursors: { [world.group]: 0, [world.ownerDirect]: 0, [world.blockDirect]: 0 },
      },
    ],
    expect: {
      outsider: { ok: true, check: (answer, world) => lacksGroup(answer, world) },
      removed: { ok: true, check: (answer, world) => lacksGroup(answer, world) },
      // The replayed messages themselves are checked with the socket's other frames.
      lateJoiner: okFrame,
      blocked: okFrame,
      blocker: okFrame,
    },
  },
};

/**
 * Server → client frames: for each type, the frames of that type an actor's socket may receive
 * while the world goes on (security-matrix.test.ts triggers every kind of event). `forbidden`
 * returns why a frame must not have reached that actor, or undefined when it may.
 */
export interface EventRow {
  forbidden:
    Partial<Record<Actor, (frame: Frame, world: World) => string | undefined>> | NotApplicable;
}

const aboutForeign = (conversationId: string, world: World) =>
  conversationId === world.group || conversationId === world.ownerDirect
    ? 'an event about a conversation the actor is not in'
    : undefined;
const outsiders = (of: (frame: Frame) => string) => ({
  outsider: (frame: Frame, world: World) => aboutForeign(of(frame), world),
  removed: (frame: Frame, world: World) => aboutForeign(of(frame), world),
});
const beforeJoin = (frame: Frame, world: World, conversationId: string, seq: number) =>
  conversationId === world.group && seq < world.joinSeq
    ? `seq ${seq} is from before the late joiner's join at ${world.joinSeq}`
    : undefined;
const betweenBlockSides = (frame: Frame, world: World, userId: string, self: Actor) => {
  const other = world.users[self === 'blocked' ? 'blocker' : 'blocked'].user.id;
  return userId === other ? `a ${frame.type} of the other side of the block` : undefined;
};

export const eventRows: Record<ServerFrameType, EventRow> = {
  ready: { forbidden: na('the answer to the actor’s own auth') },
  ok: { forbidden: na('the answer to the actor’s own frame') },
  error: { forbidden: na('the answer to the actor’s own frame') },
  message: {
    forbidden: {
      ...outsiders((f) => f.message.conversationId),
      lateJoiner: (f, w) => beforeJoin(f, w, f.message.conversationId, f.message.seq),
    },
  },
  'message.updated': {
    forbidden: {
      ...outsiders((f) => f.message.conversationId),
      lateJoiner: (f, w) => beforeJoin(f, w, f.message.conversationId, f.message.seq),
    },
  },
  receipt: {
    forbidden: {
      ...outsiders((f) => f.conversationId),
      lateJoiner: (f, w) => beforeJoin(f, w, f.conversationId, f.seq),
    },
  },
  typing: {
    forbidden: {
      ...outsiders((f) => f.conversationId),
      blocked: (f, w) => betweenBlockSides(f, w, f.userId, 'blocked'),
      blocker: (f, w) => betweenBlockSides(f, w, f.userId, 'blocker'),
    },
  },
  presence: {
    forbidden: {
      outsider: (f, w) =>
        f.userId === w.owner.user.id || f.userId === w.member.user.id
          ? 'presence of someone the outsider shares nothing with'
          : undefined,
      blocked: (f, w) => betweenBlockSides(f, w, f.userId, 'blocked'),
      blocker: (f, w) => betweenBlockSides(f, w, f.userId, 'blocker'),
    },
  },
  conversation: { forbidden: outsiders((f) => f.conversation.id) },
  'conversation.removed': { forbidden: outsiders((f) => f.conversationId) },
  'conversation.changed': { forbidden: outsiders((f) => f.conversationId) },
};

/**
 * The routes fastify registered, as `METHOD /path`, read from `printRoutes` (the tree of path
 * segments) and each confirmed with `hasRoute`, so a misparse fails instead of hiding a route.
 */
export function registeredRoutes(server: TestServer): string[] {
  const { app } = server.node;
  const tree = app.printRoutes({ commonPrefix: false });
  const stack: { indent: number; path: string }[] = [];
  const routes: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^([\s│├└─]*)(\S.*?) \(([A-Z, ]+)\)$/.exec(line);
    if (!match) continue;
    const indent = match[1]!.length;
    while (stack.length && stack.at(-1)!.indent >= indent) stack.pop();
    const path = (stack.at(-1)?.path ?? '') + match[2]!;
    stack.push({ indent, path });
    for (const method of match[3]!.split(', ')) {
      if (method === 'HEAD') continue;
      if (!app.hasRoute({ method: method as 'GET', url: path }))
        throw new Error(`printRoutes parsed to ${method} ${path}, which hasRoute does not know`);
      routes.push(`${method} ${path}`);
    }
  }
  return routes;
}
