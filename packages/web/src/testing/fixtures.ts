/** Small builders for component tests: protocol shapes with sensible defaults. */
import type { Conversation, Member, Message, User } from '@letter/protocol';
import type { ChatMessage } from '../app/model';

export const alice: User = { id: 'u-alice', username: 'alice', displayName: 'Alice Adams' };
export const bob: User = { id: 'u-bob', username: 'bob', displayName: 'Bob Brown' };
export const carol: User = { id: 'u-carol', username: 'carol', displayName: 'Carol Chen' };

export function member(user: User, readSeq = 0, deliveredSeq = readSeq): Member {
  return { user, role: 'member', readSeq, deliveredSeq };
}

export function message(seq: number, senderId: string, body: string, createdAt: string): Message {
  return {
    id: `m-${seq}`,
    conversationId: 'c-1',
    seq,
    senderId,
    clientMsgId: `cm-${seq}`,
    body,
    createdAt,
    editedAt: null,
    deletedAt: null,
    replyToSeq: null,
    attachments: [],
    reactions: {},
  };
}

export function chatMessage(
  seq: number | null,
  senderId: string,
  body: string,
  createdAt: string,
  extra: Partial<ChatMessage> = {},
): ChatMessage {
  return {
    key: `k-${seq ?? body}`,
    seq,
    senderId,
    body,
    createdAt,
    editedAt: null,
    deletedAt: null,
    ...extra,
  };
}

export function conversation(overrides: Partial<Conversation> = {}): Conversation {
  // Built through a variable and a cast so the fixture keeps compiling while the protocol
  // grows optional-to-the-app extension fields (firstSeq, muted, archived).
  const base = {
    id: 'c-1',
    kind: 'direct',
    title: bob.displayName,
    members: [member(alice), member(bob)],
    lastMessage: null,
    lastSeq: 0,
    readSeq: 0,
    unreadCount: 0,
    createdAt: '2026-01-01T08:00:00.000Z',
    lastActivityAt: '2026-01-01T08:00:00.000Z',
    firstSeq: 1,
    muted: false,
    archived: false,
  };
  const members = overrides.members ?? base.members;
  return { ...base, memberCount: members.length, membersVersion: 0, ...overrides } as Conversation;
}
