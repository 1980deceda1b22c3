import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthService } from '../auth/service.js';
import type { AccessClaims } from '../auth/tokens.js';
import type { ChatService } from '../services/chat.js';
import type { FileService } from '../files/service.js';
import type { Presence } from '../presence/presence.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../util/clock.js';
import type { RateLimiter } from '../util/rate.js';
import type { Config } from '../config.js';
import { LetterError } from '@letter/protocol';

/** What route modules get from the composition root. */
export interface RouteContext {
  config: Config;
  store: Store;
  auth: AuthService;
  chat: ChatService;
  /** Uploads, downloads, and attachment URLs signed per viewer for every answer that has messages. */
  files: FileService;
  presence: Presence;
  clock: Clock;
  limiters: {
    loginByIp: RateLimiter;
    loginByName: RateLimiter;
    registerByIp: RateLimiter;
    uploadByUser: RateLimiter;
  };
}

export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  return /^Bearer (.+)$/i.exec(header)?.[1];
}

/** The caller's claims, or `unauthorized`. */
export function authenticate(
  context: RouteContext,
  request: FastifyRequest,
): Promise<AccessClaims> {
  return context.auth.authenticate(bearerToken(request));
}

export function limit(limiter: RateLimiter, key: string): void {
  const retryAfter = limiter.take(key);
  if (retryAfter > 0)
    throw new LetterError('rate_limited', 'Too many attempts; try again later.', retryAfter);
}

export function noContent(reply: FastifyReply): FastifyReply {
  return reply.code(204).send();
}
