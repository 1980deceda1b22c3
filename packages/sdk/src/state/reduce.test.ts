/** The reducer as a pure function: dedup, order, unread, receipts, typing, immutability. */
import { describe, expect, it } from 'vitest';
import type { Conversation, Message } from '@letter/protocol';
import { reduce } from './reduce.js';
import { addMessages, emptyTimeline } from './timeline.js';
import { computeUnread } from './unread.js';
import { initialState } from './types.js';
import type { ClientState, StateEvent } from './types.js';

const me = { id: 'me', username: 'me', displayName: 'Me' };
const bob = { id: 'bob', username: 'bob', displayName: 'Bob' };
const t = (n: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString();

function message(seq: number, overrides: Partial<Message> = {}): Message {
  return {
    id: `m${seq}`,
    conversationId: 'c1',
    seq,
    senderId: 'bob',
    clientMsgId: `b${seq}`,
    body: `message ${seq}`,
    createdAt: t(seq),
    editedAt: null,
    deletedAt: null,
    replyToSeq: null,
    attachments: [],
    reactions: {},
    ...overrides,
  };
}

function conversation(overrides: Partial<Conversation> = {}): Conversation {
  return {
    id: 'c1',
    kind: 'direct',
    title: 'Bob',
    members: [
      { user: me, role: 'member', readSeq: 0, deliveredSeq: 0 },
      { user: bob, role: 'member', readSeq: 0, deliveredSeq: 0 },
    ],
    memberCount: 2,
    membersVersion: 0,
    lastMessage: null,
    lastSeq: 0,
    readSeq: 0,
    unreadCount: 0,
    createdAt: t(0),
    lastActivityAt: t(0),
    firstSeq: 1,
    muted: false,
    archived: false,
    ...overrides,
  };
}

/** Freezes every object reachable from the state: any mutation by the reducer throws. */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

function run(events: StateEvent[], from: ClientState = initialState): ClientState {
  return events.reduce((state, event) => reduce(deepFreeze(state), event), from);
}

const start: StateEvent[] = [
  { type: 'session', status: 'signedIn', user: me },
  { type: 'conversations.loaded', conversations: [conversation()] },
];

describe('reduce', () => {
  it('keeps messages sorted by seq, once each, whatever the arrival order', () => {
    const state = run([
      ...start,
      { type: 'message', message: message(3) },
      { type: 'message', message: message(1) },
      { type: 'message', message: message(2) },
      { type: 'message', message: message(2) },
      {
        type: 'messages.page',
        conversationId: 'c1',
        messages: [message(1), message(2), message(3)],
      },
    ]);
    expect(state.timelines.c1!.messages.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(state.timelines.c1!.cursor).toBe(3);
    expect(state.conversations.c1!.unreadCount).toBe(3);
    expect(state.conversations.c1!.lastMessage?.seq).toBe(3);
  });

  it('returns the same state for a duplicate, so nothing re-renders', () => {
    const once = run([...start, { type: 'message', message: message(1) }]);
    expect(reduce(once, { type: 'message', message: message(1) })).toBe(once);
  });

  it('replaces the pending echo with the acknowledged message (same sender and clientMsgId)', () => {
    const pending = {
      clientMsgId: 'x1',
      conversationId: 'c1',
      senderId: 'me',
      body: 'hi',
      replyToSeq: null,
      createdAt: t(5),
      status: 'pending' as const,
      error: null,
    };
    const withPending = run([
      ...start,
      { type: 'pending.upsert', pending },
      { type: 'pending.upsert', pending: { ...pending, clientMsgId: 'x2' } },
    ]);
    // Bob happens to use the same clientMsgId: not ours.
    const afterBob = reduce(withPending, {
      type: 'message',
      message: message(1, { clientMsgId: 'x1' }),
    });
    expect(afterBob.pending.c1!.map((p) => p.clientMsgId)).toEqual(['x1', 'x2']);
    const acked = reduce(afterBob, {
      type: 'message',
      message: message(2, { senderId: 'me', clientMsgId: 'x1', body: 'hi' }),
    });
    expect(acked.pending.c1!.map((p) => p.clientMsgId)).toEqual(['x2']);
    expect(acked.timelines.c1!.messages.map((m) => m.seq)).toEqual([1, 2]);
    // Own message: read up to it, so bob's message 1 is read too.
    expect(acked.conversations.c1!.readSeq).toBe(2);
    expect(acked.conversations.c1!.unreadCount).toBe(0);
  });

  it('derives unread counts from the server base plus what is held', () => {
    const base = conversation({ lastSeq: 10, readSeq: 4, unreadCount: 5 });
    let state = run([
      { type: 'session', status: 'signedIn', user: me },
      { type: 'conversations.loaded', conversations: [base] },
    ]);
    expect(state.conversations.c1!.unreadCount).toBe(5);
    state = run([{ type: 'message', message: message(11) }], state);
    expect(state.conversations.c1!.unreadCount).toBe(6);
    // A read receipt of ours from another device, up to 11: all read.
    state = run(
      [{ type: 'receipt', conversationId: 'c1', userId: 'me', kind: 'read', seq: 11 }],
      state,
    );
    expect(state.conversations.c1!.unreadCount).toBe(0);
    state = run(
      [
        { type: 'message', message: message(12) },
        { type: 'message', message: message(13, { senderId: null, clientMsgId: null }) },
      ],
      state,
    );
    expect(state.conversations.c1!.unreadCount).toBe(2);
  });

  it('derives unread mentions: the server base, live mentions of me, cleared by reading', () => {
    const base = conversation({ kind: 'group', lastSeq: 10, readSeq: 4, unreadCount: 6 });
    let state = run([
      { type: 'session', status: 'signedIn', user: me },
      { type: 'conversations.loaded', conversations: [{ ...base, unreadMentions: 2 }] },
    ]);
    expect(state.conversations.c1!.unreadMentions).toBe(2);
    // A `conversation` event's view carries no unreadMentions: the count stays.
    state = run([{ type: 'conversation', conversation: { ...base, title: 'Renamed' } }], state);
    expect(state.conversations.c1!.unreadMentions).toBe(2);
    state = run(
      [
        { type: 'message', message: message(11, { mentions: ['me'] }) },
        { type: 'message', message: message(12, { mentions: ['carol'] }) },
        { type: 'message', message: message(13) },
      ],
      state,
    );
    expect(state.conversations.c1!.unreadMentions).toBe(3);
    expect(state.conversations.c1!.unreadCount).toBe(9);
    state = run(
      [{ type: 'receipt', conversationId: 'c1', userId: 'me', kind: 'read', seq: 13 }],
      state,
    );
    expect(state.conversations.c1!.unreadMentions).toBeUndefined();
    state = run([{ type: 'message', message: message(14, { mentions: ['me'] }) }], state);
    expect(state.conversations.c1!.unreadMentions).toBe(1);
    // A list entry without the field means none (the server counted), though 14 is unread.
    state = run(
      [
        {
          type: 'conversations.loaded',
          conversations: [{ ...base, lastSeq: 14, readSeq: 13, unreadCount: 1 }],
        },
      ],
      state,
    );
    expect(state.conversations.c1!.unreadMentions).toBeUndefined();
  });

  it('computeUnread: partial reads below the base use held messages, or assume the worst', () => {
    const base = { lastSeq: 10, readSeq: 4, unreadCount: 5 };
    const held = [5, 6, 7, 8, 9, 10].map((seq) =>
      message(seq, { senderId: seq === 6 ? 'me' : 'bob' }),
    );
    // Read up to 7: 5 and 7 were bob's (6 was ours): 5 − 2 = 3 left.
    expect(computeUnread(base, 7, held, 'me')).toBe(3);
    // Nothing held: assume the 3 seqs all counted.
    expect(computeUnread(base, 7, [], 'me')).toBe(2);
    expect(computeUnread(base, 10, [], 'me')).toBe(0);
    expect(computeUnread(base, 4, [...held, message(11)], 'me')).toBe(6);
  });

  it('orders conversations by latest activity, ties by id', () => {
    const state = run([
      { type: 'session', status: 'signedIn', user: me },
      {
        type: 'conversations.loaded',
        conversations: [
          conversation({ id: 'a', lastActivityAt: t(1) }),
          conversation({ id: 'b', lastActivityAt: t(2) }),
          conversation({ id: 'c', lastActivityAt: t(2) }),
        ],
      },
    ]);
    expect(state.conversationOrder).toEqual(['b', 'c', 'a']);
    const after = reduce(state, {
      type: 'message',
      message: message(1, { conversationId: 'a', createdAt: t(3) }),
    });
    expect(after.conversationOrder).toEqual(['a', 'b', 'c']);
    // An old page does not make a conversation recent.
    const paged = reduce(after, {
      type: 'messages.page',
      conversationId: 'c',
      messages: [message(1, { conversationId: 'c', createdAt: t(0) })],
    });
    expect(paged.conversationOrder).toEqual(['a', 'b', 'c']);
  });

  it('applies receipts to members: read implies delivered, positions never go back', () => {
    const state = run([
      ...start,
      { type: 'receipt', conversationId: 'c1', userId: 'bob', kind: 'delivered', seq: 3 },
      { type: 'receipt', conversationId: 'c1', userId: 'bob', kind: 'read', seq: 5 },
      { type: 'receipt', conversationId: 'c1', userId: 'bob', kind: 'read', seq: 2 },
    ]);
    expect(state.conversations.c1!.members.find((m) => m.user.id === 'bob')).toMatchObject({
      readSeq: 5,
      deliveredSeq: 5,
    });
  });

  it('moves the actor of a system message to it, as the server does (no receipt follows)', () => {
    const renamed = message(1, {
      senderId: null,
      clientMsgId: null,
      body: '',
      system: { kind: 'renamed', actorId: 'bob', userIds: [], title: 'New' },
    });
    const byMe = message(2, {
      senderId: null,
      clientMsgId: null,
      body: '',
      system: { kind: 'renamed', actorId: 'me', userIds: [], title: 'Newer' },
    });
    const state = run([...start, { type: 'message', message: renamed }]);
    expect(state.conversations.c1!.members.find((m) => m.user.id === 'bob')).toMatchObject({
      readSeq: 1,
      deliveredSeq: 1,
    });
    expect(state.conversations.c1!.unreadCount).toBe(1);
    const mine = run([{ type: 'message', message: byMe }], state);
    expect(mine.conversations.c1).toMatchObject({ readSeq: 2, unreadCount: 0 });
  });

  it('a conversation snapshot never moves positions back', () => {
    const state = run([
      ...start,
      { type: 'message', message: message(1) },
      { type: 'message', message: message(2) },
      { type: 'receipt', conversationId: 'c1', userId: 'me', kind: 'read', seq: 2 },
      // A rename snapshot computed before message 2.
      {
        type: 'conversation',
        conversation: conversation({
          title: 'Renamed',
          lastSeq: 1,
          lastMessage: message(1),
          unreadCount: 1,
        }),
      },
    ]);
    expect(state.conversations.c1).toMatchObject({
      title: 'Renamed',
      lastSeq: 2,
      readSeq: 2,
      unreadCount: 0,
    });
    expect(state.conversations.c1!.lastMessage?.seq).toBe(2);
  });

  it('updates held messages and the last message; never inserts an edit of an unheld one', () => {
    let state = run([
      ...start,
      { type: 'message', message: message(1) },
      { type: 'message', message: message(2) },
    ]);
    state = reduce(state, {
      type: 'message.updated',
      message: message(2, { body: 'edited', editedAt: t(9) }),
    });
    expect(state.timelines.c1!.messages[1]!.body).toBe('edited');
    expect(state.conversations.c1!.lastMessage?.body).toBe('edited');
    const unheld = reduce(state, { type: 'message.updated', message: message(7, { body: 'x' }) });
    expect(unheld).toBe(state);
  });

  it('keeps held messages contiguous: nothing lands below the window with a hole', () => {
    const timeline = addMessages(emptyTimeline(50), [message(51), message(52)]);
    expect(addMessages(timeline, [message(10)])).toBe(timeline);
    const paged = addMessages(
      timeline,
      [48, 49, 50].map((s) => message(s)),
    );
    expect(paged.messages.map((m) => m.seq)).toEqual([48, 49, 50, 51, 52]);
    // A hole above the cursor is held, but the cursor waits for it to close.
    const gap = addMessages(paged, [message(55)]);
    expect(gap.cursor).toBe(52);
    expect(addMessages(gap, [message(53), message(54)]).cursor).toBe(55);
  });

  it('expires typing, ignores our own, and clears a typer when their message arrives', () => {
    let state = run([
      ...start,
      { type: 'typing', conversationId: 'c1', userId: 'bob', expiresAt: 5_000 },
      { type: 'typing', conversationId: 'c1', userId: 'me', expiresAt: 5_000 },
    ]);
    expect(state.typing).toEqual({ c1: { bob: 5_000 } });
    expect(reduce(state, { type: 'typing.expire', now: 4_999 })).toBe(state);
    expect(reduce(state, { type: 'typing.expire', now: 5_000 }).typing).toEqual({});
    state = reduce(state, { type: 'message', message: message(1) });
    expect(state.typing).toEqual({ c1: {} });
  });

  it('conversation.removed forgets everything about it', () => {
    const state = run([
      ...start,
      { type: 'message', message: message(1) },
      { type: 'typing', conversationId: 'c1', userId: 'bob', expiresAt: 5_000 },
      { type: 'conversation.removed', conversationId: 'c1' },
    ]);
    expect(state).toMatchObject({
      conversations: {},
      timelines: {},
      typing: {},
      unreadBase: {},
      conversationOrder: [],
    });
  });

  it('sign-out resets to the initial state', () => {
    const state = run([...start, { type: 'session', status: 'signedOut', user: null }]);
    expect(state).toEqual({ ...initialState, session: 'signedOut' });
  });

  describe('group changes', () => {
    const ann = { id: 'ann', username: 'ann', displayName: 'Ann' };
    const cid = { id: 'cid', username: 'cid', displayName: 'Cid' };
    const member = (user: typeof me, role: 'admin' | 'member' = 'member') => ({
      user,
      role,
      readSeq: 0,
      deliveredSeq: 0,
    });
    const group = (overrides: Partial<Conversation> = {}) =>
      conversation({
        kind: 'group',
        title: 'Crew',
        members: [member(me, 'admin'), member(bob)],
        memberCount: 2,
        membersVersion: 3,
        ...overrides,
      });
    type Change = Extract<StateEvent, { type: 'conversation.changed' }>['change'];
    const change = (overrides: Partial<Change> = {}): StateEvent => ({
      type: 'conversation.changed',
      change: {
        type: 'conversation.changed',
        conversationId: 'c1',
        membersVersion: 4,
        memberCount: 2,
        added: [],
        removed: [],
        roles: [],
        ...overrides,
      },
    });
    const load = (c: Conversation): StateEvent => ({
      type: 'conversations.loaded',
      conversations: [c],
    });
    const session: StateEvent = { type: 'session', status: 'signedIn', user: me };

    it('applies a delta: added at the end, removed, roles, title, count and version', () => {
      const state = run([
        session,
        load(group()),
        change({
          membersVersion: 4,
          memberCount: 3,
          title: 'New crew',
          added: [member(ann), member(cid)],
          removed: ['bob'],
          roles: [{ userId: 'ann', role: 'admin' }],
        }),
      ]);
      expect(state.conversations.c1).toMatchObject({
        title: 'New crew',
        memberCount: 3,
        membersVersion: 4,
        members: [member(me, 'admin'), member(ann), member(cid)],
      });
      // A delta older than what is known changes nothing.
      const stale = run([change({ membersVersion: 2, removed: ['me'] })], state);
      expect(stale).toBe(state);
    });

    it('keeps the full member list when a list entry (a preview) of the same version arrives', () => {
      const many = [member(me, 'admin'), member(bob), member(ann), member(cid)];
      const full = group({ members: many, memberCount: 4 });
      const preview = group({ members: many.slice(0, 2), memberCount: 4, title: 'Renamed' });
      const state = run([session, load(full), load(preview)]);
      expect(state.conversations.c1).toMatchObject({ title: 'Renamed', members: many });
      // A newer version replaces it: the preview is then all that is known.
      const newer = run([load({ ...preview, membersVersion: 4 })], state);
      expect(newer.conversations.c1!.members).toEqual(many.slice(0, 2));
      // Members fetched on demand fill it in again.
      const filled = run(
        [
          {
            type: 'members',
            conversationId: 'c1',
            members: many,
            memberCount: 4,
            membersVersion: 4,
          },
        ],
        newer,
      );
      expect(filled.conversations.c1!.members).toEqual(many);
    });
  });
});
