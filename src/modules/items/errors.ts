/**
 * What can go wrong with items, in the items' own terms. The service throws these; the HTTP
 * error table (src/app/error-table.ts) gives each its status, code and details.
 */

export class ItemNotFound extends Error {
  override name = 'ItemNotFound';
  readonly id: number;
  constructor(id: number) {
    super(`No item ${id}`);
    this.id = id;
  }
}

/** A bulk update named ids that match no item; nothing was changed. */
export class ItemsNotFound extends Error {
  override name = 'ItemsNotFound';
  readonly ids: readonly number[];
  constructor(ids: readonly number[]) {
    super(`${ids.length} of the ids match no item; nothing was updated`);
    this.ids = ids;
  }
}

/** Another item already has this name (names are unique). */
export class NameTaken extends Error {
  override name = 'NameTaken';
  constructor(name?: string, options?: ErrorOptions) {
    super(name === undefined ? 'An item with that name already exists' : `An item named ${JSON.stringify(name)} already exists`, options);
  }
}

/** A bulk create names the same item more than once; nothing was created. */
export class DuplicateNames extends Error {
  override name = 'DuplicateNames';
  readonly names: readonly string[];
  constructor(names: readonly string[]) {
    super(`${names.length} name(s) appear more than once in the request`);
    this.names = names;
  }
}

/** get-or-create lost every race for a name whose item kept being deleted and recreated. */
export class ItemContended extends Error {
  override name = 'ItemContended';
  constructor(name: string) {
    super(`The item named ${JSON.stringify(name)} kept changing; retry`);
  }
}

/** A change that would leave a description over its limit (an append can overshoot it). */
export class DescriptionTooLong extends Error {
  override name = 'DescriptionTooLong';
  constructor(options?: ErrorOptions) {
    super('The change would break a constraint (description is at most 10,000 characters)', options);
  }
}

/** An input the request schema cannot rule out alone; `issues` name fields of the request body. */
export class InvalidItemInput extends Error {
  override name = 'InvalidItemInput';
  readonly issues: readonly { readonly field: string; readonly message: string }[];
  constructor(message: string, issues: readonly { readonly field: string; readonly message: string }[]) {
    super(message);
    this.issues = issues;
  }
}
