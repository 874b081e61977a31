/** Shapes of the bulk endpoints (create many, update many). */
import { Type, type Static } from 'typebox';
import { CreateItem, Description, ItemStatus, Score } from './schemas.ts';

export const MAX_BULK = 10_000;

export const BulkCreate = Type.Array(CreateItem, { minItems: 1, maxItems: MAX_BULK });
export type BulkCreate = Static<typeof BulkCreate>;

export const BulkCreated = Type.Object({
  created: Type.Integer(),
  ids: Type.Array(Type.Integer(), { description: 'In the order of the request' }),
});
export type BulkCreated = Static<typeof BulkCreated>;

export const BulkUpdate = Type.Object(
  {
    ids: Type.Array(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }), { minItems: 1, maxItems: MAX_BULK }),
    set: Type.Optional(
      Type.Object(
        { status: Type.Optional(ItemStatus), score: Type.Optional(Score), description: Type.Optional(Description) },
        { additionalProperties: false, description: 'Fields given the same value on every item; optional when `append_description` is given' },
      ),
    ),
    append_description: Type.Optional(
      Type.String({
        maxLength: 10_000,
        description: 'Appended to each description in SQL (`description = description || $append`); after `set.description` when both are given',
      }),
    ),
  },
  { additionalProperties: false, description: 'At least one of `set` (naming a field) and `append_description`; with neither the answer is 400 naming both' },
);
export type BulkUpdate = Static<typeof BulkUpdate>;

export const BulkUpdated = Type.Object({ updated: Type.Integer() });
export type BulkUpdated = Static<typeof BulkUpdated>;
