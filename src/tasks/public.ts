/**
 * `conveyor/tasks`: what a module of your own tasks imports (list it in TASK_MODULES;
 * `serve` and `worker` register every task it exports).
 *
 * ```ts
 * import { chain, chord, defineTask, Type, type TaskContext } from 'conveyor/tasks';
 *
 * export const price = defineTask({
 *   name: 'shop.price',
 *   payload: Type.Object({ sku: Type.String(), qty: Type.Integer({ minimum: 1 }) }),
 *   options: { retries: 3, rateLimit: { limit: 50, perMs: 1_000 } },
 *   handler: async ({ sku, qty }) => qty * (await priceOf(sku)),
 * });
 *
 * // A task Python Celery workers run (docs/celery.md): mul(x, y) in proj/tasks.py
 * export const mul = defineCeleryTask({
 *   name: 'py.mul',
 *   celery: { name: 'proj.tasks.mul', args: ['x', 'y'] },
 *   payload: Type.Object({ x: Type.Number(), y: Type.Number() }),
 * });
 * ```
 */
export { Type, type Static } from 'typebox';
export { defineTask, NonRetryableError, type TaskContext, type TaskDefinition, type TaskOptions, type BackoffOptions, type ScheduleOptions, type CeleryBinding } from './define.ts';
export { defineCeleryTask, type CeleryTaskDefinition, type CeleryTaskOptions, type CeleryTarget } from './celery/define.ts';
export { chain, chord, group, type Canvas, type ResultOf } from './signature.ts';
export type { CanvasNode, SignatureOptions } from './canvas.ts';
export type { EnqueueOptions, TaskRecord, TaskState, WorkflowRecord } from './types.ts';
export type { TaskClient, Enqueued } from './task-client.ts';
