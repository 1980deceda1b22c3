/** FakeServer's message actions, settings and account routes (issue 6), kept apart by size. */
import type { Message, Receipt, SearchResult } from '@letter/protocol';
import type { FakeConversation, FakeServer } from './fake-server.js';

export class FakeHttpError extends Error {
  constructor(readonly code: 'forbidden' | 'not_found' | 'bad_request' | 'invalid_credentials') {
    super(code);
  }
}

function target(server: FakeServer, actorId: string, conversationId: string, seq: number) {
  const conversation = server.require(conversationId, actorId);
  const from = server.member(conversation, actorId)?.firstSeq ?? 1;
  const message = conversation.messages[seq - 1];
  if (!message || seq < from) throw new FakeHttpError('not_found');
  return { conversation, message };
}

function replace(server: FakeServer, conversation: FakeConversation, message: Message): Message {
  conversation.messages[message.seq - 1] = message;
  server.broadcast(conversation, { type: 'message.updated', message });
  return message;
}

export function fakeDelete(server: FakeServer, actorId: string, id: string, seq: number): void {
  const { conversation, message } = target(server, actorId, id, seq);
  const admin =
    conversation.kind === 'group' && server.member(conversation, actorId)?.role === 'admin';
  if (message.senderId === null || (message.senderId !== actorId && !admin)) {
    throw new FakeHttpError('forbidden');
  }
  if (message.deletedAt !== null) return;
  replace(server, conversation, { ...message, body: '', reactions: {}, deletedAt: server.iso() });
}

export function fakeReact(
  server: FakeServer,
  actorId: string,
  id: string,
  seq: number,
  emoji: string | null,
): Message {
  const { conversation, message } = target(server, actorId, id, seq);
  if (message.senderId === null || message.deletedAt !== null) throw new FakeHttpError('forbidden');
  const reactions: Record<string, string[]> = {};
  for (const [key, users] of Object.entries(message.reactions)) {
    const kept = users.filter((u) => u !== actorId);
    if (kept.length > 0) reactions[key] = kept;
  }
  if (emoji) reactions[emoji] = [...(reactions[emoji] ?? []), actorId];
  return replace(server, conversation, { ...message, reactions });
}

/** Positions only (the fake keeps no times): a reached position answers the message's time. */
export function fakeReceipts(
  server: FakeServer,
  actorId: string,
  id: string,
  seq: number,
): Receipt[] {
  const { conversation, message } = target(server, actorId, id, seq);
  return conversation.members
    .filter((m) => m.userId !== message.senderId && (m.firstSeq ?? 1) <= seq)
    .map((m) => ({
      userId: m.userId,
      deliveredAt: m.deliveredSeq >= seq ? message.createdAt : null,
      readAt: m.readSeq >= seq ? message.createdAt : null,
    }));
}

/** Case-insensitive substring search over the caller's visible, live messages. */
export function fakeSearch(
  server: FakeServer,
  actorId: string,
  q: string,
  conversationId: string | null,
  limit: number,
): SearchResult[] {
  const needle = q.toLowerCase();
  const results: SearchResult[] = [];
  for (const conversation of server.conversations.values()) {
    const member = server.member(conversation, actorId);
    if (!member || (conversationId !== null && conversation.id !== conversationId)) continue;
    for (const message of conversation.messages) {
      if (message.seq < (member.firstSeq ?? 1) || message.deletedAt || message.system) continue;
      const start = message.body.toLowerCase().indexOf(needle);
      if (start < 0) continue;
      results.push({
        message,
        conversationId: conversation.id,
        snippet: message.body,
        highlights: [{ start, length: needle.length }],
      });
    }
  }
  return results.reverse().slice(0, limit);
}

export function fakeSettings(
  server: FakeServer,
  actorId: string,
  id: string,
  settings: { muted?: unknown; archived?: unknown },
): void {
  const member = server.member(server.require(id, actorId), actorId)!;
  if (typeof settings.muted !== 'boolean' && typeof settings.archived !== 'boolean') {
    throw new FakeHttpError('bad_request');
  }
  if (typeof settings.muted === 'boolean') member.muted = settings.muted;
  if (typeof settings.archived === 'boolean') member.archived = settings.archived;
  const conversation = server.view(id, actorId);
  server.toUser(actorId, { type: 'conversation', conversation });
}

export function fakeExport(server: FakeServer, userId: string): Record<string, unknown> {
  const messages: Message[] = [];
  for (const conversation of server.conversations.values()) {
    if (!server.member(conversation, userId)) continue;
    messages.push(
      ...conversation.messages.filter((m) => m.senderId === userId && m.deletedAt === null),
    );
  }
  return {
    format: 'letter-export/1',
    exportedAt: server.iso(),
    user: { ...server.user(userId), createdAt: server.iso() },
    contacts: [],
    blocks: [],
    conversations: server.list(userId),
    messages,
  };
}

/** Deletes the account: sessions revoked (sockets 4401), groups left, the name tombstoned. */
export function fakeDeleteMe(server: FakeServer, userId: string, password: unknown): void {
  const entry = server.users.get(userId)!;
  if (entry.password !== password) throw new FakeHttpError('invalid_credentials');
  for (const conversation of [...server.conversations.values()]) {
    if (conversation.kind === 'group' && server.member(conversation, userId)) {
      server.removeMember(userId, conversation.id, userId);
    }
  }
  entry.user.displayName = 'Deleted account';
  entry.user.username = `deleted~${userId}`;
  entry.password = '\u0000';
  for (const session of server.sessions.values()) {
    if (session.userId === userId) server.revokeSession(session.id);
  }
}

/**
 * A group change as the server tells it: the full view to those it added, one
 * `conversation.changed` delta to everyone else.
 */
export function fakeAnnounceChange(
  server: FakeServer,
  conversation: FakeConversation,
  change: { added?: string[]; removed?: string[]; title?: string },
): void {
  const added = new Set(change.added ?? []);
  if (added.size > 0 || (change.removed ?? []).length > 0) {
    conversation.membersVersion = (conversation.membersVersion ?? 0) + 1;
  }
  const any = conversation.members[0];
  const view = any ? server.view(conversation.id, any.userId)! : null;
  const frame = {
    type: 'conversation.changed',
    conversationId: conversation.id,
    membersVersion: conversation.membersVersion ?? 0,
    memberCount: conversation.members.length,
    ...(change.title !== undefined && { title: change.title }),
    added: (view?.members ?? []).filter((m) => added.has(m.user.id)),
    removed: change.removed ?? [],
    roles: [],
  };
  for (const member of conversation.members) {
    if (added.has(member.userId)) {
      const own = server.view(conversation.id, member.userId);
      if (own) server.toUser(member.userId, { type: 'conversation', conversation: own });
    } else {
      server.toUser(member.userId, frame);
    }
  }
}
