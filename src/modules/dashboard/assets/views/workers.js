// Workers: one row per worker process seen in the last hour; a worker turns offline a few
// seconds after its last heartbeat (pushed by the live snapshot).
import { api } from '../lib/api.js';
import { badge, celeryBadge, h, replace, table } from '../lib/dom.js';
import { ago, bytes, count, duration } from '../lib/format.js';
import * as live from '../lib/live.js';

export function workersView(main) {
  const body = h('div');
  const summary = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite' });
  replace(main, h('h1', {}, 'Workers'), summary, h('section', { class: 'panel' }, body));
  let workers = [];

  const draw = () => {
    const online = workers.filter((w) => w.online).length;
    summary.textContent = `${online} online, ${workers.length - online} offline (seen in the last hour).`;
    replace(body, workers.length === 0
      ? h('p', { class: 'muted' }, 'No worker has reported yet. Start one with conveyor worker (Celery workers appear with celery worker -E).')
      : table('Workers', [
        { label: 'Status' }, { label: 'Host' }, { label: 'PID', num: true }, { label: 'Queues' }, { label: 'Concurrency', num: true },
        { label: 'Active', num: true }, { label: 'Processed', num: true }, { label: 'Failed', num: true }, { label: 'Memory', num: true },
        { label: 'Uptime', num: true }, { label: 'Last seen' },
      ], workers.map((w) => h('tr', { class: w.online ? '' : 'offline', dataset: { worker: w.id } },
        h('td', {}, badge(w.online ? 'online' : 'offline')),
        h('th', { scope: 'row' }, w.host, celeryBadge(w)),
        h('td', { class: 'num' }, w.pid),
        h('td', {}, w.kind === 'celery' ? h('span', { class: 'muted', title: 'load average (1, 5, 15 min)' }, `load ${(w.loadavg ?? []).join(' ')}`) : w.queues.join(', ')),
        h('td', { class: 'num' }, w.kind === 'celery' ? '—' : w.concurrency),
        h('td', { class: 'num' }, w.active),
        h('td', { class: 'num' }, count(w.processed)),
        h('td', { class: 'num' }, count(w.failed)),
        h('td', { class: 'num' }, w.kind === 'celery' ? '—' : bytes(w.memory_bytes)),
        h('td', { class: 'num' }, duration(w.uptime_s)),
        h('td', {}, h('time', { datetime: w.last_seen }, ago(w.last_seen)))))));
  };

  const controller = new AbortController();
  api.workers({ signal: controller.signal }).then((r) => { workers = r.data; draw(); }).catch(() => {});
  const off = live.on('snapshot', (snap) => { workers = snap.workers; draw(); });
  // "Last seen" keeps counting between snapshots.
  const tick = setInterval(() => {
    for (const t of body.querySelectorAll('time[datetime]')) t.textContent = ago(t.getAttribute('datetime'));
  }, 1000);
  return () => { controller.abort(); off(); clearInterval(tick); };
}
