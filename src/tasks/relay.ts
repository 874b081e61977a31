/**
 * The outbox relay: tasks written inside a caller's transaction (`tasks.delay(task, args,
 * { tx })`) exist once it commits, and are handed to the broker here. The commit's
 * notification brings them at once; a sweep every few seconds finds any whose notification
 * was missed (this process was down, the connection dropped). Handing one over twice is
 * harmless: the job id is the task id, and the claim lets one run through.
 */
import type { Logger } from 'pino';
import type { Database } from '../db/client.ts';
import { createPgListener } from '../lib/pg-listen.ts';
import type { TaskBackend, TaskJobData } from './backend.ts';
import { resolveSpec, specTasks } from './canvas.ts';
import { extraJobData, jobOptions } from './job-options.ts';
import { celeryTargetOf } from './celery/define.ts';
import { outboundMessage } from './celery/outbound.ts';
import type { CeleryPublisher } from './celery/publish.ts';
import { markDispatched, OUTBOX_CHANNEL, tasksByIds, undispatched } from './records.ts';
import type { TaskRegistry } from './registry.ts';
import type { TaskRow } from './table.ts';

export interface RelayOptions {
  readonly database: Database;
  readonly backend: TaskBackend;
  readonly registry: TaskRegistry;
  readonly logger: Pick<Logger, 'warn'>;
  /** Only tasks of these queues (the ones this worker consumes). */
  readonly queues: readonly string[];
  /** Default 5 s. */
  readonly sweepEveryMs?: number;
  /** Sends committed Celery tasks (`defineCeleryTask`), whatever their queue. */
  readonly celery?: CeleryPublisher;
}

/**
 * Committed Celery tasks go to Python's broker. A Celery message has no id the broker
 * deduplicates by, so each is claimed first (`dispatched`, by one relay only) and then sent:
 * two relays never send one twice; a relay that dies between the two loses that send.
 */
async function relayCelery(database: Database, registry: TaskRegistry, celery: CeleryPublisher, rows: readonly TaskRow[]): Promise<void> {
  const candidates = rows.filter((r) => r.state === 'PENDING' && !r.dispatched && celeryTargetOf(registry.get(r.name)));
  if (candidates.length === 0) return;
  const { rows: claimed } = await database.pool.query<{ id: string }>(
    `UPDATE app.tasks SET dispatched = true WHERE id = ANY($1::uuid[]) AND NOT dispatched AND state = 'PENDING' RETURNING id::text AS id`,
    [candidates.map((r) => r.id)],
  );
  const mine = new Set(claimed.map((r) => r.id));
  const messages = candidates.filter((r) => mine.has(r.id)).map((r) => outboundMessage(registry.get(r.name)!, celeryTargetOf(registry.get(r.name))!, r));
  try {
    await celery.send(messages);
  } catch (err) {
    // Not sent: give them back to the next sweep.
    await database.pool.query('UPDATE app.tasks SET dispatched = false WHERE id = ANY($1::uuid[])', [[...mine]]).catch(() => undefined);
    throw err;
  }
}

/**
 * A PENDING task this old that no worker has claimed is the sweep's: its commit notification
 * was missed, or its enqueue crashed between the table and the broker, or it is waiting in a
 * backlog (then handing it over again changes nothing, and it is marked).
 */
const SWEEP_AGE_MS = 10_000;

/** `ctx.previous` of each workflow step among `rows`, from its predecessors' results. */
async function previousOf(db: Database['db'], rows: readonly TaskRow[]): Promise<Map<string, unknown>> {
  const wanted = [...new Set(rows.flatMap((r) => specTasks(r.previous)))];
  const out = new Map<string, unknown>();
  if (wanted.length === 0) return out;
  const results = new Map((await tasksByIds(db, wanted)).map((r) => [r.id, r.result] as const));
  for (const r of rows) if (r.previous) out.set(r.id, resolveSpec(r.previous, results));
  return out;
}

export async function dispatchRows(backend: TaskBackend, registry: TaskRegistry, rows: readonly TaskRow[], db: Database['db']): Promise<string[]> {
  const byQueue = new Map<string, { name: string; data: TaskJobData; opts: ReturnType<typeof jobOptions> }[]>();
  const sent: string[] = [];
  const previous = await previousOf(db, rows.filter((r) => r.remaining === 0));
  for (const row of rows) {
    const task = registry.get(row.name);
    if (!task || row.state !== 'PENDING' || row.dispatched || row.remaining > 0) continue;
    const delayMs = row.runAt ? Math.max(0, row.runAt.getTime() - Date.now()) : 0;
    const o = row.options;
    const opts = jobOptions(task, {
      taskId: row.id,
      ...(o.retries !== undefined ? { retries: o.retries } : {}),
      ...(o.attemptsBefore ? { attemptsBefore: o.attemptsBefore } : {}),
      ...(o.priority !== undefined ? { priority: o.priority } : {}),
      ...(delayMs > 0 ? { delayMs } : {}),
    });
    const data: TaskJobData = {
      args: row.args,
      by: row.createdBy,
      req: row.requestId,
      tr: row.traceId,
      ...extraJobData(o),
      ...(row.workflowId ? { wf: row.workflowId, prev: previous.get(row.id) } : {}),
    };
    const list = byQueue.get(row.queue) ?? [];
    list.push({ name: row.name, data, opts });
    byQueue.set(row.queue, list);
    sent.push(row.id);
  }
  for (const [queue, jobs] of byQueue) await backend.queue(queue).addBulk(jobs);
  return sent;
}

export function startRelay(opts: RelayOptions): { stop(): Promise<void> } {
  const { database, backend, registry, logger } = opts;
  const queues = new Set(opts.queues);
  let busy: Promise<void> = Promise.resolve();
  const relay = (rows: TaskRow[]) =>
    (busy = busy
      .then(async () => {
        if (opts.celery) await relayCelery(database, registry, opts.celery, rows.filter((r) => r.celerySource === 'outbound'));
        const mine = rows.filter((r) => queues.has(r.queue) && r.celerySource === null);
        if (mine.length === 0) return;
        await markDispatched(database.pool, await dispatchRows(backend, registry, mine, database.db));
      })
      .catch((err: unknown) => logger.warn({ err }, 'relaying committed tasks to the broker failed; the sweep tries again')));

  const listener = createPgListener({ url: database.url, applicationName: 'conveyor-relay', onError: () => undefined });
  listener.on(OUTBOX_CHANNEL, (payload) => {
    const ids = payload.split(',').filter(Boolean);
    void tasksByIds(database.db, ids).then(relay, (err: unknown) => logger.warn({ err }, 'reading committed tasks failed; the sweep tries again'));
  });
  const sweep = setInterval(() => {
    void undispatched(database.db, SWEEP_AGE_MS, 500).then(relay, () => undefined);
  }, opts.sweepEveryMs ?? 5_000);
  // At start, whatever is waiting: a transaction may have committed while no worker ran.
  void undispatched(database.db, 0, 500).then(relay, () => undefined);
  sweep.unref();
  return {
    async stop() {
      clearInterval(sweep);
      await listener.close();
      await busy;
    },
  };
}
