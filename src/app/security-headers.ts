/**
 * Security headers on every response (helmet; see docs/decisions/0003-security-headers.md). The CSP allows only this origin's
 * scripts, styles and connections (the dashboard ships its assets; nothing loads from the
 * internet) plus data: images. /docs sets its own, hash-based CSP (swagger-ui's staticCSP),
 * which replaces this one on its pages.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';

const options: HelmetOptions = {
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
};

/**
 * Helmet's headers, computed once by helmet itself: none of them varies by request, and
 * running helmet per request (as @fastify/helmet does) rebuilt the CSP string every time.
 */
export function securityHeaders(opts: HelmetOptions = options): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {};
  const res = {
    setHeader: (name: string, value: string | number | readonly string[]) => void (headers[name.toLowerCase()] = String(value)),
    removeHeader: (name: string) => void delete headers[name.toLowerCase()],
  };
  helmet(opts)({} as IncomingMessage, res as unknown as ServerResponse, () => undefined);
  return Object.freeze(headers);
}

/**
 * Under /api/ every answer is JSON (or NDJSON, SSE) that no browser renders as a document,
 * so the document-only headers (cross-origin-opener-policy, origin-agent-cluster,
 * x-dns-prefetch-control, x-download-options, x-permitted-cross-domain-policies,
 * x-xss-protection) carry nothing there. These answers get what OWASP's REST cheat sheet
 * lists instead, with a CSP that allows nothing at all: fewer, shorter headers on the
 * hottest paths (ADR 0003).
 */
const apiOptions: HelmetOptions = {
  contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  crossOriginEmbedderPolicy: false,
  crossOriginOpenerPolicy: false,
  originAgentCluster: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
  xFrameOptions: { action: 'deny' },
};

export async function registerSecurityHeaders(app: FastifyInstance): Promise<void> {
  const pages = securityHeaders();
  const api = securityHeaders(apiOptions);
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(request.url.startsWith('/api/') ? api : pages);
    done();
  });
}
