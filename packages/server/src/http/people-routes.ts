/** The caller's profile, user search, contacts and blocks. */
import type { FastifyInstance } from 'fastify';
import {
  addContactBody,
  blockBody,
  LetterError,
  limits,
  parseOrThrow,
  patchMeBody,
  usersQuery,
  type User,
} from '@letter/protocol';
import { iso } from '../util/clock.js';
import { accountRoutes } from './account-routes.js';
import { authenticate, noContent, type RouteContext } from './context.js';

const publicUser = (user: User): User => ({
  id: user.id,
  username: user.username,
  displayName: user.displayName,
});

export function peopleRoutes(app: FastifyInstance, context: RouteContext): void {
  const { store, presence, clock } = context;

  app.get('/api/me', async (request) => {
    const { userId } = await authenticate(context, request);
    const user = await store.getUser(userId);
    if (!user) throw new LetterError('unauthorized');
    return { user: publicUser(user) };
  });

  app.patch('/api/me', async (request) => {
    const { userId } = await authenticate(context, request);
    const body = parseOrThrow(patchMeBody, request.body);
    return { user: await store.updateDisplayName(userId, body.displayName) };
  });

  app.get('/api/users', async (request) => {
    const { userId } = await authenticate(context, request);
    const { query } = parseOrThrow(usersQuery, request.query);
    const prefix = query.trim().toLowerCase();
    // An empty prefix would list everyone: answer nothing rather than enumerate the server.
    if (!prefix) return { users: [] };
    return { users: await store.searchUsers(prefix, limits.userSearchMax, userId) };
  });

  // Extension: names the sender of a message whose author left the group or deleted the
  // account (then displayName is "Deleted account"). Ids are unguessable and only learned from
  // shared conversations, so this reveals no more than a display name.
  app.get<{ Params: { id: string } }>('/api/users/:id', async (request) => {
    await authenticate(context, request);
    const user = await store.getUser(request.params.id);
    if (!user) throw new LetterError('not_found', 'No such user.');
    return { user: publicUser(user) };
  });

  app.get('/api/contacts', async (request) => {
    const { userId } = await authenticate(context, request);
    const contacts = await store.listContacts(userId);
    return {
      contacts: contacts.map((contact) => ({
        user: contact.user,
        online: contact.presenceVisible && presence.isOnline(contact.user.id),
        lastSeenAt: contact.lastSeenAt,
      })),
    };
  });

  app.post('/api/contacts', async (request, reply) => {
    const { userId } = await authenticate(context, request);
    const body = parseOrThrow(addContactBody, request.body);
    const target = await store.getUserByUsername(body.username.trim().toLowerCase());
    if (!target) throw new LetterError('not_found', 'No user with that username.');
    if (target.id === userId) throw new LetterError('bad_request', 'You cannot add yourself.');
    const created = await store.addContact(userId, target.id, clock.now());
    // Added back: from now on each may see the other's presence, so each hears it now.
    if (created) await context.chat.revealPresence(userId, target.id);
    // Adding someone is no way to watch them: until the rule allows it (they added you back,
    // or you share a conversation), the answer is the one for someone never seen.
    const visible = await store.canSeePresence(userId, target.id);
    const contact = {
      user: publicUser(target),
      online: visible && presence.isOnline(target.id),
      lastSeenAt: visible && target.lastSeenAt !== null ? iso(target.lastSeenAt) : null,
    };
    return reply.code(created ? 201 : 200).send({ contact });
  });

  app.delete<{ Params: { userId: string } }>('/api/contacts/:userId', async (request, reply) => {
    const { userId } = await authenticate(context, request);
    await store.removeContact(userId, request.params.userId);
    return noContent(reply);
  });

  app.get('/api/blocks', async (request) => {
    const { userId } = await authenticate(context, request);
    return { users: await store.listBlocked(userId) };
  });

  app.post('/api/blocks', async (request, reply) => {
    const { userId } = await authenticate(context, request);
    const body = parseOrThrow(blockBody, request.body);
    if (body.userId === userId) throw new LetterError('bad_request', 'You cannot block yourself.');
    if (!(await store.getUser(body.userId))) throw new LetterError('not_found', 'No such user.');
    await store.block(userId, body.userId, clock.now());
    return noContent(reply);
  });

  app.delete<{ Params: { userId: string } }>('/api/blocks/:userId', async (request, reply) => {
    const { userId } = await authenticate(context, request);
    await store.unblock(userId, request.params.userId);
    if (await store.getUser(request.params.userId))
      await context.chat.revealPresence(userId, request.params.userId);
    return noContent(reply);
  });

  accountRoutes(app, context);
}
