/**
 * Sending tasks to Python Celery workers: a Celery protocol v2 message, JSON, exactly as
 * Celery 5.2 writes it on Redis (`LPUSH` onto the queue's list or its priority list, after
 * `SADD _kombu.binding.<queue>`), and revocation through the workers' pidbox broadcast. The
 * shapes are measured against Python's own `send_task` and `control.revoke`
 * (docs/celery.md, test/celery/outbound.test.ts).
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { Redis } from 'ioredis';
import { Type, type Static } from 'typebox';
import type { CeleryTarget } from './define.ts';
import { bindingKey, PRIORITY_SEP as SEP, PRIORITY_STEPS as STEPS, queueKey, resultKey } from './protocol.ts';
import { revokedException, storeCeleryState } from './results.ts';

/**
 * The envelope Conveyor writes, for a task message and a pidbox broadcast alike: every field
 * Celery 5.2 writes, exactly typed. What Conveyor accepts from others is protocol.ts's
 * `CeleryEnvelope`, which requires only what the consumer reads.
 */
export const OutgoingEnvelope = Type.Object({
  body: Type.String({ description: 'base64 of the JSON body' }),
  'content-encoding': Type.Literal('utf-8'),
  'content-type': Type.Literal('application/json'),
  headers: Type.Record(Type.String(), Type.Unknown()),
  properties: Type.Object({
    correlation_id: Type.Optional(Type.String()),
    reply_to: Type.Optional(Type.String()),
    delivery_mode: Type.Integer(),
    expiration: Type.Optional(Type.String()),
    delivery_info: Type.Object({ exchange: Type.String(), routing_key: Type.String() }),
    priority: Type.Integer({ minimum: 0, maximum: 255 }),
    body_encoding: Type.Literal('base64'),
    delivery_tag: Type.String({ description: 'a fresh uuid4 per message' }),
  }),
});
export type OutgoingEnvelope = Static<typeof OutgoingEnvelope>;

/** One task to send: its id (the Celery id and Conveyor's), target, payload and timing. */
export interface OutboundCeleryTask {
  readonly id: string;
  readonly target: CeleryTarget;
  readonly payload: unknown;
  readonly eta?: Date | null;
  readonly expires?: Date | null;
  /** Seconds, Celery's [hard, soft]. */
  readonly timeLimit?: readonly [number | null, number | null];
  readonly priority?: number;
}

/** The payload as Celery's call: the listed fields positionally, in order; every other field by keyword. */
export function celeryArguments(target: CeleryTarget, payload: unknown): { args: unknown[]; kwargs: Record<string, unknown> } {
  const fields = payload !== null && typeof payload === 'object' && !Array.isArray(payload) ? (payload as Record<string, unknown>) : {};
  const args: unknown[] = [];
  for (const name of target.args) {
    if (!(name in fields)) break; // a missing optional field ends the positional list: Python's default applies
    args.push(fields[name]);
  }
  const sent = new Set(target.args.slice(0, args.length));
  const kwargs: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) if (!sent.has(k)) kwargs[k] = v;
  return { args, kwargs };
}

/** Python's repr of a JSON value, as Celery's `argsrepr`/`kwargsrepr` carry it. */
export function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  if (typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`).join(', ')}}`;
  return pyRepr(String(v));
}

/** Celery 5.2 reads a short fraction as microseconds: six digits and an explicit offset. */
export function celeryTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000+00:00');
}


const b64 = (v: unknown) => Buffer.from(JSON.stringify(v), 'utf8').toString('base64');
const origin = () => `gen${process.pid}@${os.hostname()}`;

/** The message Celery 5.2's `send_task` would write for this task. */
export function celeryMessage(t: OutboundCeleryTask, replyTo: string): OutgoingEnvelope {
  const { args, kwargs } = celeryArguments(t.target, t.payload);
  const limit = t.timeLimit ?? [null, null];
  return {
    body: b64([args, kwargs, { callbacks: null, errbacks: null, chain: null, chord: null }]),
    'content-encoding': 'utf-8',
    'content-type': 'application/json',
    headers: {
      lang: 'py',
      task: t.target.name,
      id: t.id,
      shadow: null,
      eta: t.eta ? celeryTime(t.eta) : null,
      expires: t.expires ? celeryTime(t.expires) : null,
      group: null,
      group_index: null,
      retries: 0,
      timelimit: [limit[0], limit[1]],
      root_id: t.id,
      parent_id: null,
      argsrepr: pyRepr(args),
      kwargsrepr: pyRepr(kwargs),
      origin: origin(),
      ignore_result: false,
    },
    properties: {
      correlation_id: t.id,
      reply_to: replyTo,
      delivery_mode: 2,
      ...(t.expires ? { expiration: String(Math.max(0, t.expires.getTime() - Date.now())) } : {}),
      delivery_info: { exchange: '', routing_key: t.target.queue },
      priority: Math.min(9, Math.max(0, t.priority ?? 0)),
      body_encoding: 'base64',
      delivery_tag: randomUUID(),
    },
  };
}

/** Redis's database number of a URL (`redis://host:6379/8` → 8): kombu prefixes broadcast channels with it. */
export function redisDb(url: string): number {
  const n = Number.parseInt(new URL(url).pathname.replace(/^\//, '') || '0', 10);
  return Number.isInteger(n) && n >= 0 ? n : 0;
}

export interface CeleryPublisher {
  /** Send tasks (each its own message, in order); resolves once Redis has them all. */
  send(tasks: readonly OutboundCeleryTask[]): Promise<void>;
  /**
   * Revoke: drop the message if it still waits in its queue, broadcast `revoke` to every
   * running worker (one holding it for its eta discards it) and write REVOKED where Python's
   * `AsyncResult` reads it.
   */
  revoke(id: string, queue: string): Promise<void>;
  /**
   * Write REVOKED where Python's `AsyncResult` reads it (unless a finished state is stored): a
   * Celery message Conveyor took, revoked in Conveyor before it ran, so a Python caller
   * waiting on `.get()` raises TaskRevokedError instead of waiting for ever.
   */
  markRevoked(id: string): Promise<void>;
  /** Drop the task's stored result (before it is sent again under the same id: a retry). */
  forget(id: string): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export function celeryPublisher(opts: { brokerUrl: string; resultUrl: string }): CeleryPublisher {
  const connect = (url: string) => {
    const r = new Redis(url, { maxRetriesPerRequest: 2, lazyConnect: false, connectionName: 'conveyor-celery' });
    r.on('error', () => undefined); // reported by the failing call
    return r;
  };
  const broker = connect(opts.brokerUrl);
  const results = opts.resultUrl === opts.brokerUrl ? broker : connect(opts.resultUrl);
  const pidbox = `/${redisDb(opts.brokerUrl)}.celery.pidbox`;
  // Celery's reply_to is the producing app's id: one per process.
  const replyTo = randomUUID();
  let clock = 0;
  const bound = new Set<string>();

  const markRevoked = (id: string) => storeCeleryState(results, id, 'REVOKED', revokedException());

  return {
    async send(tasks) {
      if (tasks.length === 0) return;
      const multi = broker.multi();
      for (const t of tasks) {
        const q = t.target.queue;
        if (!bound.has(q)) multi.sadd(bindingKey(q), `${q}${SEP}${SEP}${q}`);
        multi.lpush(queueKey(q, t.priority), JSON.stringify(celeryMessage(t, replyTo)));
      }
      const out = await multi.exec();
      const failed = out?.find(([err]) => err);
      if (!out || failed) throw failed?.[0] ?? new Error('the Celery broker refused the message');
      for (const t of tasks) bound.add(t.target.queue);
    },
    async revoke(id, queue) {
      for (const key of STEPS.map((s) => queueKey(queue, s))) {
        const waiting = await broker.lrange(key, 0, -1);
        for (const raw of waiting) if (raw.includes(id) && messageId(raw) === id) await broker.lrem(key, 1, raw);
      }
      const body = { method: 'revoke', arguments: { task_id: id, terminate: false, signal: 'SIGTERM' }, destination: null, pattern: null, matcher: null };
      const envelope: OutgoingEnvelope = {
        body: b64(body),
        'content-encoding': 'utf-8',
        'content-type': 'application/json',
        headers: { clock: ++clock, expires: Date.now() / 1000 + 1 },
        properties: { delivery_mode: 2, delivery_info: { exchange: 'celery.pidbox', routing_key: '' }, priority: 0, body_encoding: 'base64', delivery_tag: randomUUID() },
      };
      await broker.publish(pidbox, JSON.stringify(envelope));
      await markRevoked(id);
    },
    markRevoked,
    async forget(id) {
      await results.del(resultKey(id));
    },
    async ping() {
      await broker.ping();
    },
    async close() {
      await Promise.all([...new Set([broker, results])].map((r) => r.quit().catch(() => r.disconnect())));
    },
  };
}

function messageId(raw: string): string | undefined {
  try {
    const m = JSON.parse(raw) as { headers?: { id?: unknown } };
    return typeof m.headers?.id === 'string' ? m.headers.id : undefined;
  } catch {
    return undefined;
  }
}
