/**
 * The event follower (Flower's job, in the monitor): a Celery cluster's events
 * (`celery worker -E`) into Conveyor's tables. kombu publishes each event on
 * `/<db>.celeryev/<type with - as .>`, task events batched as a list on `task.multi`; the
 * follower PSUBSCRIBEs them all. Workers become rows of the worker list (marked Celery, online
 * until twice their heartbeat frequency passes or they say `worker-offline`); tasks become
 * task records (upserted by id, never moved back from a finished state), so their history
 * outlives every monitor process, and any number of monitors may follow one cluster.
 *
 * Events are pub/sub, so some never arrive: those sent while no monitor listened, and — seen
 * with Celery 5.2's `-P threads` pool, whose event buffer is not thread-safe — some
 * `task-succeeded` of a running worker. A task left unfinished a few seconds is therefore read
 * back from the result backend (when the cluster uses the Redis one) and finished from it.
 */
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';
import type { Database } from '../../db/client.ts';
import type { TaskState } from '../types.ts';
import { redisDb } from './publish.ts';
import { toResultUpdate } from './follow.ts';
import { resultKey } from './protocol.ts';
import { applyResults, applyTaskEvent, quietEventTasks, recordTransitions, upsertCeleryWorker, type ResultUpdate, type TaskEventRow, type Transition, type WorkerEventRow } from './rows.ts';

/** The fields of a Celery event this follower reads (every event has more). */
export const CeleryEvent = Type.Object({
  type: Type.String(),
  hostname: Type.String(),
  timestamp: Type.Number(),
  pid: Type.Optional(Type.Integer()),
  uuid: Type.Optional(Type.String()),
  name: Type.Optional(Type.String()),
  args: Type.Optional(Type.String()),
  kwargs: Type.Optional(Type.String()),
  routing_key: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  queue: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  result: Type.Optional(Type.Unknown()),
  runtime: Type.Optional(Type.Number()),
  exception: Type.Optional(Type.String()),
  traceback: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  freq: Type.Optional(Type.Number()),
  active: Type.Optional(Type.Integer()),
  processed: Type.Optional(Type.Integer()),
  loadavg: Type.Optional(Type.Array(Type.Number())),
});
export type CeleryEvent = Static<typeof CeleryEvent>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The events of one published message (one, or a `task.multi` batch). */
export function decodeEvents(raw: string): CeleryEvent[] {
  try {
    const envelope = JSON.parse(raw) as { body?: unknown; properties?: { body_encoding?: unknown } };
    if (typeof envelope.body !== 'string') return [];
    const text = envelope.properties?.body_encoding === 'base64' ? Buffer.from(envelope.body, 'base64').toString('utf8') : envelope.body;
    const body: unknown = JSON.parse(text);
    return (Array.isArray(body) ? body : [body]).filter((e): e is CeleryEvent => Value.Check(CeleryEvent, e));
  } catch {
    return [];
  }
}

const TASK_STATES: Readonly<Record<string, TaskState>> = {
  'task-sent': 'PENDING',
  'task-received': 'PENDING',
  'task-started': 'STARTED',
  'task-succeeded': 'SUCCESS',
  'task-failed': 'FAILURE',
  'task-retried': 'RETRY',
  'task-revoked': 'REVOKED',
};

/** `Type: message`: the traceback's last line says it best (the repr of a thread pool's exception does not). */
function errorOf(e: CeleryEvent): string | null {
  const last = e.traceback?.trim().split('\n').at(-1)?.trim();
  if (last) return last;
  if (e.type === 'task-revoked') return 'revoked';
  return e.exception ?? null;
}

export function toTaskRow(e: CeleryEvent, ttlSeconds: number): TaskEventRow | undefined {
  const state = TASK_STATES[e.type];
  if (!state || !e.uuid || !UUID.test(e.uuid)) return undefined;
  const hasArgs = e.args !== undefined || e.kwargs !== undefined;
  return {
    id: e.uuid.toLowerCase(),
    state,
    name: e.name ?? null,
    queue: e.queue ?? e.routing_key ?? null,
    // Celery's events carry the arguments as Python reprs: kept as they are, like Flower shows them.
    args: hasArgs ? { args: e.args ?? '()', kwargs: e.kwargs ?? '{}' } : undefined,
    at: new Date(e.timestamp * 1000),
    worker: e.type === 'task-sent' ? null : e.hostname,
    ...(state === 'SUCCESS' ? { result: e.result ?? null, runtimeS: e.runtime ?? null } : {}),
    ...(state === 'FAILURE' || state === 'RETRY' || state === 'REVOKED' ? { error: errorOf(e), traceback: e.traceback ?? null } : {}),
    ttlSeconds,
  };
}

export function toWorkerRow(e: CeleryEvent): WorkerEventRow | undefined {
  const kind = e.type === 'worker-online' ? 'online' : e.type === 'worker-heartbeat' ? 'heartbeat' : e.type === 'worker-offline' ? 'offline' : undefined;
  if (!kind) return undefined;
  return { hostname: e.hostname, kind, pid: e.pid ?? 0, freq: e.freq ?? 2, active: e.active ?? 0, processed: e.processed ?? 0, loadavg: e.loadavg ?? [] };
}

export interface CeleryEventFollowerOptions {
  readonly brokerUrl: string;
  /** Celery's Redis result backend, read for tasks whose finishing event did not come. */
  readonly resultUrl?: string;
  /** How often those are looked for. Default 5 s. */
  readonly readBackMs?: number;
  readonly database: Database;
  readonly logger: Pick<Logger, 'warn' | 'info'>;
  readonly ttlSeconds: number;
}

export function startCeleryEvents(opts: CeleryEventFollowerOptions): { readonly ready: Promise<void>; stop(): Promise<void> } {
  const { database, logger } = opts;
  const sub = new Redis(opts.brokerUrl, { connectionName: 'conveyor-celery-events', maxRetriesPerRequest: 2 });
  sub.on('error', () => undefined); // ioredis reconnects and subscribes again; events meanwhile are gone (pub/sub keeps nothing)
  const channel = `/${redisDb(opts.brokerUrl)}.celeryev/`;
  let busy: Promise<void> = Promise.resolve();
  let warned = 0;

  // In order, one message after another: a task's events arrive in the order its worker sent them.
  const handle = (events: CeleryEvent[]) =>
    (busy = busy
      .then(async () => {
        const made: Transition[] = [];
        for (const e of events) {
          const worker = toWorkerRow(e);
          if (worker) {
            await upsertCeleryWorker(database.pool, worker);
            continue;
          }
          const task = toTaskRow(e, opts.ttlSeconds);
          if (task) made.push(...(await applyTaskEvent(database.pool, task)));
        }
        await recordTransitions(database.db, database.pool, made);
      })
      .catch((err: unknown) => {
        if (Date.now() - warned > 10_000) logger.warn({ err }, 'recording Celery events failed');
        warned = Date.now();
      }));

  sub.on('pmessage', (_pattern: string, ch: string, message: string) => {
    if (!ch.startsWith(channel)) return;
    const events = decodeEvents(message);
    if (events.length) void handle(events);
  });
  const ready = sub.psubscribe(`${channel}*`).then(() => undefined);
  ready.catch(() => undefined);

  // Tasks quiet for a while with no finishing event: ask the result backend.
  const results = opts.resultUrl ? new Redis(opts.resultUrl, { connectionName: 'conveyor-celery-events-read', maxRetriesPerRequest: 2 }) : undefined;
  results?.on('error', () => undefined);
  const readBack = () =>
    (busy = busy
      .then(async () => {
        if (!results) return;
        const ids = await quietEventTasks(database.pool, 3_000, 500);
        if (ids.length === 0) return;
        const values = await results.mget(ids.map(resultKey));
        const updates = values.flatMap((v) => (v ? [toResultUpdate(v, opts.ttlSeconds)] : [])).filter((u): u is ResultUpdate => u !== undefined && u.state !== 'STARTED');
        await recordTransitions(database.db, database.pool, await applyResults(database.pool, updates, ['events']));
      })
      .catch(() => undefined));
  const timer = results ? setInterval(() => void readBack(), opts.readBackMs ?? 5_000) : undefined;
  timer?.unref();
  return {
    ready,
    async stop() {
      clearInterval(timer);
      await sub.quit().catch(() => sub.disconnect());
      await busy;
      await results?.quit().catch(() => results.disconnect());
    },
  };
}
