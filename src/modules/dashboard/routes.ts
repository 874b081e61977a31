/**
 * The task monitor: `/dashboard` pages, their JSON API under /dashboard/api with a live
 * event stream. Mounted by `conveyor serve` and, alone, by `conveyor monitor`.
 */
import type { FastifyPluginAsync } from 'fastify';
import { dashboardApi } from './api.ts';
import { dashboardPages } from './pages.ts';
import type { TaskMonitor } from '../../tasks/monitor.ts';

export interface DashboardOptions {
  readonly monitor: TaskMonitor;
}

export const dashboardRoutes: FastifyPluginAsync<DashboardOptions> = async (app, opts) => {
  await app.register(dashboardPages);
  await app.register(dashboardApi, { prefix: '/dashboard/api', monitor: opts.monitor });
};
