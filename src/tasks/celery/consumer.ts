/**
 * The inbound half of Celery interoperability: Conveyor's workers take Celery messages off
 * the Celery broker (Redis) exactly as a kombu worker does, and hand each one over to
 * Conveyor's own engine, where it runs like any task (records, dashboard, retries, limits,
 * crash recovery). docs/decisions/0006 says why it is a hand-over.
 *
 * Per message: `BRPOP` the CELERY_QUEUES lists (priority 0 first) → record it in `unacked`
 * (one MULTI: ZADD unacked_index, HSET unacked) → decode → enqueue a Conveyor task whose id is
 * the Celery id (idempotent: a redelivered message finds its task and makes no second one;
 * a task that finished is never claimed again) → ack (ZREM + HDEL). A message whose hand-over
 * did not complete (the process died in between) stays in `unacked` and is put back on its
 * queue by the visibility-timeout sweep, which every Conveyor worker runs as kombu does, so
 * nothing depends on a Python worker. Refused messages are logged (never their body) and
 * acked; their FAILURE is stored where their id is known.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { CeleryConfig } from '../../config/index.ts';
import { batched } from '../../lib/batch.ts';
import type { AnyTask } from '../define.ts';
import { InvalidArgsError, TaskFinishedError, UnknownTaskError } from '../errors.ts';
import { insertTasks, isTaskId, recordOutcomes, revokeTask, taskIdOfJob } from '../records.ts';
import type { TaskRegistry } from '../registry.ts';
import type { TaskClient } from '../task-client.ts';
import { finishedStates, type EnqueueOptions } from '../types.ts';
import { listenForRevokes, RevokedIds } from './control.ts';
import {
  bindingKey,
  decodeMessage,
  deliveryOf,
  parseEnvelope,
  priorityLists,
  queueKey,
  queueOfList,
  POP_AND_RECORD,
  PRIORITY_SEP,
  UNACKED,
  UNACKED_INDEX,
  UNACKED_MUTEX,
  UNACKED_MUTEX_MS,
  type CeleryEnvelope,
  type CeleryMessage,
} from './protocol.ts';
import { revokedException, type CeleryOrigin, type CeleryResults } from './results.ts';

export interface CeleryConsumerOptions {
  readonly celery: CeleryConfig;
  readonly registry: TaskRegistry;
  readonly client: TaskClient;
  /** The task table's pool: a refused message still gets its FAILURE row. */
  readonly pool: pg.Pool;
  readonly results: CeleryResults;
  readonly logger: Logger;
  /** Seconds the FAILURE row of a refused message is kept (TASK_RESULT_TTL). Default 7 days. */
  readonly failureTtlSeconds?: number;
  /** Hand-overs in flight at once. Default 256. */
  readonly maxInFlight?: number;
  /** Seconds BRPOP blocks (kombu: 1); also how quickly `stop()` returns. */
  readonly blockSeconds?: number;
  /** Messages taken per round trip while the queues are busy. Default 100. */
  readonly batch?: number;
}

export interface CeleryConsumer {
  /** Run the visibility-timeout sweep now (it also runs at start and every min(100 s, timeout / 2)). */
  sweep(): Promise<number>;
  /** Messages handed over or refused so far. */
  readonly handled: number;
  /** Stop taking messages, finish the hand-overs in flight and ack them, close the connections. */
  stop(): Promise<void>;
}

/** A transient failure to hand a message over (the database or broker is down): put it back. */
const RETRY_AFTER_MS = 1_000;
/** Seconds `stop()` waits for the hand-overs in flight beyond the BRPOP in progress. */
const STOP_GRACE_S = 10;

/** Payload fields from Celery's positional and keyword arguments, as the task's `celery.args` lists them. */
export function payloadOf(task: AnyTask, message: Pick<CeleryMessage, 'args' | 'kwargs'>): Record<string, unknown> {
  const names = task.celery?.args ?? [];
  if (message.args.length > names.length) {
    throw new InvalidArgsError(task.name, [{ field: 'args', message: `takes ${names.length} positional argument(s) but ${message.args.length} were given` }]);
  }
  const payload: Record<string, unknown> = {};
  message.args.forEach((v, i) => (payload[names[i]!] = v));
  for (const [k, v] of Object.entries(message.kwargs)) {
    if (k in payload) throw new InvalidArgsError(task.name, [{ field: `args.${k}`, message: 'got multiple values (positional and keyword)' }]);
    payload[k] = v;
  }
  return payload;
}

/** The Conveyor id of a Celery task: the same UUID, or one derived from a custom id. */
export const conveyorIdOf = (celeryId: string) => (isTaskId(celeryId) ? celeryId.toLowerCase() : taskIdOfJob(`celery:${celeryId}`));

/** What the engine is told besides the payload: Celery's eta, expires, retries, time limit, priority. */
export function enqueueOptionsOf(m: CeleryMessage): EnqueueOptions {
  const origin: CeleryOrigin = {
    kind: 'celery',
    id: m.id,
    task: m.task,
    ...(m.rootId ? { root: m.rootId } : {}),
    ...(m.parentId ? { parent: m.parentId } : {}),
    ...(m.ignoreResult ? { ignoreResult: true } : {}),
  };
  const delayMs = m.eta ? Math.ceil(m.eta.getTime() - Date.now()) : 0;
  const limit = m.hardTimeLimit ?? m.softTimeLimit;
  return {
    taskId: conveyorIdOf(m.id),
    origin,
    ...(delayMs > 0 ? { delayMs } : {}),
    ...(m.expires ? { expiresAt: m.expires } : {}),
    ...(m.retries > 0 ? { attemptsBefore: m.retries } : {}),
    ...(limit !== undefined ? { timeoutMs: Math.round(limit * 1000) } : {}),
    // Celery on Redis serves 0 first, then 1..9; Conveyor serves unprioritised first, then 1 (highest)…
    ...(m.priority ? { priority: m.priority } : {}),
  };
}

export async function startCeleryConsumer(opts: CeleryConsumerOptions): Promise<CeleryConsumer> {
  const { celery, registry, client, results, logger } = opts;
  const failureTtl = opts.failureTtlSeconds ?? 7 * 24 * 3600;
  const byCeleryName = new Map<string, AnyTask>();
  for (const t of registry.all()) {
    if (!t.celery) continue;
    const other = byCeleryName.get(t.celery.name);
    if (other) throw new Error(`Celery task ${t.celery.name} is declared by both ${other.name} and ${t.name}`);
    byCeleryName.set(t.celery.name, t);
  }
  const redisOpts = { maxRetriesPerRequest: null, connectionName: 'conveyor-celery' } as const;
  const blocking = new Redis(celery.brokerUrl, redisOpts);
  const commands = new Redis(celery.brokerUrl, redisOpts);
  const sweeper = new Redis(celery.brokerUrl, redisOpts); // WATCH needs a connection of its own
  for (const r of [blocking, commands, sweeper]) r.on('error', () => undefined); // calls report, and retry
  await commands.ping();
  const lists = priorityLists(celery.queues);
  const inFlight = new Map<string, Promise<void>>();
  const maxInFlight = opts.maxInFlight ?? 256;
  const blockSeconds = opts.blockSeconds ?? 1;
  let stopping = false;
  let handled = 0;
  let pauseUntil = 0;

  // Acks of concurrent hand-overs go in one MULTI.
  const ack = batched<string, void>(async (tags) => {
    await commands.multi().zrem(UNACKED_INDEX, ...tags).hdel(UNACKED, ...tags).exec();
    return tags.map(() => undefined);
  }, { maxItems: 500 });
  const batch = opts.batch ?? 100;
  const popKeys = [...lists, UNACKED_INDEX, UNACKED];
  const popRoutes = lists.map(queueOfList);

  /** Back on the list it came from, at once (a hand-over that failed for a passing reason). */
  const putBack = (tag: string, list: string, raw: string) => commands.multi().zrem(UNACKED_INDEX, tag).hdel(UNACKED, tag).rpush(list, raw).exec();

  /** A Conveyor FAILURE row for a Celery message that never ran (so the API and dashboard show it). */
  const failureRow = async (celeryId: string, name: string, queue: string, args: unknown, error: string) => {
    const id = conveyorIdOf(celeryId);
    await insertTasks(opts.pool, [{ id, name, queue, args, createdBy: null, requestId: null, traceId: null, runAt: null, options: { origin: { kind: 'celery', id: celeryId, task: name } }, dispatched: true }]);
    await recordOutcomes(opts.pool, [{ id, state: 'FAILURE', error, ttlSeconds: failureTtl }]);
  };

  // Celery's revoke (celery/control.ts): the ids are remembered, so a message of one that
  // arrives later is discarded, and a task this side holds and has not run is revoked now
  // (a running one too with terminate=True).
  const revokedIds = new RevokedIds();
  const revokeHeld = async (celeryId: string, terminate: boolean) => {
    const id = conveyorIdOf(celeryId);
    const t = await client.getTask(id);
    // Only the tasks this side took from Celery: not those it sent to Python workers, or saw in events.
    if (!t || t.origin !== 'celery' || t.celery || finishedStates.has(t.state)) return;
    if (t.state === 'STARTED' && !terminate) return; // Celery lets a started task finish
    try {
      await client.revoke(id);
    } catch (err) {
      if (err instanceof TaskFinishedError) return;
      throw err;
    }
    // client.revoke wrote it already where the process sends to Celery too; a second write of REVOKED changes nothing.
    await results.store(celeryId, 'REVOKED', revokedException());
    logger.info({ task_id: id, terminate }, 'revoked a task from Celery\'s remote control');
  };
  const control = await listenForRevokes(celery.brokerUrl, logger, ({ ids, terminate }) => {
    for (const id of ids) {
      revokedIds.add(id);
      void revokeHeld(id, terminate).catch((err: unknown) => logger.warn({ err, task_id: id }, 'could not revoke a task for Celery\'s remote control'));
    }
  });

  /** A message of a revoked id: REVOKED where Python reads it and in the task table, never run. */
  const discardRevoked = async (m: CeleryMessage, task: AnyTask, queue: string) => {
    const id = conveyorIdOf(m.id);
    await results.store(m.id, 'REVOKED', revokedException());
    await insertTasks(opts.pool, [{ id, name: task.name, queue, args: {}, createdBy: null, requestId: null, traceId: null, runAt: null, options: { origin: enqueueOptionsOf(m).origin! }, dispatched: true }]);
    await revokeTask(opts.pool, id, failureTtl, 'revoked');
    logger.info({ queue, celery_task: m.task, task_id: m.id }, 'discarded a Celery message of a revoked task');
  };

  const refuse = async (queue: string, reason: string, id: string | undefined, task: string | undefined, err: Error) => {
    logger.warn({ queue, celery_task: task, task_id: id, reason }, 'refused a Celery message');
    if (id) await results.fail(id, err);
  };

  async function handOver(list: string, raw: string, envelope: CeleryEnvelope, tag: string, recorded: boolean): Promise<void> {
    const queue = queueOfList(list);
    if (!recorded) {
      // As kombu after a BRPOP: the message is in `unacked` before anything else happens to it.
      const d = deliveryOf(envelope, queue);
      await commands
        .multi()
        .zadd(UNACKED_INDEX, Date.now() / 1000, tag)
        .hset(UNACKED, tag, JSON.stringify([envelope, d.exchange, d.routingKey]))
        .exec();
    }
    try {
      const decoded = decodeMessage(envelope);
      if (!decoded.ok) {
        const { reason, id, task } = decoded.refusal;
        await refuse(queue, reason, id, task, Object.assign(new Error(reason), { name: 'ContentDisallowed' }));
      } else {
        const m = decoded.message;
        const task = byCeleryName.get(m.task);
        if (!task) {
          const err = Object.assign(new Error(`Task of kind '${m.task}' never registered, please make sure it's imported.`), { name: 'NotRegistered' });
          logger.warn({ queue, celery_task: m.task, task_id: m.id }, 'a Celery message names a task no Conveyor task declares (NotRegistered)');
          await results.fail(m.id, err);
          await failureRow(m.id, m.task, queue, {}, `NotRegistered: ${m.task}`);
        } else if (revokedIds.has(m.id)) {
          await discardRevoked(m, task, task.options.queue ?? 'default');
        } else {
          try {
            await client.enqueue(task.name, payloadOf(task, m), enqueueOptionsOf(m));
          } catch (err) {
            if (!(err instanceof InvalidArgsError) && !(err instanceof UnknownTaskError)) throw err;
            const detail = err instanceof InvalidArgsError ? err.issues.map((i) => `${i.field}: ${i.message}`).join('; ') : err.message;
            logger.warn({ queue, celery_task: m.task, task_id: m.id, reason: 'invalid arguments' }, 'refused a Celery message');
            const failure = Object.assign(new Error(`${err.message}: ${detail}`), { name: err.name });
            await results.fail(m.id, failure);
            await failureRow(m.id, task.name, task.options.queue ?? 'default', {}, failure.message);
          }
        }
      }
      handled++;
      await ack(tag);
    } catch (err) {
      // Not handed over (the database or the Celery broker failed): back on its list now rather
      // than after the visibility timeout; the id makes a second hand-over harmless.
      logger.warn({ err, queue, task_id: typeof envelope.headers?.id === 'string' ? envelope.headers.id : undefined }, 'could not hand a Celery message over; it goes back to its queue');
      pauseUntil = Date.now() + RETRY_AFTER_MS;
      await putBack(tag, list, raw).catch((e: unknown) => logger.warn({ err: e }, 'could not put a Celery message back; the visibility-timeout sweep will'));
    }
  }

  const track = (tag: string, work: Promise<void>) => {
    const p = work.catch((err: unknown) => logger.warn({ err }, 'Celery hand-over failed')).finally(() => inFlight.delete(tag));
    inFlight.set(tag, p);
  };

  async function loop(): Promise<void> {
    while (!stopping) {
      if (inFlight.size >= maxInFlight) {
        await Promise.race(inFlight.values());
        continue;
      }
      const wait = pauseUntil - Date.now();
      if (wait > 0) {
        await new Promise((r) => setTimeout(r, Math.min(wait, 250)));
        continue;
      }
      let got: string[];
      let recorded = true;
      try {
        // Busy queues: many messages per round trip, recorded in `unacked` as they leave the
        // list. Idle ones: kombu's own BRPOP (then the MULTI), which wakes at once.
        got = (await commands.eval(POP_AND_RECORD, popKeys.length, ...popKeys, Math.min(batch, maxInFlight - inFlight.size), Date.now() / 1000, ...popRoutes)) as string[];
        if (got.length === 0) {
          const one = await blocking.brpop(...lists, blockSeconds);
          got = one ?? [];
          recorded = false;
        }
      } catch (err) {
        if (stopping) break;
        logger.warn({ err }, 'Celery broker unreachable; retrying');
        await new Promise((r) => setTimeout(r, RETRY_AFTER_MS));
        continue;
      }
      for (let i = 0; i + 1 < got.length; i += 2) take(got[i]!, got[i + 1]!, recorded);
    }
  }

  function take(list: string, raw: string, recorded: boolean): void {
    const envelope = parseEnvelope(raw);
    if (!envelope) {
      // Not even an envelope: there is no tag to record it under, and no id to fail.
      logger.warn({ queue: queueOfList(list), reason: 'not a Celery JSON envelope' }, 'refused a Celery message');
      handled++;
      return;
    }
    const tag = envelope.properties?.delivery_tag ?? randomUUID();
    track(tag, handOver(list, raw, envelope, tag, recorded && envelope.properties?.delivery_tag !== undefined));
  }

  /** kombu's restore_visible: under the shared mutex, entries older than the timeout go back to their queue. */
  async function sweep(): Promise<number> {
    const token = randomUUID();
    const got = await sweeper.set(UNACKED_MUTEX, token, 'PX', mutexMs, 'NX');
    if (got !== 'OK') return 0; // another worker (Python or Conveyor) is sweeping
    let restored = 0;
    try {
      const ceil = Date.now() / 1000 - celery.visibilityTimeoutS;
      const tags = await sweeper.zrangebyscore(UNACKED_INDEX, 0, ceil, 'LIMIT', 0, 1000);
      for (const tag of tags) {
        if (inFlight.has(tag)) continue; // ours, still being handed over (refreshed below)
        if (await restoreByTag(tag)) restored++;
      }
    } finally {
      await sweeper.eval("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0", 1, UNACKED_MUTEX, token).catch(() => undefined);
    }
    if (restored) logger.info({ restored }, 'Celery messages past the visibility timeout put back on their queues');
    return restored;
  }

  async function restoreByTag(tag: string): Promise<boolean> {
    await sweeper.watch(UNACKED);
    const stored = await sweeper.hget(UNACKED, tag);
    const tx = sweeper.multi().zrem(UNACKED_INDEX, tag).hdel(UNACKED, tag);
    if (stored) {
      try {
        const [message, exchange, routingKey] = JSON.parse(stored) as [CeleryEnvelope & { headers?: Record<string, unknown> }, string, string];
        if (message.headers) message.headers.redelivered = true;
        const info = message.properties?.delivery_info as Record<string, unknown> | undefined;
        if (info) info.redelivered = true;
        // Back on the list of its priority, as kombu restores it.
        const priority = message.properties?.priority ?? undefined;
        for (const queue of await lookup(exchange, routingKey)) tx.rpush(queueKey(queue, priority), JSON.stringify(message));
      } catch (err) {
        logger.warn({ err, tag }, 'an unacked Celery entry is not [message, exchange, routing_key]; dropped');
      }
    }
    const done = await tx.exec(); // null: the entry changed meanwhile (acked by its owner)
    return done !== null && stored !== null;
  }

  /** kombu's `_lookup`: the anonymous exchange routes by queue name; a named one through its bindings. */
  async function lookup(exchange: string, routingKey: string): Promise<string[]> {
    if (!exchange) return [routingKey];
    const bindings = await commands.smembers(bindingKey(exchange));
    const queues = bindings.map((b) => b.split(PRIORITY_SEP)).filter(([rk]) => rk === routingKey || rk === '').map((parts) => parts[2]!).filter(Boolean);
    return queues.length ? [...new Set(queues)] : [routingKey];
  }

  // While a hand-over is slow (a database outage), its entry is refreshed so no sweep restores it.
  const refreshMs = Math.max(200, Math.min(30_000, (celery.visibilityTimeoutS * 1000) / 3));
  const refresh = setInterval(() => {
    if (inFlight.size === 0) return;
    const now = Date.now() / 1000;
    const p = commands.pipeline();
    for (const tag of inFlight.keys()) p.zadd(UNACKED_INDEX, 'XX', now, tag);
    void p.exec().catch(() => undefined);
  }, refreshMs);
  const sweepMs = Math.min(100_000, (celery.visibilityTimeoutS * 1000) / 2);
  // kombu holds the mutex for up to 300 s; a worker killed mid-sweep then stops every sweep of
  // the database that long. A sweep takes milliseconds, so ours lapses within the visibility
  // timeout (at least 5 s) when that is shorter.
  const mutexMs = Math.min(UNACKED_MUTEX_MS, Math.max(5_000, celery.visibilityTimeoutS * 1000));
  const sweeping = setInterval(() => void sweep().catch((err: unknown) => logger.warn({ err }, 'Celery visibility sweep failed')), sweepMs);
  await sweep().catch((err: unknown) => logger.warn({ err }, 'Celery visibility sweep failed'));
  const running = loop();
  logger.info({ queues: celery.queues, tasks: [...byCeleryName.keys()], visibilityTimeoutS: celery.visibilityTimeoutS }, 'consuming Celery messages');

  return {
    sweep,
    get handled() {
      return handled;
    },
    async stop() {
      if (stopping) return;
      stopping = true;
      clearInterval(sweeping);
      // The BRPOP in progress returns within blockSeconds and its message is handed over; then
      // the hand-overs in flight finish and are acked. A broker that does not answer cannot
      // hold the shutdown: what is not acked stays in `unacked` for the sweep.
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((r) => (timer = setTimeout(r, (blockSeconds + STOP_GRACE_S) * 1000)));
      await Promise.race([(async () => (await running, await Promise.allSettled(inFlight.values()), await ack.drain()))(), late]);
      clearTimeout(timer);
      clearInterval(refresh);
      await control.close();
      for (const r of [blocking, commands, sweeper]) r.disconnect();
    },
  };
}
