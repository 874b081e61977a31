/** Workflow HTTP routes (chain, group, chord): thin handlers over the service. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errorResponses } from '../../http/errors.ts';
import type { TaskClient } from '../../tasks/index.ts';
import { CanvasNode, Workflow, WorkflowAccepted, WorkflowIdParams } from './schemas.ts';
import * as service from './service.ts';

export const workflowRoutes: FastifyPluginAsyncTypebox<{ tasks: TaskClient }> = async (app, { tasks }) => {
  app.post('/', {
    prefixTrailingSlash: 'no-slash',
    schema: {
      tags: ['workflows'],
      summary: 'Start a workflow: a chain, group or chord of tasks',
      body: CanvasNode,
      response: { 202: WorkflowAccepted, ...errorResponses(400, 401, 413, 415, 503) },
    },
    handler: async (request, reply) => {
      const { id, tasks: ids } = await service.create(tasks, request.body, request.user!, String(request.id));
      return reply.code(202).header('location', `/api/workflows/${id}`).send({ workflow_id: id, state: 'PENDING' as const, tasks: ids });
    },
  });

  app.get('/:id', {
    schema: { tags: ['workflows'], summary: 'A workflow\'s state, its canvas with each task\'s state, and its result', params: WorkflowIdParams, response: { 200: Workflow, ...errorResponses(404) } },
    handler: async (request) => service.toWorkflow(await service.get(tasks, request.params.id, request.user)),
  });

  app.delete('/:id', {
    schema: {
      tags: ['workflows'],
      summary: 'Revoke every unfinished task of a workflow',
      params: WorkflowIdParams,
      response: { 200: Workflow, ...errorResponses(401, 404, 409) },
    },
    handler: async (request) => service.toWorkflow(await service.revoke(tasks, request.params.id, request.user!)),
  });
};
