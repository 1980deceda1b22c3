/**
 * LETTER_ALLOWED_HOSTS against DNS rebinding: a page on attacker.example whose name is made to
 * resolve to 127.0.0.1 reaches a local Letter as same-origin, but its requests still carry
 * `Host: attacker.example`. With the list set, only listed names are served (REST, static
 * files and the WebSocket handshake alike).
 */
import type { FastifyInstance } from 'fastify';
import { LetterError } from '@letter/protocol';

/**
 * Entries are host names (any port: `localhost`) or `name:port` (that port only), IPv6 in
 * brackets (`[::1]`). Null when the list is empty: every Host is served.
 */
export function hostMatcher(allowed: string[]): ((host: string | undefined) => boolean) | null {
  if (allowed.length === 0) return null;
  const entries = new Set(allowed.map((entry) => entry.trim().toLowerCase()).filter(Boolean));
  return (host) => {
    if (!host) return false;
    const value = host.trim().toLowerCase();
    return entries.has(value) || entries.has(hostnameOf(value));
  };
}

/** `name:port` → `name`; `[v6]:port` → `[v6]`. */
function hostnameOf(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const colon = host.lastIndexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}

export const hostRefusal = (host: string | undefined): LetterError =>
  new LetterError(
    'bad_request',
    `This server does not answer to the host name ${JSON.stringify((host ?? '').slice(0, 100))} (LETTER_ALLOWED_HOSTS).`,
  );

/** Refuses REST and static requests whose Host is not listed, before any route runs. */
export function installHostCheck(
  app: FastifyInstance,
  allowed: ((host: string | undefined) => boolean) | null,
): void {
  if (!allowed) return;
  app.addHook('onRequest', async (request) => {
    if (!allowed(request.headers.host)) throw hostRefusal(request.headers.host);
  });
}
