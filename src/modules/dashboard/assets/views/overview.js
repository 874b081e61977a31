// Overview: the last hour as charts (tasks per minute, runtime percentiles), queue depth
// per queue and the workers online, refreshed by the live snapshot every few seconds.
import { api } from '../lib/api.js';
import { badge, celeryBadge, h, replace, table } from '../lib/dom.js';
import { ago, count, ms } from '../lib/format.js';
import * as live from '../lib/live.js';

const MINUTES = 60;
const HEIGHT = 220;

/** A full hour of minutes (uPlot x values in seconds), zeros where nothing finished. */
export function series(history, now = Date.now()) {
  const end = Math.floor(now / 60_000) * 60;
  const xs = Array.from({ length: MINUTES }, (_, i) => end - (MINUTES - 1 - i) * 60);
  const byMinute = new Map(history.map((m) => [Math.floor(new Date(m.minute).getTime() / 1000), m]));
  const pick = (key, empty) => xs.map((x) => byMinute.get(x)?.[key] ?? empty);
  return {
    counts: [xs, pick('succeeded', 0), pick('failed', 0), pick('retried', 0)],
    runtimes: [xs, pick('p50_ms', null), pick('p95_ms', null), pick('p99_ms', null)],
  };
}

function chart(container, title, seriesOpts, yLabel, valueFormat) {
  const uPlot = window.uPlot;
  const width = () => Math.max(260, container.clientWidth);
  const plot = new uPlot({
    title,
    width: width(),
    height: HEIGHT,
    scales: { x: { time: true } },
    series: [{}, ...seriesOpts.map((s) => ({ ...s, value: (_u, v) => (v === null || v === undefined ? '—' : valueFormat(v)) }))],
    axes: [{}, { label: yLabel, size: 60 }],
    legend: { live: true },
    cursor: { focus: { prox: 16 } },
  }, [[], ...seriesOpts.map(() => [])], container);
  const resize = new ResizeObserver(() => plot.setSize({ width: width(), height: HEIGHT }));
  resize.observe(container);
  return { plot, destroy: () => { resize.disconnect(); plot.destroy(); } };
}

function stat(label, value, tone) {
  return h('div', { class: `stat ${tone ?? ''}` }, h('div', { class: 'label' }, label), h('div', { class: 'value' }, value));
}

/** A queue nobody consumes: its tasks stay PENDING with no other sign. */
function unservedBanner(queues) {
  if (!queues?.length) return null;
  const names = queues.map((q) => `"${q}"`).join(', ');
  return h('p', { class: 'notice', role: 'alert' },
    h('strong', {}, 'No worker is running for ', names, '. '),
    'Tasks sent there wait in PENDING until a worker consumes ', queues.length > 1 ? 'them' : 'it',
    ': start one with conveyor worker, or run conveyor serve without --no-worker.');
}

export function overviewView(main) {
  const banner = h('div');
  const stats = h('section', { class: 'stats', 'aria-label': 'Summary of the last hour' });
  const countsBox = h('div', { class: 'chart', role: 'img', 'aria-label': 'Tasks succeeded, failed and retried per minute over the last hour' });
  const runtimeBox = h('div', { class: 'chart', role: 'img', 'aria-label': 'Task runtime percentiles per minute over the last hour' });
  const queuesBox = h('div');
  const workersBox = h('div');
  replace(main,
    h('h1', {}, 'Overview'),
    banner,
    stats,
    h('div', { class: 'grid' },
      h('section', { class: 'panel', 'aria-labelledby': 'h-throughput' }, h('h2', { id: 'h-throughput' }, 'Tasks per minute'), countsBox),
      h('section', { class: 'panel', 'aria-labelledby': 'h-runtime' }, h('h2', { id: 'h-runtime' }, 'Runtime percentiles'), runtimeBox)),
    h('div', { class: 'grid' },
      h('section', { class: 'panel wide', 'aria-labelledby': 'h-queues' }, h('h2', { id: 'h-queues' }, 'Queue depth'), queuesBox),
      h('section', { class: 'panel wide', 'aria-labelledby': 'h-workers' },
        h('div', { class: 'panel-head' }, h('h2', { id: 'h-workers' }, 'Workers online'), h('a', { href: '/dashboard/workers', 'data-nav': true }, 'All workers')),
        workersBox)));

  const counts = chart(countsBox, '', [
    { label: 'Succeeded', stroke: '#15803d', width: 2 },
    { label: 'Failed', stroke: '#b91c1c', width: 2, dash: [8, 4] },
    { label: 'Retried', stroke: '#b45309', width: 2, dash: [2, 3] },
  ], 'tasks / min', (v) => count(v));
  const runtimes = chart(runtimeBox, '', [
    // Points as well as lines: a minute with tasks between idle minutes has no neighbour to join.
    { label: 'p50', stroke: '#1d4ed8', width: 2, points: { show: true, size: 6 } },
    { label: 'p95', stroke: '#7c3aed', width: 2, dash: [8, 4], points: { show: true, size: 6 } },
    { label: 'p99', stroke: '#be185d', width: 2, dash: [2, 3], points: { show: true, size: 6 } },
  ], 'ms', ms);

  const draw = (o) => {
    const s = series(o.history);
    counts.plot.setData(s.counts);
    runtimes.plot.setData(s.runtimes);
    const sum = (arr) => arr.reduce((a, b) => a + (b ?? 0), 0);
    const online = o.workers.filter((w) => w.online);
    replace(banner, unservedBanner(o.unserved_queues));
    const queued = o.queues.reduce((a, q) => a + q.waiting + q.prioritized + q.delayed, 0);
    replace(stats,
      stat('Workers online', `${online.length} / ${o.workers.length}`, online.length ? 'ok' : 'bad'),
      stat('Queued', count(queued)),
      stat('Running', count(o.queues.reduce((a, q) => a + q.active, 0))),
      stat('Succeeded (1 h)', count(sum(s.counts[1])), 'ok'),
      stat('Failed (1 h)', count(sum(s.counts[2])), sum(s.counts[2]) ? 'bad' : undefined),
      stat('Retried (1 h)', count(sum(s.counts[3]))));
    replace(queuesBox, o.queues.length === 0
      ? h('p', { class: 'muted' }, 'No queues yet.')
      : table('Jobs per queue and state', [
        { label: 'Queue' }, { label: 'Waiting', num: true }, { label: 'Active', num: true }, { label: 'Delayed', num: true },
        { label: 'Prioritized', num: true }, { label: 'Completed', num: true }, { label: 'Failed', num: true }, { label: 'State' },
      ], o.queues.map((q) => h('tr', {},
        h('th', { scope: 'row' }, q.queue),
        [q.waiting, q.active, q.delayed, q.prioritized, q.completed, q.failed].map((n) => h('td', { class: 'num' }, count(n))),
        h('td', {}, q.paused ? 'paused' : 'running')))));
    replace(workersBox, online.length === 0
      ? h('p', { class: 'muted' }, 'No worker is online. Start one with conveyor worker.')
      : table('Workers online', [{ label: 'Worker' }, { label: 'Active', num: true }, { label: 'Processed', num: true }, { label: 'Seen' }, { label: 'State' }],
        online.map((w) => h('tr', {},
          h('th', { scope: 'row' }, `${w.host}:${w.pid}`, celeryBadge(w)),
          h('td', { class: 'num' }, w.kind === 'celery' ? String(w.active) : `${w.active} / ${w.concurrency}`),
          h('td', { class: 'num' }, count(w.processed)),
          h('td', {}, ago(w.last_seen)),
          h('td', {}, badge('online'))))));
  };

  const controller = new AbortController();
  let latest = null;
  api.overview({ signal: controller.signal }).then((o) => { latest = o; draw(o); }).catch((err) => {
    if (err.name !== 'AbortError') main.prepend(h('p', { class: 'notice', role: 'alert' }, `Could not load the overview: ${err.message}`));
  });
  const off = live.on('snapshot', (snap) => { latest = { ...(latest ?? {}), ...snap }; draw(latest); });

  return () => {
    controller.abort();
    off();
    counts.destroy();
    runtimes.destroy();
  };
}
