/** The task engine's failures a caller can act on; the task API maps them to HTTP codes. */

export class UnknownTaskError extends Error {
  override name = 'UnknownTaskError';
  constructor(name: string) {
    super(`unknown task ${JSON.stringify(name)}`);
  }
}

export interface ArgIssue {
  readonly field: string;
  readonly message: string;
}

export class InvalidArgsError extends Error {
  override name = 'InvalidArgsError';
  readonly issues: readonly ArgIssue[];
  constructor(task: string, issues: readonly ArgIssue[]) {
    super(`invalid arguments for ${task}`);
    this.issues = issues;
  }
}

export class QueueFullError extends Error {
  override name = 'QueueFullError';
  constructor(queue: string, limit: number) {
    super(`queue ${queue} has more than ${limit} waiting tasks`);
  }
}

export class TaskFinishedError extends Error {
  override name = 'TaskFinishedError';
  readonly state: string;
  constructor(state: string) {
    super(`the task already finished (${state})`);
    this.state = state;
  }
}

/** The broker failed a call and does not answer a ping either: it cannot be reached right now. */
export class BrokerUnavailableError extends Error {
  override name = 'BrokerUnavailableError';
  constructor(options?: ErrorOptions) {
    super('The task broker cannot be reached right now', options);
  }
}

/** A Celery task (`defineCeleryTask`) was enqueued or revoked while CELERY_BROKER_URL is unset. */
export class CeleryNotConfiguredError extends Error {
  override name = 'CeleryNotConfiguredError';
  constructor(task: string) {
    super(`${task} runs on Celery workers, and CELERY_BROKER_URL is not set`);
  }
}
