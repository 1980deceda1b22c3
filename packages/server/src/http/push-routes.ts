/** Web Push: the server's VAPID key and the calling session's subscriptions (README, Notifications). */
import type { FastifyInstance } from 'fastify';
import {
  LetterError,
  parseOrThrow,
  pushSettingsBody,
  pushSubscribeBody,
  pushUnsubscribeBody,
} from '@letter/protocol';
import { checkEndpoint, EndpointRefused } from '../push/endpoint-guard.js';
import { authenticate, noContent, type RouteContext } from './context.js';

export function pushRoutes(
  app: FastifyInstance,
  context: RouteContext,
  push: { publicKey: string; allowed: (url: URL) => boolean },
): void {
  const { store, clock } = context;

  app.get('/api/push/key', async (request) => {
    await authenticate(context, request);
    return { publicKey: push.publicKey };
  });

  app.post('/api/push/subscriptions', async (request, reply) => {
    const { userId, sessionId } = await authenticate(context, request);
    const body = parseOrThrow(pushSubscribeBody, request.body);
    // The SSRF rule, now and again before every send (the host's addresses may change).
    try {
      await checkEndpoint(body.endpoint, push.allowed);
    } catch (error) {
      if (error instanceof EndpointRefused)
        throw new LetterError(
          'bad_request',
          'The push endpoint must be an https URL on a public address.',
        );
      throw error;
    }
    const stored = await store.addPushSubscription(
      {
        endpoint: body.endpoint,
        sessionId,
        userId,
        p256dh: body.keys.p256dh,
        auth: body.keys.auth,
      },
      clock.now(),
    );
    if (!stored) throw new LetterError('unauthorized');
    return reply.code(201).send({});
  });

  app.get('/api/push/settings', async (request) => {
    const { userId } = await authenticate(context, request);
    return { settings: { preview: await store.pushPreview(userId) } };
  });

  app.patch('/api/push/settings', async (request) => {
    const { userId } = await authenticate(context, request);
    const { preview } = parseOrThrow(pushSettingsBody, request.body);
    await store.setPushPreview(userId, preview);
    return { settings: { preview } };
  });

  app.delete('/api/push/subscriptions', async (request, reply) => {
    const { sessionId } = await authenticate(context, request);
    const body = parseOrThrow(pushUnsubscribeBody, request.body);
    await store.removePushSubscription(sessionId, body.endpoint);
    return noContent(reply);
  });
}
