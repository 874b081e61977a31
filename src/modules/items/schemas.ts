/** Item shapes: each is the TypeScript type, the request validation and the OpenAPI entry at once. */
import { Type, type Static } from 'typebox';
import { itemStatusSchema } from './status.ts';

export const ItemStatus = itemStatusSchema();
export const Name = Type.String({ minLength: 1, maxLength: 200 });
export const Description = Type.String({ maxLength: 10_000 });
export const Score = Type.Number();

export const Item = Type.Object(
  {
    id: Type.Integer(),
    name: Type.String(),
    description: Type.String(),
    status: itemStatusSchema(),
    score: Type.Number(),
    created_at: Type.String({ format: 'date-time' }),
    updated_at: Type.String({ format: 'date-time' }),
  },
  { description: 'An item: a unique name, a description, a status and a score' },
);
export type Item = Static<typeof Item>;

export const ItemId = Type.Object({ id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) });

export const CreateItem = Type.Object(
  { name: Name, description: Type.Optional(Description), status: Type.Optional(ItemStatus), score: Type.Optional(Score) },
  { additionalProperties: false },
);
export type CreateItem = Static<typeof CreateItem>;

export const UpdateItem = Type.Object(
  { name: Type.Optional(Name), description: Type.Optional(Description), status: Type.Optional(ItemStatus), score: Type.Optional(Score) },
  { additionalProperties: false },
);
export type UpdateItem = Static<typeof UpdateItem>;

export const ItemDefaults = Type.Object(
  { description: Type.Optional(Description), status: Type.Optional(ItemStatus), score: Type.Optional(Score) },
  { additionalProperties: false },
);
export type ItemDefaults = Static<typeof ItemDefaults>;

export const StatusFilter = Type.Object({ status: Type.Optional(ItemStatus) }, { additionalProperties: false });
export type StatusFilter = Static<typeof StatusFilter>;

export const ListQuery = Type.Object(
  {
    status: Type.Optional(ItemStatus),
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'Page size' }),
    after: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'Cursor: the `next` of the previous page' })),
  },
  { additionalProperties: false },
);
export type ListQuery = Static<typeof ListQuery>;

export const ItemPage = Type.Object({
  data: Type.Array(Item),
  next: Type.Union([Type.Integer(), Type.Null()], { description: 'Pass as `after` for the next page; null on the last page' }),
});
export type ItemPage = Static<typeof ItemPage>;

const MaybeItem = () => Type.Union([Item, Type.Null()]);
export const FirstLast = Type.Object({ first: MaybeItem(), last: MaybeItem() });
export type FirstLast = Static<typeof FirstLast>;

export const ExistsQuery = Type.Object(
  { status: Type.Optional(ItemStatus), name: Type.Optional(Name) },
  { additionalProperties: false },
);
export type ExistsQuery = Static<typeof ExistsQuery>;

export const Exists = Type.Object({ exists: Type.Boolean() });
export const Count = Type.Object({ count: Type.Integer() });

export const Aggregate = Type.Object(
  {
    count: Type.Integer(),
    avg: Type.Union([Type.Number(), Type.Null()]),
    min: Type.Union([Type.Number(), Type.Null()]),
    max: Type.Union([Type.Number(), Type.Null()]),
    sum: Type.Number(),
  },
  { description: 'Aggregates over `score`; avg/min/max are null and sum is 0 when nothing matches' },
);
export type Aggregate = Static<typeof Aggregate>;

export const GetOrCreate = Type.Object({ name: Name, defaults: Type.Optional(ItemDefaults) }, { additionalProperties: false });
export type GetOrCreate = Static<typeof GetOrCreate>;

export const UpdateOrCreate = Type.Object(
  {
    id: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
    name: Type.Optional(Name),
    defaults: ItemDefaults,
  },
  { additionalProperties: false },
);
export type UpdateOrCreate = Static<typeof UpdateOrCreate>;

export const ItemOutcome = Type.Object({ item: Item, created: Type.Boolean() });
export type ItemOutcome = Static<typeof ItemOutcome>;
