/**
 * A Celery task's enqueue as Conveyor keeps it: the task table's row (PENDING, the Celery id
 * as its id, marked `outbound`) and the message it becomes, from the task's options and the
 * enqueue's (countdown → eta, timeoutMs → hard time limit, priority).
 */
import type { AnyTask } from '../define.ts';
import type { StoredOptions } from '../table.ts';
import { celeryOptionsOf, type CeleryTarget } from './define.ts';
import type { OutboundCeleryTask } from './publish.ts';

/** What a row holds that the message needs (a fresh enqueue, or a row the relay hands over). */
export interface OutboundSource {
  readonly id: string;
  readonly args: unknown;
  readonly runAt: Date | null;
  readonly options: StoredOptions;
  readonly createdAt?: Date;
}

export function outboundMessage(task: AnyTask, target: CeleryTarget, row: OutboundSource): OutboundCeleryTask {
  const o = celeryOptionsOf(task);
  const hard = row.options.timeoutMs ?? o.timeoutMs;
  const soft = o.softTimeoutMs;
  const sentAt = row.createdAt ?? new Date();
  const priority = row.options.priority ?? o.priority;
  return {
    id: row.id,
    target,
    payload: row.args,
    eta: row.runAt && row.runAt.getTime() > Date.now() ? row.runAt : null,
    expires: o.expiresMs !== undefined ? new Date(Math.max(sentAt.getTime(), row.runAt?.getTime() ?? 0) + o.expiresMs) : null,
    timeLimit: [hard !== undefined ? hard / 1000 : null, soft !== undefined ? soft / 1000 : null],
    ...(priority !== undefined ? { priority: Math.min(9, Math.max(0, priority)) } : {}),
  };
}
