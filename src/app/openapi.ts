/** OpenAPI 3 from the route schemas, with Swagger UI at /docs served from local assets only. */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import pkg from '../../package.json' with { type: 'json' };
import { apiTags } from '../http/openapi.ts';

/**
 * Swagger UI's default CSP (hashes for its inline code) minus what points off this machine:
 * `upgrade-insecure-requests` would break /docs over plain HTTP on any host but localhost
 * (a compose deployment without TLS), and `https:` / validator.swagger.io are internet sources.
 */
export function localOnlyCsp(header: string): string {
  return header
    .replace(/\s*upgrade-insecure-requests;?/, '')
    .replaceAll(' https:', '')
    .replace(' validator.swagger.io', '');
}

export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Conveyor API', version: pkg.version, description: pkg.description },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'API token from `conveyor createtoken`' },
          session: { type: 'apiKey', in: 'cookie', name: 'conveyor_session' },
        },
      },
      tags: Object.entries(apiTags).map(([name, description]) => ({ name, description })),
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true, transformStaticCSP: localOnlyCsp, uiConfig: { deepLinking: true } });
}
