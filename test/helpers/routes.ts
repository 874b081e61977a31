/** Every route of a built app, read from `printRoutes` (Fastify has no route list API). */
import type { FastifyInstance, HTTPMethods } from 'fastify';

export interface RouteEntry {
  readonly method: HTTPMethods;
  readonly url: string;
}

/** Parse the tree `printRoutes({ commonPrefix: false })` draws: each level indents 4 columns. */
export function listRoutes(app: FastifyInstance): RouteEntry[] {
  const stack: string[] = [];
  const routes: RouteEntry[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^([│ ]*)[├└]── (.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    stack.length = depth;
    stack.push(m[2]!);
    const url = stack.join('');
    for (const method of (m[3] ?? '').split(', ').filter(Boolean)) {
      // Only what the router confirms, so a misread line is dropped rather than tested wrongly.
      if (app.hasRoute({ method: method as HTTPMethods, url })) routes.push({ method: method as HTTPMethods, url });
    }
  }
  return routes;
}

export const WRITE_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** A concrete URL for a route pattern: every `:param` (and `*`) replaced by `value`. */
export function fillParams(url: string, value: string): string {
  return url.replace(/:[^/]+/g, encodeURIComponent(value)).replace(/\*$/, encodeURIComponent(value));
}
