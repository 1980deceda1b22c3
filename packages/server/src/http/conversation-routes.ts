/**
 * Conversations and messages over REST.
 *
 * Architecture Invariant: every route that takes a conversation id answers 404 to non-members,
 * through `chat.requireMember` or a store read that returns null for them.
 */
import type { FastifyInstance } from 'fastify';
import {
  conversationsQuery,
  createConversationBody,
  historyQuery,
  LetterError,
  parseOrThrow,
  readBody,
  sendMessageBody,
} from '@letter/protocol';
import { authenticate, noContent, type RouteContext } from './context.js';
import { decodeCursor, encodeCursor } from './conversation-cursor.js';
import { groupRoutes } from './group-routes.js';
import { messageRoutes } from './message-routes.js';
import { pageJson } from '../util/message-json.js';

/** What Fastify sends an object as. */
const JSON_TYPE = 'application/json; charset=utf-8';

type WithId = { Params: { id: string } };

export function conversationRoutes(app: FastifyInstance, context: RouteContext): void {
  const { store, chat, files } = context;

  app.get('/api/conversations', async (request) => {
    const { userId } = await authenticate(context, request);
    const { limit, cursor } = parseOrThrow(conversationsQuery, request.query);
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    // One more than the page tells whether another page follows.
    const found = await store.listConversations(userId, { limit: limit + 1, after });
    const conversations = found.slice(0, limit);
    const last = conversations.at(-1);
    const nextCursor = found.length > limit && last ? encodeCursor(last) : null;
    return {
      conversations: conversations.map((c) => files.signConversation(c, userId)),
      nextCursor,
    };
  });

  app.post('/api/conversations', async (request, reply) => {
    const { userId } = await authenticate(context, request);
    const body = parseOrThrow(createConversationBody, request.body);
    if (body.kind === 'direct') {
      const { conversation, created } = await chat.openDirect(userId, body.userId);
      return reply
        .code(created ? 201 : 200)
        .send({ conversation: files.signConversation(conversation, userId) });
    }
    const conversation = await chat.createGroup(userId, body.title, body.memberIds);
    return reply.code(201).send({ conversation });
  });

  app.get<WithId>('/api/conversations/:id', async (request) => {
    const { userId } = await authenticate(context, request);
    const conversation = await store.getConversation(request.params.id, userId);
    if (!conversation) throw new LetterError('not_found');
    return { conversation: files.signConversation(conversation, userId) };
  });

  app.get<WithId>('/api/conversations/:id/messages', async (request, reply) => {
    const { userId } = await authenticate(context, request);
    const range = parseOrThrow(historyQuery, request.query);
    const page = await store.history(request.params.id, userId, range);
    if (!page) throw new LetterError('not_found');
    // Made by the store already, and nothing in it to sign: sent as it is (the same bytes as
    // below; test/history-json.test.ts).
    const json = pageJson(page);
    if (json !== undefined) return reply.type(JSON_TYPE).send(json);
    return {
      messages: page.messages.map((message) => files.signMessage(message, userId)),
      hasMore: page.hasMore,
    };
  });

  app.post<WithId>('/api/conversations/:id/messages', async (request, reply) => {
    const { userId } = await authenticate(context, request);
    const body = parseOrThrow(sendMessageBody, request.body);
    const { message, created } = await chat.send(userId, {
      ...body,
      conversationId: request.params.id,
    });
    return reply.code(created ? 201 : 200).send({ message });
  });

  app.post<WithId>('/api/conversations/:id/read', async (request, reply) => {
    const { userId } = await authenticate(context, request);
    const body = parseOrThrow(readBody, request.body);
    await chat.advance(userId, request.params.id, 'read', body.seq);
    return noContent(reply);
  });

  groupRoutes(app, context);
  messageRoutes(app, context);
}
