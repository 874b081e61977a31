// Revoke and retry buttons for a task, shown only when the action makes sense.
import { api } from './api.js';
import { h } from './dom.js';

const FINISHED = new Set(['SUCCESS', 'FAILURE', 'REVOKED']);

export function canRevoke(task) {
  return !FINISHED.has(task.state);
}

export function canRetry(task) {
  // A Celery task only seen in the cluster's events: Conveyor does not know how to send it again.
  return (task.state === 'FAILURE' || task.state === 'REVOKED') && task.celery_source !== 'events';
}

/** Buttons for one task; `report(message, isError)` tells the user what happened. */
export function actionButtons(task, { small = false, report, onDone }) {
  const size = small ? ' small' : '';
  const run = (verb, fn) => async (e) => {
    const button = e.currentTarget;
    button.disabled = true;
    try {
      const updated = await fn(task.task_id);
      report?.(`Task ${task.task_id} ${verb}: now ${updated.state}.`, false);
      onDone?.(updated);
    } catch (err) {
      report?.(`Could not ${verb === 'revoked' ? 'revoke' : 'retry'} task ${task.task_id}: ${err.message}`, true);
      button.disabled = false;
    }
  };
  return [
    canRevoke(task) && h('button', { type: 'button', class: `button danger${size}`, 'aria-label': `Revoke task ${task.task_id}`, onclick: run('revoked', api.revoke) }, 'Revoke'),
    canRetry(task) && h('button', { type: 'button', class: `button${size}`, 'aria-label': `Retry task ${task.task_id}`, onclick: run('retried', api.retry) }, 'Retry'),
  ].filter(Boolean);
}
