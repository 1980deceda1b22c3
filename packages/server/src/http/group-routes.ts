/**
 * Group management and the caller's own conversation settings over REST.
 *
 * Architecture Invariant (as for every conversation route): a non-member gets 404, decided by
 * the store inside the transaction that would write; a member without the right gets 403.
 */
import type { FastifyInstance } from 'fastify';
import {
  addMembersBody,
  conversationSettingsBody,
  parseOrThrow,
  patchConversationBody,
  patchMemberBody,
  type Conversation,
} from '@letter/protocol';
import { authenticate, noContent, type RouteContext } from './context.js';

type WithId = { Params: { id: string } };
type WithMember = { Params: { id: string; userId: string } };

export function groupRoutes(app: FastifyInstance, context: RouteContext): void {
  const { groups } = context.chat;
  // A view's lastMessage carries its files signed for the caller.
  const own = (userId: string, conversation: Conversation) => ({
    conversation: context.files.signConversation(conversation, userId),
  });

  app.patch<WithId>('/api/conversations/:id', async (request) => {
    const { userId } = await authenticate(context, request);
    const { title } = parseOrThrow(patchConversationBody, request.body);
    return own(userId, await groups.rename(userId, request.params.id, title));
  });

  app.get<WithId>('/api/conversations/:id/members', async (request) => {
    const { userId } = await authenticate(context, request);
    return groups.members(userId, request.params.id);
  });

  app.post<WithId>('/api/conversations/:id/members', async (request) => {
    const { userId } = await authenticate(context, request);
    const { userIds } = parseOrThrow(addMembersBody, request.body);
    return own(userId, await groups.addMembers(userId, request.params.id, userIds));
  });

  app.delete<WithMember>('/api/conversations/:id/members/:userId', async (request, reply) => {
    const { userId } = await authenticate(context, request);
    await groups.removeMember(userId, request.params.id, request.params.userId);
    return noContent(reply);
  });

  app.patch<WithMember>('/api/conversations/:id/members/:userId', async (request) => {
    const { userId } = await authenticate(context, request);
    const { role } = parseOrThrow(patchMemberBody, request.body);
    const { id, userId: memberId } = request.params;
    return own(userId, await groups.setRole(userId, id, memberId, role));
  });

  app.patch<WithId>('/api/conversations/:id/settings', async (request) => {
    const { userId } = await authenticate(context, request);
    const settings = parseOrThrow(conversationSettingsBody, request.body);
    return own(userId, await groups.updateSettings(userId, request.params.id, settings));
  });
}
