/** JSON shapes of the dashboard API (/dashboard/api): one declaration for types, validation and OpenAPI. */
import { Type, type Static } from 'typebox';
import { TaskStateSchema } from '../tasks/schemas.ts';

const Time = Type.String({ format: 'date-time' });
const MaybeTime = Type.Union([Time, Type.Null()]);

export { TaskStateSchema };

export const MonitorTask = Type.Object(
  {
    task_id: Type.String(),
    name: Type.String(),
    queue: Type.String(),
    state: TaskStateSchema,
    args: Type.Unknown(),
    result: Type.Optional(Type.Unknown()),
    error: Type.Optional(Type.String()),
    traceback: Type.Optional(Type.String()),
    retries: Type.Integer(),
    attempts: Type.Integer({ description: 'Runs so far (retries + the first run), 0 while never started' }),
    created_at: Time,
    started_at: MaybeTime,
    finished_at: MaybeTime,
    runtime_ms: Type.Union([Type.Number(), Type.Null()]),
    workflow_id: Type.Union([Type.String(), Type.Null()], { description: 'The workflow it belongs to' }),
    waiting: Type.Union([Type.String(), Type.Null()], { description: 'Why a PENDING task is not running yet: a rate or concurrency limit, earlier workflow steps' }),
    origin: Type.Union([Type.Literal('conveyor'), Type.Literal('celery')], { description: 'Who runs it: Conveyor\'s workers (its own tasks, and Celery messages Conveyor consumes), or Python Celery workers (sent by Conveyor, or seen in the cluster\'s events)' }),
    celery_worker: Type.Union([Type.String(), Type.Null()], { description: 'The Celery worker that received or ran it' }),
    celery_source: Type.Union([Type.Literal('message'), Type.Literal('outbound'), Type.Literal('events'), Type.Null()], { description: 'A Celery message sent by Python and run by Conveyor (`message`), a Celery task sent by Conveyor (`defineCeleryTask`: it can be retried), or one only seen in the cluster\'s events' }),
  },
  { description: 'A task as the monitor shows it' },
);

export const MonitorWorkflowNode = Type.Object({
  task_id: Type.String(),
  name: Type.String(),
  state: TaskStateSchema,
  deps: Type.Array(Type.String(), { description: 'The tasks it waits for' }),
  level: Type.Integer({ minimum: 0, description: 'Its column in the drawing: the longest path from a first step' }),
  waiting: Type.Union([Type.String(), Type.Null()]),
  error: Type.Optional(Type.String()),
});

export const MonitorWorkflow = Type.Object(
  {
    workflow_id: Type.String(),
    state: TaskStateSchema,
    created_at: Time,
    finished_at: MaybeTime,
    result: Type.Optional(Type.Unknown()),
    nodes: Type.Array(MonitorWorkflowNode),
  },
  { description: 'A workflow as a graph: its tasks, each with the tasks it waits for' },
);
export type MonitorWorkflow = Static<typeof MonitorWorkflow>;
export type MonitorTask = Static<typeof MonitorTask>;

export const TaskList = Type.Object({ data: Type.Array(MonitorTask), next: Type.Union([Type.String(), Type.Null()]) });

export const MonitorWorker = Type.Object({
  id: Type.String(),
  host: Type.String(),
  pid: Type.Integer(),
  queues: Type.Array(Type.String()),
  concurrency: Type.Integer(),
  active: Type.Integer(),
  processed: Type.Integer(),
  failed: Type.Integer(),
  memory_bytes: Type.Integer(),
  started_at: Time,
  last_seen: Time,
  uptime_s: Type.Integer(),
  online: Type.Boolean(),
  kind: Type.Union([Type.Literal('conveyor'), Type.Literal('celery')], { description: 'A Conveyor worker, or a Python Celery worker seen in its events' }),
  loadavg: Type.Union([Type.Array(Type.Number()), Type.Null()], { description: 'A Celery worker\'s load average (1, 5, 15 min)' }),
  heartbeat_s: Type.Union([Type.Number(), Type.Null()], { description: 'A Celery worker\'s heartbeat frequency; offline after twice this' }),
});
export type MonitorWorker = Static<typeof MonitorWorker>;

export const MonitorQueue = Type.Object(
  {
    queue: Type.String(),
    waiting: Type.Integer(),
    active: Type.Integer(),
    delayed: Type.Integer(),
    prioritized: Type.Integer(),
    paused: Type.Boolean(),
  },
  { description: 'What the broker holds for a queue now; finished tasks are counted in the history' },
);
export type MonitorQueue = Static<typeof MonitorQueue>;

export const MinuteJson = Type.Object({
  minute: Time,
  succeeded: Type.Integer(),
  failed: Type.Integer(),
  retried: Type.Integer(),
  p50_ms: Type.Union([Type.Number(), Type.Null()]),
  p95_ms: Type.Union([Type.Number(), Type.Null()]),
  p99_ms: Type.Union([Type.Number(), Type.Null()]),
});
export type MinuteJson = Static<typeof MinuteJson>;

export const Overview = Type.Object({
  history: Type.Array(MinuteJson),
  queues: Type.Array(MonitorQueue),
  workers: Type.Array(MonitorWorker),
  unserved_queues: Type.Array(Type.String(), { description: 'Queues no online worker consumes: their tasks wait' }),
  user: Type.Object({ username: Type.String() }),
});

export const TaskListQuery = Type.Object(
  {
    state: Type.Optional(TaskStateSchema),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    search: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Id, name or argument text' })),
    limit: Type.Integer({ minimum: 1, maximum: 200, default: 25 }),
    after: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false },
);
export type TaskListQuery = Static<typeof TaskListQuery>;

export const TaskIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) });
export type TaskIdParams = Static<typeof TaskIdParams>;
