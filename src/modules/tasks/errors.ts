/** The task API's own failures; the engine's (UnknownTaskError, QueueFullError…) come from src/tasks/errors.ts. */

/** No such task, or one the caller may not see: to them it does not exist (404). */
export class TaskNotFound extends Error {
  override name = 'TaskNotFound';
  constructor() {
    super('No such task');
  }
}

/** An `after` that is not a `next` this API gave out: the listing would otherwise start over (400). */
export class InvalidCursor extends Error {
  override name = 'InvalidCursor';
  constructor() {
    super('Bad cursor');
  }
}
