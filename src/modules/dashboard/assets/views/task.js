// One task: arguments, result, error and stack trace, attempts, timeline and runtime, with
// revoke/retry; redrawn when an event for it arrives.
import { actionButtons } from '../lib/actions.js';
import { api } from '../lib/api.js';
import { badge, celeryBadge, h, replace } from '../lib/dom.js';
import { json, ms, time } from '../lib/format.js';
import * as live from '../lib/live.js';

function timeline(task, seen) {
  const entries = [{ label: 'Received', at: task.created_at }];
  if (task.started_at) entries.push({ label: task.retries > 0 ? `Started (attempt ${task.attempts})` : 'Started', at: task.started_at });
  for (const e of seen) if (e.state === 'RETRY') entries.push({ label: `Retry ${e.retries} scheduled${e.error ? `: ${e.error}` : ''}`, at: e.at });
  if (task.finished_at) entries.push({ label: ({ SUCCESS: 'Succeeded', FAILURE: 'Failed', REVOKED: 'Revoked' })[task.state] ?? `Finished: ${task.state}`, at: task.finished_at });
  else if (task.state === 'REVOKED') entries.push({ label: 'Revoked', at: seen.findLast((e) => e.state === 'REVOKED')?.at ?? null });
  entries.sort((a, b) => (a.at && b.at ? new Date(a.at) - new Date(b.at) : 0));
  return h('ol', { class: 'timeline' }, entries.map((e) => h('li', {}, h('strong', {}, e.label), e.at && h('time', { datetime: e.at }, time(e.at)))));
}

export function taskView(main, id) {
  const status = h('p', { class: 'status-line', role: 'status', 'aria-live': 'polite' });
  const report = (message, isError) => { status.textContent = message; status.className = `status-line${isError ? ' error' : ''}`; };
  const seen = [];
  const controller = new AbortController();

  const draw = (t) => {
    replace(main,
      h('p', {}, h('a', { href: '/dashboard/tasks', 'data-nav': true }, '← All tasks')),
      h('div', { class: 'detail-head' },
        h('h1', {}, t.name, celeryBadge(t), ' ', h('span', { class: 'mono muted' }, t.task_id)),
        h('span', { id: 'task-state' }, badge(t.state)),
        h('div', { class: 'actions' }, actionButtons(t, { report, onDone: draw }))),
      status,
      h('div', { class: 'grid' },
        h('section', { class: 'panel', 'aria-labelledby': 'h-facts' }, h('h2', { id: 'h-facts' }, 'Summary'),
          h('dl', { class: 'facts' },
            h('dt', {}, 'State'), h('dd', {}, t.state),
            t.waiting && [h('dt', {}, 'Waiting'), h('dd', { id: 'task-waiting' }, t.waiting)],
            t.workflow_id && [h('dt', {}, 'Workflow'), h('dd', {}, h('a', { href: `/dashboard/workflows/${encodeURIComponent(t.workflow_id)}`, 'data-nav': true, id: 'task-workflow' }, t.workflow_id))],
            t.celery_source === 'message' && [h('dt', {}, 'From'), h('dd', { id: 'task-from' }, 'a Celery message')],
            h('dt', {}, 'Queue'), h('dd', {}, t.queue),
            t.origin === 'celery' && [h('dt', {}, 'Runs on'), h('dd', { id: 'task-origin' }, 'Python Celery', t.celery_worker ? ` (${t.celery_worker})` : '')],
            h('dt', {}, 'Attempts'), h('dd', {}, String(t.attempts)),
            h('dt', {}, 'Retries'), h('dd', {}, String(t.retries)),
            h('dt', {}, 'Runtime'), h('dd', {}, ms(t.runtime_ms)),
            h('dt', {}, 'Received'), h('dd', {}, time(t.created_at)),
            h('dt', {}, 'Started'), h('dd', {}, time(t.started_at)),
            h('dt', {}, 'Finished'), h('dd', {}, time(t.finished_at)))),
        h('section', { class: 'panel', 'aria-labelledby': 'h-timeline' }, h('h2', { id: 'h-timeline' }, 'Timeline'), timeline(t, seen))),
      h('section', { class: 'panel', 'aria-labelledby': 'h-args' }, h('h2', { id: 'h-args' }, 'Arguments'), h('pre', { class: 'json', tabindex: '0' }, json(t.args))),
      h('div', { class: 'grid' },
        'result' in t && h('section', { class: 'panel', 'aria-labelledby': 'h-result' }, h('h2', { id: 'h-result' }, 'Result'), h('pre', { class: 'json', tabindex: '0', id: 'task-result' }, json(t.result))),
        (t.error || t.traceback) && h('section', { class: 'panel', 'aria-labelledby': 'h-error' }, h('h2', { id: 'h-error' }, 'Error'),
          t.error && h('p', { class: 'error', id: 'task-error' }, t.error),
          t.traceback && h('pre', { class: 'trace', tabindex: '0', 'aria-label': 'Stack trace' }, t.traceback))));
  };

  const load = () => api.task(id, { signal: controller.signal }).then(draw).catch((err) => {
    if (err.name === 'AbortError') return;
    replace(main, h('p', {}, h('a', { href: '/dashboard/tasks', 'data-nav': true }, '← All tasks')),
      h('h1', {}, 'Task not found'), h('p', { class: 'muted' }, err.status === 404 ? `No task ${id} (it may have expired).` : err.message));
  });
  replace(main, h('p', { class: 'muted' }, 'Loading…'));
  load();
  const off = live.on('task', (e) => {
    if (e.task_id !== id) return;
    seen.push(e);
    load();
  });
  return () => { controller.abort(); off(); };
}
