/**
 * The dashboard's HTML: one page shell for every view (the browser script draws the view
 * named by the URL), a login page, and the static assets. No inline script or style, so
 * the strict CSP ('self') holds; uPlot is served from node_modules, never a CDN.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';

const assetsDir = fileURLToPath(new URL('./assets/', import.meta.url));
const uplotDir = path.dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'));

const shell = readFileSync(path.join(assetsDir, 'index.html'), 'utf8');
const loginPage = readFileSync(path.join(assetsDir, 'login.html'), 'utf8');
const forbiddenPage = readFileSync(path.join(assetsDir, 'forbidden.html'), 'utf8');

/** Only paths under /dashboard may be a post-login destination (no open redirect). */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/dashboard(\/[\w\-/.%]*)?(\?[\w\-=&%.]*)?$/.test(next) && !next.includes('//') ? next : '/dashboard';
}

function html(reply: FastifyReply, body: string, status = 200) {
  return reply.code(status).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(body);
}

/** Anonymous visitors go to the login page; signed-in non-staff users are told why they cannot enter. */
async function staffPage(request: FastifyRequest, reply: FastifyReply) {
  if (!request.user) {
    const next = encodeURIComponent(safeNext(request.url));
    return reply.redirect(`/dashboard/login?next=${next}`, 302);
  }
  if (!request.user.isStaff) return html(reply, forbiddenPage, 403);
  return html(reply, shell);
}

const views = ['/dashboard', '/dashboard/', '/dashboard/workers', '/dashboard/tasks', '/dashboard/tasks/:id', '/dashboard/workflows/:id'];

export const dashboardPages: FastifyPluginAsync = async (app) => {
  const hide = { hide: true };
  for (const url of views) app.get(url, { schema: hide, handler: staffPage });
  app.get('/dashboard/login', { schema: hide, handler: async (_request, reply) => html(reply, loginPage) });

  await app.register(fastifyStatic, {
    root: assetsDir,
    prefix: '/dashboard/assets/',
    decorateReply: false,
    index: false,
    // Revalidated on every load (ETag): no build step means no fingerprinted names.
    cacheControl: true,
    maxAge: 0,
    allowedPath: (pathName) => !pathName.endsWith('.html'),
  });
  await app.register(fastifyStatic, {
    root: uplotDir,
    prefix: '/dashboard/vendor/',
    decorateReply: false,
    index: false,
    maxAge: '1d',
    allowedPath: (pathName) => pathName === '/uPlot.iife.min.js' || pathName === '/uPlot.min.css',
  });
};
