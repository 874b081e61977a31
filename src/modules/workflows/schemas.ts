/** Workflow API shapes (chains, groups and chords over HTTP): the type, the validation and the OpenAPI entry at once. */
import { Type, type Static } from 'typebox';
import { TaskStateSchema } from '../../tasks/types.ts';
import { TaskOptions } from '../tasks/schemas.ts';

const Signature = Type.Object(
  {
    task: Type.String({ minLength: 1, maxLength: 100, description: 'A task name', examples: ['fetch_data'] }),
    args: Type.Optional(Type.Unknown({ description: 'Its payload, validated against the task\'s schema' })),
    options: Type.Optional(TaskOptions),
  },
  { additionalProperties: false },
);

/**
 * A canvas node: a signature, or `{chain: [...]}`, `{group: [...]}`, `{chord: {header, body}}`.
 * Emptiness, size (1,000 tasks) and depth (10) are checked by the engine, naming the place.
 */
export const CanvasNode = Type.Cyclic(
  {
    WorkflowNode: Type.Union([
      Signature,
      Type.Object({ chain: Type.Array(Type.Ref('WorkflowNode'), { description: 'Each runs after the previous one succeeded, with its result as ctx.previous' }) }, { additionalProperties: false }),
      Type.Object({ group: Type.Array(Type.Ref('WorkflowNode'), { description: 'All at once; the result is the array of their results' }) }, { additionalProperties: false }),
      Type.Object(
        {
          chord: Type.Object(
            { header: Type.Array(Type.Ref('WorkflowNode')), body: Type.Ref('WorkflowNode') },
            { additionalProperties: false, description: 'The body runs once every header task succeeded, with the array of their results' },
          ),
        },
        { additionalProperties: false },
      ),
    ]),
  },
  'WorkflowNode',
);
export type CanvasNodeBody = Static<typeof CanvasNode>;

export const WorkflowAccepted = Type.Object({
  workflow_id: Type.String({ format: 'uuid' }),
  state: Type.Literal('PENDING'),
  tasks: Type.Array(Type.String({ format: 'uuid' }), { description: 'The task ids, in the order their signatures appear' }),
});

export const Workflow = Type.Object(
  {
    workflow_id: Type.String({ format: 'uuid' }),
    state: TaskStateSchema,
    created_at: Type.String({ format: 'date-time' }),
    finished_at: Type.Optional(Type.String({ format: 'date-time' })),
    canvas: Type.Unknown({ description: 'The submitted shape, every signature with its task_id and state' }),
    result: Type.Optional(Type.Unknown({ description: 'On SUCCESS: the last step\'s result, or a group\'s array' })),
  },
  { description: 'A workflow: a chain, group or chord of tasks; its state is its tasks\'' },
);
export type Workflow = Static<typeof Workflow>;

export const WorkflowIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });
