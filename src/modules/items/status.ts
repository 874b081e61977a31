/** The one declaration of an item's statuses: the TypeScript type, the API's schema and the table's CHECK come from it. */
import { Type, type TLiteral } from 'typebox';

export const itemStatuses = ['active', 'inactive'] as const;
export type ItemStatus = (typeof itemStatuses)[number];

type Literals<T extends readonly string[]> = { -readonly [K in keyof T]: TLiteral<T[K]> };

/** A fresh schema per use (each OpenAPI entry spells it out; none is a shared `$ref`). */
export const itemStatusSchema = () => Type.Union(itemStatuses.map((s) => Type.Literal(s)) as Literals<typeof itemStatuses>);
