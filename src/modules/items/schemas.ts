/** Item shapes: each is the TypeScript type, the request validation and the OpenAPI entry at once. */
import { Type, type Static } from 'typebox';

const statusLiterals = () => Type.Union([Type.Literal('active'), Type.Literal('inactive')]);
export const ItemStatus = statusLiterals();
export const Name = Type.String({ minLength: 1, maxLength: 200 });
export const Description = Type.String({ maxLength: 10_000 });
export const Score = Type.Number();

export const Item = Type.Object(
  {
    id: Type.Integer(),
    name: Type.String(),
    description: Type.String(),
    status: statusLiterals(),
    score: Type.Number(),
    created_at: Type.String({ format: 'date-time' }),
    updated_at: Type.String({ format: 'date-time' }),
  },
  { description: 'An item (the seed\'s MyModel)' },
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
