/** The caller's data: export it, or delete the account. */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { deleteMeBody, parseOrThrow } from '@letter/protocol';
import { authenticate, limit, noContent, type RouteContext } from './context.js';

export function accountRoutes(app: FastifyInstance, context: RouteContext): void {
  const { auth, chat } = context;

  app.get('/api/me/export', async (request, reply) => {
    const { userId } = await authenticate(context, request);
    const { username, chunks } = await chat.accounts.export(userId);
    // Usernames are [a-z0-9_.], so the name needs no quoting beyond the quotes.
    reply.header('content-disposition', `attachment; filename="letter-export-${username}.json"`);
    reply.type('application/json; charset=utf-8');
    // Streamed (chunked): a page is read from the store when the client took the one before.
    // Should a read fail midway, the connection is cut and the client holds invalid JSON,
    // never a document that looks complete.
    // Bytes, not objects: the stream then asks for the next page once less than its
    // highWaterMark (16 KiB) is buffered, instead of holding up to 16 pages ahead.
    return reply.send(Readable.from(chunks, { objectMode: false }));
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
