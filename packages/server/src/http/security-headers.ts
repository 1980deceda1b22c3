/**
 * Helmet's security headers on every answer, with Letter's Content-Security-Policy.
 *
 * helmet's middleware is built once, here. @fastify/helmet (which wraps the same helmet) builds
 * it again for every request, parsing and checking the CSP's directives each time: 4.9 % of the
 * main thread's samples per history page (docs/performance.md, round four), ~10–25 µs a request
 * (round five). None of Letter's headers depends on the request (no nonces), and no route asks
 * for other ones, so nothing of that plugin is lost.
 */
import type { FastifyInstance } from 'fastify';
import helmet from 'helmet';

/** The CSP of the web app and of every API answer. */
export const contentSecurityPolicy = {
  directives: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    // Attachments: signed same-origin URLs; data: for ThumbHash placeholders, blob: for
    // previews of files and voice notes not yet sent.
    imgSrc: ["'self'", 'data:', 'blob:'],
    mediaSrc: ["'self'", 'blob:'],
    connectSrc: ["'self'"],
    // The installable app: its service worker (/sw.js) and manifest, from this origin only.
    workerSrc: ["'self'"],
    manifestSrc: ["'self'"],
    objectSrc: ["'none'"],
    frameAncestors: ["'none'"],
    baseUri: ["'self'"],
    formAction: ["'self'"],
    // Helmet adds upgrade-insecure-requests by default, which makes a browser fetch the app's
    // own scripts over https when Letter is served over plain http on a LAN address.
    upgradeInsecureRequests: null,
  },
};

export function installSecurityHeaders(app: FastifyInstance): void {
  const apply = helmet({ contentSecurityPolicy });
  app.addHook('onRequest', (request, reply, done) => {
    apply(request.raw, reply.raw, (error?: unknown) => done(error as Error | undefined));
  });
}
