// Tasks: search by id, name or argument text, filter by state, page with a cursor. New
// tasks appear at the top and states change in place as events arrive.
import { actionButtons } from '../lib/actions.js';
import { api } from '../lib/api.js';
import { badge, celeryBadge, h, replace, table } from '../lib/dom.js';
import { ago, ms, shortId } from '../lib/format.js';
import * as live from '../lib/live.js';
import { navigate } from '../lib/router.js';

const STATES = ['PENDING', 'STARTED', 'RETRY', 'SUCCESS', 'FAILURE', 'REVOKED'];
const LIMIT = 25;

function argsText(args) {
  const text = JSON.stringify(args ?? null);
  return text.length > 120 ? `${text.slice(0, 119)}…` : text;
}

export function tasksView(main) {
  const params = new URLSearchParams(location.search);
  const filters = { search: params.get('search') ?? '', state: params.get('state') ?? '', name: params.get('name') ?? '', after: params.get('after') ?? '' };
  const status = h('p', { class: 'status-line', role: 'status', 'aria-live': 'polite' });
  const report = (message, isError) => { status.textContent = message; status.className = `status-line${isError ? ' error' : ''}`; };

  const search = h('input', { id: 'f-search', name: 'search', type: 'search', value: filters.search, placeholder: 'id, name or argument text' });
  const state = h('select', { id: 'f-state', name: 'state' }, h('option', { value: '' }, 'Any state'),
    STATES.map((s) => h('option', { value: s, selected: s === filters.state }, s)));
  const name = h('input', { id: 'f-name', name: 'name', value: filters.name, placeholder: 'e.g. fetch_data' });
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Find tasks' },
    h('div', { class: 'field grow' }, h('label', { for: 'f-search' }, 'Search'), search),
    h('div', { class: 'field' }, h('label', { for: 'f-state' }, 'State'), state),
    h('div', { class: 'field' }, h('label', { for: 'f-name' }, 'Task name'), name),
    h('button', { type: 'submit', class: 'button primary' }, 'Search'),
    h('a', { href: '/dashboard/tasks', 'data-nav': true, class: 'button' }, 'Reset'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    if (search.value.trim()) q.set('search', search.value.trim());
    if (state.value) q.set('state', state.value);
    if (name.value.trim()) q.set('name', name.value.trim());
    navigate(`/dashboard/tasks${q.size ? `?${q}` : ''}`);
  });

  const tbody = h('tbody');
  const listBox = h('div');
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages of tasks' });
  replace(main, h('h1', {}, 'Tasks'), form, status, h('section', { class: 'panel' }, listBox, pager));

  const rows = new Map();
  const shown = new Map(); // task_id → the record its row shows
  const row = (t) => h('tr', { dataset: { task: t.task_id } },
    h('th', { scope: 'row' }, h('a', { href: `/dashboard/tasks/${encodeURIComponent(t.task_id)}`, 'data-nav': true, class: 'mono', title: t.task_id }, shortId(t.task_id))),
    h('td', {}, t.name, celeryBadge(t)),
    h('td', { class: 'state' }, badge(t.state)),
    h('td', { class: 'args', title: JSON.stringify(t.args) }, argsText(t.args)),
    h('td', {}, h('time', { datetime: t.created_at, title: t.created_at }, ago(t.created_at))),
    h('td', { class: 'num' }, ms(t.runtime_ms)),
    h('td', { class: 'num' }, t.retries),
    h('td', {}, h('div', { class: 'actions' }, actionButtons(t, { small: true, report, onDone: upsert }))));

  function upsert(t, { flash = true, prepend = false } = {}) {
    const next = row(t);
    if (flash) next.classList.add('flash');
    const old = rows.get(t.task_id);
    if (old) old.replaceWith(next);
    else if (prepend) tbody.prepend(next);
    else tbody.append(next);
    rows.set(t.task_id, next);
    shown.set(t.task_id, t);
    while (rows.size > LIMIT && prepend) {
      const last = tbody.lastElementChild;
      rows.delete(last.dataset.task);
      shown.delete(last.dataset.task);
      last.remove();
    }
  }

  const controller = new AbortController();
  const query = { limit: String(LIMIT) };
  for (const k of ['search', 'state', 'name', 'after']) if (filters[k]) query[k] = filters[k];
  const empty = h('p', { class: 'muted' }, 'Loading…');
  const grid = table('Tasks, newest first', [
    { label: 'Task' }, { label: 'Name' }, { label: 'State' }, { label: 'Arguments' }, { label: 'Received' },
    { label: 'Runtime', num: true }, { label: 'Retries', num: true }, { label: 'Actions' },
  ], []);
  grid.querySelector('tbody').replaceWith(tbody);
  replace(listBox, grid, empty);
  api.tasks(query, { signal: controller.signal }).then((page) => {
    empty.textContent = 'No task matches.';
    empty.hidden = page.data.length > 0;
    for (const t of page.data) upsert(t, { flash: false });
    const here = new URLSearchParams(location.search);
    replace(pager,
      filters.after && h('a', { class: 'button', href: `/dashboard/tasks?${withParam(here, 'after', null)}`, 'data-nav': true }, 'First page'),
      page.next && h('a', { class: 'button', href: `/dashboard/tasks?${withParam(here, 'after', page.next)}`, 'data-nav': true, rel: 'next' }, 'Next page'));
  }).catch((err) => { if (err.name !== 'AbortError') report(`Could not load tasks: ${err.message}`, true); });

  // Live: a badge changes the moment its event arrives; then, at most once a second however
  // busy the queues are, the page is fetched again to fill in runtimes and, on the first
  // page, to bring matching new tasks in on top.
  const firstPage = !filters.after;
  const matches = (e) => (!filters.state || e.state === filters.state) && (!filters.name || e.name === filters.name);
  let timer;
  const refresh = async () => {
    try {
      const page = await api.tasks(query, { signal: controller.signal });
      for (const t of [...page.data].reverse()) {
        const old = shown.get(t.task_id);
        if (!old) upsert(t, { prepend: true });
        else if (old.state !== t.state || old.runtime_ms !== t.runtime_ms || old.retries !== t.retries) upsert(t, { flash: old.state !== t.state });
      }
      empty.hidden = rows.size > 0;
    } catch { /* the next event tries again */ } finally {
      timer = undefined;
    }
  };
  const off = live.on('task', (e) => {
    const known = rows.has(e.task_id);
    if (known) updateBadge(e);
    if (known || (firstPage && matches(e))) timer ??= setTimeout(refresh, 1000);
  });
  function updateBadge(e) {
    const cell = rows.get(e.task_id)?.querySelector('td.state');
    if (cell && cell.textContent !== e.state) replace(cell, badge(e.state));
  }
  const tick = setInterval(() => {
    for (const t of tbody.querySelectorAll('time[datetime]')) t.textContent = ago(t.getAttribute('datetime'));
  }, 5000);
  return () => { controller.abort(); off(); clearInterval(tick); clearTimeout(timer); };
}

function withParam(params, key, value) {
  const q = new URLSearchParams(params);
  if (value === null) q.delete(key);
  else q.set(key, value);
  return q.toString();
}
