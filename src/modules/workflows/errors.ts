/** The workflow API's own failures; an invalid canvas is the engine's InvalidCanvasError. */

/** No such workflow, or one the caller may not see: to them it does not exist (404). */
export class WorkflowNotFound extends Error {
  override name = 'WorkflowNotFound';
  constructor() {
    super('No such workflow');
  }
}

/** Revoking a workflow whose tasks have all finished (409). */
export class WorkflowFinished extends Error {
  override name = 'WorkflowFinished';
  constructor(options?: ErrorOptions) {
    super('The workflow already finished', options);
  }
}
