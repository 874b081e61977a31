/** Task API shapes: each is the TypeScript type, the request validation and the OpenAPI entry at once. */
import { Type, type Static } from 'typebox';
import { TaskStateSchema } from '../../tasks/types.ts';

export { TaskStateSchema };

/** Per-call options of a task (and of a workflow's signature). */
export const TaskOptions = Type.Object(
  {
    delay_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: 365 * 86_400_000, description: 'Run no sooner than this (countdown)' })),
    retries: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
    timeout_ms: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400_000 })),
    priority: Type.Optional(Type.Integer({ minimum: 1, maximum: 2_097_152, description: '1 is the highest' })),
  },
  { additionalProperties: false },
);

export const EnqueueBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, examples: ['fetch_data'] }),
    args: Type.Optional(Type.Unknown({ description: 'The task payload, validated against the task\'s schema', examples: [{ url: 'https://example.com/data.json' }] })),
    options: Type.Optional(
      Type.Object(
        {
          ...TaskOptions.properties,
          unique_key: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'While a task of this name and key is unfinished (or finished less than unique_for_ms ago), answer it (200, deduplicated) instead of making another' })),
          unique_for_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: 30 * 86_400_000, description: 'How long after it finished a unique task still stands for its key (default 0: only while unfinished)' })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type EnqueueBody = Static<typeof EnqueueBody>;

export const Accepted = Type.Object({ task_id: Type.String({ format: 'uuid' }), state: Type.Literal('PENDING') });

/** A unique task's enqueue that found its twin: the task that stands for the key. */
export const Deduplicated = Type.Object({ task_id: Type.String({ format: 'uuid' }), state: TaskStateSchema, deduplicated: Type.Literal(true) });

export const Task = Type.Object(
  {
    task_id: Type.String(),
    name: Type.String(),
    state: TaskStateSchema,
    result: Type.Optional(Type.Unknown()),
    error: Type.Optional(Type.String()),
    retries: Type.Integer(),
    created_at: Type.String({ format: 'date-time' }),
    started_at: Type.Optional(Type.String({ format: 'date-time' })),
    finished_at: Type.Optional(Type.String({ format: 'date-time' })),
    request_id: Type.Optional(Type.String({ description: 'The x-request-id of the HTTP request that enqueued it' })),
    workflow_id: Type.Optional(Type.String({ format: 'uuid', description: 'The workflow it belongs to' })),
    origin: Type.Optional(Type.String({ description: 'Where it came from when not enqueued through Conveyor: `celery` (a message sent by Python code to a Celery queue Conveyor consumes)' })),
  },
  { description: 'A task: its state, result or error, retries and times' },
);
export type Task = Static<typeof Task>;

export const TaskIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) });

export const ListQuery = Type.Object(
  {
    state: Type.Optional(TaskStateSchema),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Text contained in the arguments (their JSON), case-insensitive' })),
    created_by: Type.Optional(Type.Integer({ minimum: 1, description: 'Staff only: tasks of this user (others always see their own)' })),
    created_after: Type.Optional(Type.String({ format: 'date-time', description: 'Created at or after this time' })),
    created_before: Type.Optional(Type.String({ format: 'date-time', description: 'Created before this time' })),
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
    after: Type.Optional(Type.String({ minLength: 1, maxLength: 1000, description: 'Cursor: `next` of the previous page' })),
  },
  { additionalProperties: false },
);
export type ListQuery = Static<typeof ListQuery>;

export const TaskList = Type.Object({ data: Type.Array(Task), next: Type.Union([Type.String(), Type.Null()]) });
