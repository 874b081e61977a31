/**
 * The dashboard's JSON API under /dashboard/api, staff only. The actions are POSTs, so with a
 * session cookie they need the CSRF token: the authentication middleware checks it on every
 * unsafe request (see modules/accounts/authentication.ts); API tokens need none.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { errorResponses } from '../../http/errors.ts';
import { userSecurity as security } from '../../http/openapi.ts';
import { errorSummary } from '../../lib/log-errors.ts';
import type { TaskMonitor } from '../../tasks/monitor.ts';
import type { TaskRecord } from '../../tasks/types.ts';
import { requireStaff } from '../accounts/guards.ts';
import { TaskNotFound } from '../tasks/errors.ts';
import { assertListCursor } from '../tasks/service.ts';
import { WorkflowNotFound } from '../workflows/errors.ts';
import { createLiveHub } from './events.ts';
import { toMinuteJson, toMonitorQueue, toMonitorTask, toMonitorWorker, toMonitorWorkflow } from './mapper.ts';
import {
  MonitorQueue,
  MonitorTask,
  MonitorWorker,
  MonitorWorkflow,
  Overview,
  TaskIdParams,
  TaskList,
  TaskListQuery,
} from './schemas.ts';

export interface DashboardApiOptions {
  readonly monitor: TaskMonitor;
}

const tags = ['dashboard'];

/** The task, or TaskNotFound (404). */
function found(task: TaskRecord | undefined): TaskRecord {
  if (!task) throw new TaskNotFound();
  return task;
}

export const dashboardApi: FastifyPluginAsyncTypebox<DashboardApiOptions> = async (app, { monitor }) => {
  app.addHook('preHandler', requireStaff);

  const hub = createLiveHub(monitor, (err) => app.log.warn({ err: errorSummary(err) }, 'dashboard: task engine unavailable'));
  // Open event streams would hold the server open: end them before it closes.
  app.addHook('preClose', async () => hub.close());

  app.get('/overview', {
    schema: { tags, security, summary: 'Charts, queues and workers at a glance', response: { 200: Overview, ...errorResponses(401, 403, 503) } },
    handler: async (request) => {
      const [history, queues, workers, unserved] = await Promise.all([monitor.history(60), monitor.queueCounts(), monitor.listWorkers(), monitor.unservedQueues()]);
      const now = Date.now();
      return {
        history: history.map(toMinuteJson),
        queues: queues.map(toMonitorQueue),
        workers: workers.map((w) => toMonitorWorker(w, now)),
        unserved_queues: [...unserved],
        user: { username: request.user!.username },
      };
    },
  });

  app.get('/workers', {
    schema: { tags, security, summary: 'Workers seen in the last hour', response: { 200: Type.Object({ data: Type.Array(MonitorWorker) }), ...errorResponses(401, 403) } },
    handler: async () => {
      const now = Date.now();
      return { data: (await monitor.listWorkers()).map((w) => toMonitorWorker(w, now)) };
    },
  });

  app.get('/queues', {
    schema: { tags, security, summary: 'Jobs per state of each queue', response: { 200: Type.Object({ data: Type.Array(MonitorQueue) }), ...errorResponses(401, 403) } },
    handler: async () => ({ data: (await monitor.queueCounts()).map(toMonitorQueue) }),
  });

  app.get('/tasks', {
    schema: {
      tags,
      security,
      summary: 'Tasks, newest first; search by id, name or argument text',
      querystring: TaskListQuery,
      response: { 200: TaskList, ...errorResponses(400, 401, 403) },
    },
    handler: async (request) => {
      const q = request.query;
      assertListCursor(q.after);
      const page = await monitor.listTasks({
        limit: q.limit,
        ...(q.state ? { state: q.state } : {}),
        ...(q.name ? { name: q.name } : {}),
        ...(q.search ? { search: q.search } : {}),
        ...(q.after ? { after: q.after } : {}),
      });
      return { data: page.data.map(toMonitorTask), next: page.next };
    },
  });

  const findTask = async (id: string) => found(await monitor.getTask(id));

  app.get('/workflows/:id', {
    schema: { tags, security, summary: 'A workflow as a graph: each task, its state and what it waits for', params: TaskIdParams, response: { 200: MonitorWorkflow, ...errorResponses(401, 403, 404) } },
    handler: async (request) => {
      const w = await monitor.getWorkflow(request.params.id);
      if (!w) throw new WorkflowNotFound();
      return toMonitorWorkflow(w);
    },
  });

  app.get('/tasks/:id', {
    schema: { tags, security, summary: 'One task with arguments, result, error and timings', params: TaskIdParams, response: { 200: MonitorTask, ...errorResponses(401, 403, 404) } },
    handler: async (request) => toMonitorTask(await findTask(request.params.id)),
  });

  app.post('/tasks/:id/revoke', {
    schema: { tags, security, summary: 'Revoke a task that has not finished', params: TaskIdParams, response: { 200: MonitorTask, ...errorResponses(401, 403, 404, 409) } },
    handler: async (request) => {
      const { id } = request.params;
      await findTask(id);
      const task = found(await monitor.revoke(id));
      request.log.info({ task_id: id, by: request.user!.id }, 'task revoked from the dashboard');
      return toMonitorTask(task);
    },
  });

  app.post('/tasks/:id/retry', {
    schema: { tags, security, summary: 'Run a failed or revoked task again', params: TaskIdParams, response: { 200: MonitorTask, ...errorResponses(401, 403, 404, 409) } },
    handler: async (request) => {
      const { id } = request.params;
      await findTask(id);
      const task = found(await monitor.retry(id));
      request.log.info({ task_id: id, by: request.user!.id }, 'task retried from the dashboard');
      return toMonitorTask(task);
    },
  });

  app.get('/events', {
    schema: { tags, security, summary: 'Server-sent events: `task` (state changes) and `snapshot` (workers, queues, history every 2 s)', hide: false },
    handler: async (_request, reply) => {
      hub.attach(reply);
    },
  });
};
