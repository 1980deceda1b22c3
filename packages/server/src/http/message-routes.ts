/**
 * Message actions (edit, delete for everyone, reactions), receipts and search over REST.
 * Non-members and seqs from before the caller joined get 404, as if they did not exist.
 */
import type { FastifyInstance } from 'fastify';
import {
  editMessageBody,
  messageParams,
  parseOrThrow,
  reactionBody,
  searchQuery,
} from '@letter/protocol';
import { authenticate, noContent, type RouteContext } from './context.js';

type WithSeq = { Params: { id: string; seq: string } };

export function messageRoutes(app: FastifyInstance, context: RouteContext): void {
  const { messages } = context.chat;
  const seqOf = (params: { seq: string }) => parseOrThrow(messageParams, params).seq;

  app.patch<WithSeq>('/api/conversations/:id/messages/:seq', async (request) => {
    const { userId } = await authenticate(context, request);
    const seq = seqOf(request.params);
    const { body } = parseOrThrow(editMessageBody, request.body);
    return { message: await messages.edit(userId, request.params.id, seq, body) };
  });

  app.delete<WithSeq>('/api/conversations/:id/messages/:seq', async (request, reply) => {
    const { userId } = await authenticate(context, request);
    await messages.delete(userId, request.params.id, seqOf(request.params));
    return noContent(reply);
  });

  app.put<WithSeq>('/api/conversations/:id/messages/:seq/reactions', async (request) => {
    const { userId } = await authenticate(context, request);
    const seq = seqOf(request.params);
    const { emoji } = parseOrThrow(reactionBody, request.body);
    return { message: await messages.react(userId, request.params.id, seq, emoji) };
  });

  app.delete<WithSeq>('/api/conversations/:id/messages/:seq/reactions', async (request) => {
    const { userId } = await authenticate(context, request);
    return { message: await messages.unreact(userId, request.params.id, seqOf(request.params)) };
  });

  app.get<WithSeq>('/api/conversations/:id/messages/:seq/receipts', async (request) => {
    const { userId } = await authenticate(context, request);
    return { receipts: await messages.receipts(userId, request.params.id, seqOf(request.params)) };
  });

  app.get('/api/search', async (request) => {
    const { userId } = await authenticate(context, request);
    const query = parseOrThrow(searchQuery, request.query);
    return { results: await messages.search(userId, query) };
  });
}
