/**
 * Celery's messages as kombu's Redis transport lays them out (protocol v2, JSON), and the
 * key names Celery and kombu share on a Redis database. Decoding only: what to do with a
 * message is the consumer's (consumer.ts). Measured against Celery 5.2 / kombu 5.2
 * (/work/shared/notes/celery-wire.md); docs/celery.md says what is honoured and refused.
 */
import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';

/** kombu's separator between a queue's name and its priority step. */
export const PRIORITY_SEP = '\x06\x16';
/** kombu's priority steps on Redis: 0–9 fall into 0/3/6/9, and 0 is served first. */
export const PRIORITY_STEPS = [0, 3, 6, 9] as const;

/** Keys every kombu worker of a Redis database shares (not per queue). */
export const UNACKED = 'unacked';
export const UNACKED_INDEX = 'unacked_index';
export const UNACKED_MUTEX = 'unacked_mutex';
/** How long a sweep may hold the mutex (kombu's `unacked_mutex_expire`, 300 s). */
export const UNACKED_MUTEX_MS = 300_000;
export const bindingKey = (exchange: string) => `_kombu.binding.${exchange}`;
/** Where Celery's Redis result backend keeps a task's state (and the channel it publishes on). */
export const resultKey = (celeryId: string) => `celery-task-meta-${celeryId}`;

/**
 * Take up to ARGV[1] messages off the lists (KEYS[1..n-2], in priority order) and record each
 * in `unacked` (KEYS[n-1] index, KEYS[n] hash) in the same atomic step, so a process killed
 * right after holds nothing that is not in `unacked`. Answers [list, raw, list, raw, …]. The
 * message JSON is stored verbatim (decoded only to read its tag and route; never re-encoded:
 * Redis's cjson turns an empty array into an object).
 */
export const POP_AND_RECORD = `
local n = #KEYS
local index, hash = KEYS[n - 1], KEYS[n]
local max, now = tonumber(ARGV[1]), ARGV[2]
local out = {}
for i = 1, n - 2 do
  while #out < max * 2 do
    local raw = redis.call('rpop', KEYS[i])
    if not raw then break end
    local ok, msg = pcall(cjson.decode, raw)
    if ok and type(msg) == 'table' and type(msg.properties) == 'table' and type(msg.properties.delivery_tag) == 'string' then
      local info = msg.properties.delivery_info
      local ex, rk = '', ARGV[2 + i]
      if type(info) == 'table' then
        if type(info.exchange) == 'string' then ex = info.exchange end
        if type(info.routing_key) == 'string' then rk = info.routing_key end
      end
      redis.call('zadd', index, now, msg.properties.delivery_tag)
      redis.call('hset', hash, msg.properties.delivery_tag, '[' .. raw .. ', ' .. cjson.encode(ex) .. ', ' .. cjson.encode(rk) .. ']')
    end
    out[#out + 1] = KEYS[i]
    out[#out + 1] = raw
  end
end
return out`;

/** The lists a kombu worker pops, in its order: every queue's priority 0, then 3, 6, 9. */
export function priorityLists(queues: readonly string[]): string[] {
  return PRIORITY_STEPS.flatMap((step) => queues.map((q) => (step === 0 ? q : `${q}${PRIORITY_SEP}${step}`)));
}

/** The Redis list a message of this priority goes to. */
export function queueKey(queue: string, priority: number | undefined): string {
  const p = Math.min(9, Math.max(0, priority ?? 0));
  let step = 0;
  for (const s of PRIORITY_STEPS) if (s <= p) step = s;
  return step === 0 ? queue : `${queue}${PRIORITY_SEP}${step}`;
}

/** The queue a list belongs to (its name without the priority suffix). */
export const queueOfList = (list: string) => list.split(PRIORITY_SEP)[0]!;

/** The envelope on the list (only what the consumer reads is required). */
export const CeleryEnvelope = Type.Object({
  body: Type.String(),
  'content-type': Type.Optional(Type.String()),
  'content-encoding': Type.Optional(Type.String()),
  headers: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  properties: Type.Optional(
    Type.Object({
      body_encoding: Type.Optional(Type.String()),
      delivery_tag: Type.Optional(Type.String()),
      priority: Type.Optional(Type.Union([Type.Number(), Type.Null()])),
      reply_to: Type.Optional(Type.Union([Type.String(), Type.Null()])),
      correlation_id: Type.Optional(Type.Union([Type.String(), Type.Null()])),
      delivery_info: Type.Optional(Type.Object({ exchange: Type.Optional(Type.String()), routing_key: Type.Optional(Type.String()) })),
    }),
  ),
});
export type CeleryEnvelope = Static<typeof CeleryEnvelope>;

const MaybeString = Type.Optional(Type.Union([Type.String(), Type.Null()]));
const MaybeNumber = Type.Optional(Type.Union([Type.Number(), Type.Null()]));

/** Protocol v2's headers, as far as Conveyor honours them. */
export const CeleryHeaders = Type.Object({
  task: Type.String({ minLength: 1 }),
  id: Type.String({ minLength: 1 }),
  root_id: MaybeString,
  parent_id: MaybeString,
  group: MaybeString,
  retries: MaybeNumber,
  eta: MaybeString,
  expires: MaybeString,
  timelimit: Type.Optional(Type.Union([Type.Array(Type.Union([Type.Number(), Type.Null()])), Type.Null()])),
  ignore_result: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
  compression: MaybeString,
});

/** Protocol v2's body: positional arguments, keyword arguments, the canvas embed. */
const CeleryBody = Type.Tuple([Type.Array(Type.Unknown()), Type.Record(Type.String(), Type.Unknown()), Type.Unknown()]);

/** A message Conveyor can run. */
export interface CeleryMessage {
  readonly id: string;
  readonly task: string;
  readonly args: readonly unknown[];
  readonly kwargs: Readonly<Record<string, unknown>>;
  readonly rootId: string | null;
  readonly parentId: string | null;
  readonly group: string | null;
  /** Times it was retried already. */
  readonly retries: number;
  readonly eta: Date | undefined;
  readonly expires: Date | undefined;
  /** Seconds: Celery sends `[hard, soft]`. */
  readonly hardTimeLimit: number | undefined;
  readonly softTimeLimit: number | undefined;
  /** 0–9, 0 first (kombu on Redis); undefined when not sent. */
  readonly priority: number | undefined;
  readonly ignoreResult: boolean;
}

/** A message Conveyor does not run, and why; `id` when the message told it. */
export interface Refusal {
  readonly reason: string;
  readonly id?: string;
  readonly task?: string;
}

export type Decoded = { readonly ok: true; readonly message: CeleryMessage } | { readonly ok: false; readonly refusal: Refusal };

/** Where kombu says a message came from (for the unacked record and a restore). */
export interface Delivery {
  readonly envelope: CeleryEnvelope;
  /** kombu's delivery tag (a fresh uuid per message); made up when missing. */
  readonly tag: string | undefined;
  readonly exchange: string;
  readonly routingKey: string;
}

/** The list item as JSON, or undefined when it is not an envelope at all. */
export function parseEnvelope(raw: string): CeleryEnvelope | undefined {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return undefined;
  }
  return Value.Check(CeleryEnvelope, v) ? v : undefined;
}

const str = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : undefined);

/**
 * A time as Celery writes it: ISO 8601, usually with an offset; a naive one is UTC (Celery's
 * default `enable_utc`). Fractions longer than milliseconds are cut (Celery writes six digits).
 */
export function parseCeleryTime(text: string): Date | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2})?)(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?$/.exec(text.trim());
  if (!m) return undefined;
  const frac = m[2] ? `.${m[2].slice(0, 3).padEnd(3, '0')}` : '';
  const d = new Date(`${m[1]!.replace(' ', 'T')}${frac}${m[3] ?? 'Z'}`);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** Decode a protocol-v2 JSON message, or say why it is refused (never quoting its body). */
export function decodeMessage(env: CeleryEnvelope): Decoded {
  const h = env.headers ?? {};
  const idHint = str(h.id);
  const taskHint = str(h.task);
  const refuse = (reason: string, id = idHint, task = taskHint): Decoded => ({ ok: false, refusal: { reason, ...(id ? { id } : {}), ...(task ? { task } : {}) } });
  const type = env['content-type'] ?? 'application/json';
  if (type !== 'application/json') return refuse(`content type ${JSON.stringify(type)} is not accepted (only JSON: pickle, yaml and msgpack are refused)`);
  const encoding = (env['content-encoding'] ?? 'utf-8').toLowerCase();
  if (encoding !== 'utf-8' && encoding !== 'utf8') return refuse(`content encoding ${JSON.stringify(encoding)} is not accepted (only utf-8)`);
  if (str(h.compression)) return refuse('compressed bodies are not accepted');
  const bodyEncoding = env.properties?.body_encoding ?? 'base64';
  let text: string;
  if (bodyEncoding === 'base64') text = Buffer.from(env.body, 'base64').toString('utf8');
  else return refuse(`body encoding ${JSON.stringify(bodyEncoding)} is not accepted (only base64)`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return refuse('the body is not JSON');
  }
  if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
    // Protocol 1 keeps everything in a dict body (its id and task name too).
    const b = body as Record<string, unknown>;
    return refuse('protocol 1 messages are not accepted (send with task_protocol = 2, the default since Celery 4)', idHint ?? str(b.id), taskHint ?? str(b.task));
  }
  if (!Value.Check(CeleryHeaders, h)) return refuse('the headers are not protocol 2 (task and id are required)');
  if (!Value.Check(CeleryBody, body)) return refuse('the body is not protocol 2 ([args, kwargs, embed])');
  const [args, kwargs] = body;
  const eta = h.eta ? parseCeleryTime(h.eta) : undefined;
  if (h.eta && !eta) return refuse('eta is not an ISO 8601 time');
  const expires = h.expires ? parseCeleryTime(h.expires) : undefined;
  if (h.expires && !expires) return refuse('expires is not an ISO 8601 time');
  const [hard, soft] = h.timelimit ?? [];
  const priority = env.properties?.priority;
  return {
    ok: true,
    message: {
      id: h.id,
      task: h.task,
      args,
      kwargs,
      rootId: h.root_id ?? null,
      parentId: h.parent_id ?? null,
      group: h.group ?? null,
      retries: Math.max(0, Math.floor(h.retries ?? 0)),
      eta,
      expires,
      hardTimeLimit: typeof hard === 'number' && hard > 0 ? hard : undefined,
      softTimeLimit: typeof soft === 'number' && soft > 0 ? soft : undefined,
      priority: typeof priority === 'number' ? Math.min(9, Math.max(0, Math.round(priority))) : undefined,
      ignoreResult: h.ignore_result === true,
    },
  };
}

/** The delivery of an envelope: its tag and where a restore sends it. */
export function deliveryOf(envelope: CeleryEnvelope, queue: string): Delivery {
  const info = envelope.properties?.delivery_info;
  return { envelope, tag: envelope.properties?.delivery_tag, exchange: info?.exchange ?? '', routingKey: info?.routing_key ?? queue };
}
