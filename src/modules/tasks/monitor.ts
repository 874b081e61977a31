/** The task client as the dashboard's TaskMonitor: engine errors become AppErrors. */
import { AppError } from '../../app/errors.ts';
import { TaskFinishedError, type TaskClient, type TaskRecord } from '../../tasks/index.ts';
import type { TaskMonitor } from '../dashboard/source.ts';

async function found(p: Promise<TaskRecord | undefined>): Promise<TaskRecord> {
  try {
    const t = await p;
    if (!t) throw new AppError('not_found', 'No such task');
    return t;
  } catch (err) {
    if (err instanceof TaskFinishedError) throw new AppError('conflict', err.message);
    throw err;
  }
}

export function taskMonitor(tasks: TaskClient): TaskMonitor {
  return {
    listTasks: (q) => tasks.listTasks(q),
    getTask: (id) => tasks.getTask(id),
    getWorkflow: (id) => tasks.getWorkflow(id),
    revoke: (id) => found(tasks.revoke(id)),
    retry: (id) => found(tasks.retry(id)),
    listWorkers: () => tasks.listWorkers(),
    unservedQueues: () => tasks.unservedQueues(),
    counters: () => tasks.counters(),
    queueCounts: () => tasks.queueCounts(),
    history: (minutes) => tasks.history(minutes),
    subscribe: (listener) => tasks.subscribe(listener),
  };
}
