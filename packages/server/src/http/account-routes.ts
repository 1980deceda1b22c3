/** The caller's data: export it, or delete the account. */
import type { FastifyInstance } from 'fastify';
import { deleteMeBody, parseOrThrow } from '@letter/protocol';
import { authenticate, limit, noContent, type RouteContext } from './context.js';

export function accountRoutes(app: FastifyInstance, context: RouteContext): void {
  const { auth, chat } = context;

  app.get('/api/me/export', async (request, reply) => {
    const { userId } = await authenticate(context, request);
    const document = await chat.accounts.export(userId);
    // Usernames are [a-z0-9_.], so the name needs no quoting beyond the quotes.
    reply.header(
      'content-disposition',
      `attachment; filename="letter-export-${document.user.username}.json"`,
    );
    return document;
  });

  app.delete('/api/me', async (request, reply) => {
    const claims = await authenticate(context, request);
    const { password } = parseOrThrow(deleteMeBody, request.body);
    // Password guessing through this route costs what it costs through login.
    limit(context.limiters.loginByName, `user:${claims.userId}`);
    await auth.checkPassword(claims.userId, password);
    await chat.accounts.delete(claims.userId, (sessionIds) => auth.sessionsEnded(sessionIds));
    return noContent(reply);
  });
}
