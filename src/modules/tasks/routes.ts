/** Task HTTP routes (queue a task, follow it, revoke it): thin handlers over the service. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { errorResponses } from '../../http/errors.ts';
import type { TaskClient } from '../../tasks/index.ts';
import { Accepted, Deduplicated, EnqueueBody, ListQuery, Task, TaskIdParams, TaskList } from './schemas.ts';
import * as service from './service.ts';
import { currentTraceId } from '../../lib/trace-context.ts';
import { streamTaskEvents, type SseOptions } from './sse.ts';

export const taskRoutes: FastifyPluginAsyncTypebox<{ tasks: TaskClient; sse?: SseOptions }> = async (app, { tasks, sse }) => {
  // The contract's path is /api/tasks exactly; 'no-slash' also keeps OpenAPI from listing it as /api/tasks/.
  app.post('/', {
    prefixTrailingSlash: 'no-slash',
    schema: {
      tags: ['tasks'],
      summary: 'Queue a task',
      body: EnqueueBody,
      response: { 202: Accepted, 200: Deduplicated, ...errorResponses(400, 401, 413, 415, 429, 503) },
    },
    handler: async (request, reply) => {
      const { id, state, deduplicated } = await service.enqueue(tasks, request.body, request.user!, { requestId: String(request.id), traceId: currentTraceId(request.headers.traceparent) });
      if (deduplicated) return reply.code(200).header('location', `/api/tasks/${id}`).send({ task_id: id, state, deduplicated });
      return reply.code(202).header('location', `/api/tasks/${id}`).send({ task_id: id, state: 'PENDING' as const });
    },
  });

  app.get('/', {
    prefixTrailingSlash: 'no-slash',
    schema: { tags: ['tasks'], summary: 'Recent tasks, newest first', querystring: ListQuery, response: { 200: TaskList, ...errorResponses(400) } },
    handler: async (request) => service.list(tasks, request.query, request.user),
  });

  app.get('/:id', {
    schema: { tags: ['tasks'], summary: 'A task\'s state and result', params: TaskIdParams, response: { 200: Task, ...errorResponses(404) } },
    handler: async (request) => service.toTask(await service.getTask(tasks, request.params.id, request.user)),
  });

  app.delete('/:id', {
    schema: {
      tags: ['tasks'],
      summary: 'Revoke a task that has not finished',
      params: TaskIdParams,
      response: { 200: Task, ...errorResponses(401, 404, 409) },
    },
    handler: async (request) => service.toTask(await service.revoke(tasks, request.params.id, request.user!)),
  });

  // Event streams last as long as their task; shutdown ends them so the server can drain.
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of open) end();
    open.clear();
  });

  app.get('/:id/events', {
    schema: {
      tags: ['tasks'],
      summary: 'Server-sent events: one `state` event per state change until the task finishes',
      params: TaskIdParams,
      produces: ['text/event-stream'],
      response: { 200: Type.String({ description: 'text/event-stream' }), ...errorResponses(404) },
    },
    handler: async (request, reply) => {
      const first = await service.getTask(tasks, request.params.id, request.user);
      const stream = streamTaskEvents(reply, tasks, first, sse);
      open.add(stream.end);
      stream.onClose(() => open.delete(stream.end));
      return reply;
    },
  });
};
