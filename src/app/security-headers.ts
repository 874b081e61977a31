/**
 * Security headers on every response (@fastify/helmet). The CSP allows only this origin's
 * scripts, styles and connections (the dashboard ships its assets; nothing loads from the
 * internet) plus data: images. /docs sets its own, hash-based CSP (swagger-ui's staticCSP),
 * which replaces this one on its pages.
 */
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

export async function registerSecurityHeaders(app: FastifyInstance): Promise<void> {
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        scriptSrcAttr: ["'none'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        // No upgrade-insecure-requests: the service is often reached over plain HTTP on a
        // private network, where upgrading its own assets to https would break the pages.
      },
    },
    // Cross-origin isolation would stop nothing here and breaks opening JSON in another tab.
    crossOriginEmbedderPolicy: false,
  });
}
