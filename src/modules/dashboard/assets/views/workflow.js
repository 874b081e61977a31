// One workflow as a graph: a column per step (a task's column is its longest path from a
// first step), an arrow from each task to those waiting for it, every node coloured by its
// state and linked to its task. Nodes change colour as their events arrive.
import { api } from '../lib/api.js';
import { badge, h, replace } from '../lib/dom.js';
import { json, time } from '../lib/format.js';
import * as live from '../lib/live.js';

const SVG = 'http://www.w3.org/2000/svg';
const NODE_W = 168;
const NODE_H = 34;
const COL_GAP = 64;
const ROW_GAP = 12;
const PAD = 12;

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children.flat()) if (c) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

/** Where each node goes: its level's column, and its place among that level's nodes. */
export function layout(nodes) {
  const columns = new Map();
  for (const n of nodes) {
    const col = columns.get(n.level) ?? [];
    col.push(n);
    columns.set(n.level, col);
  }
  const rows = Math.max(1, ...[...columns.values()].map((c) => c.length));
  const height = PAD * 2 + rows * NODE_H + (rows - 1) * ROW_GAP;
  const at = new Map();
  for (const [level, col] of columns) {
    // Each column centred on the tallest one.
    const top = PAD + ((rows - col.length) * (NODE_H + ROW_GAP)) / 2;
    col.forEach((n, i) => at.set(n.task_id, { x: PAD + level * (NODE_W + COL_GAP), y: top + i * (NODE_H + ROW_GAP) }));
  }
  const width = PAD * 2 + columns.size * NODE_W + Math.max(0, columns.size - 1) * COL_GAP;
  return { at, width, height };
}

function graph(w) {
  const { at, width, height } = layout(w.nodes);
  const edges = [];
  for (const n of w.nodes) {
    const to = at.get(n.task_id);
    for (const d of n.deps) {
      const from = at.get(d);
      if (!from) continue;
      const x1 = from.x + NODE_W;
      const y1 = from.y + NODE_H / 2;
      const x2 = to.x;
      const y2 = to.y + NODE_H / 2;
      const mid = (x1 + x2) / 2;
      edges.push(svg('path', { class: 'edge', d: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`, 'marker-end': 'url(#arrow)' }));
    }
  }
  const nodes = w.nodes.map((n) => {
    const p = at.get(n.task_id);
    const label = n.name.length > 22 ? `${n.name.slice(0, 21)}…` : n.name;
    const link = svg('a', { href: `/dashboard/tasks/${encodeURIComponent(n.task_id)}`, 'data-nav': '', 'data-task': n.task_id, class: `node ${n.state}` },
      svg('title', {}, `${n.name} — ${n.state}${n.waiting ? ` (${n.waiting})` : ''}${n.error ? `: ${n.error}` : ''}`),
      svg('rect', { x: p.x, y: p.y, width: NODE_W, height: NODE_H, rx: 6 }),
      svg('text', { x: p.x + 10, y: p.y + 14 }, label),
      svg('text', { x: p.x + 10, y: p.y + 27, class: 'state' }, n.state));
    return link;
  });
  return svg('svg', { class: 'workflow-graph', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `Workflow of ${w.nodes.length} tasks` },
    svg('defs', {}, svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead' }))),
    edges, nodes);
}

export function workflowView(main, id) {
  const controller = new AbortController();
  let current;
  const draw = (w) => {
    current = w;
    const counts = {};
    for (const n of w.nodes) counts[n.state] = (counts[n.state] ?? 0) + 1;
    replace(main,
      h('p', {}, h('a', { href: '/dashboard/tasks', 'data-nav': true }, '← All tasks')),
      h('div', { class: 'detail-head' },
        h('h1', {}, 'Workflow ', h('span', { class: 'mono muted' }, w.workflow_id)),
        h('span', { id: 'workflow-state' }, badge(w.state))),
      h('section', { class: 'panel', 'aria-labelledby': 'h-summary' }, h('h2', { id: 'h-summary' }, 'Summary'),
        h('dl', { class: 'facts' },
          h('dt', {}, 'Tasks'), h('dd', {}, Object.entries(counts).map(([s, c]) => `${c} ${s}`).join(', ')),
          h('dt', {}, 'Created'), h('dd', {}, time(w.created_at)),
          h('dt', {}, 'Finished'), h('dd', {}, time(w.finished_at)))),
      h('section', { class: 'panel graph-panel', 'aria-labelledby': 'h-graph' }, h('h2', { id: 'h-graph' }, 'Graph'), h('div', { class: 'graph-scroll', tabindex: '0' }, graph(w))),
      'result' in w && h('section', { class: 'panel', 'aria-labelledby': 'h-result' }, h('h2', { id: 'h-result' }, 'Result'), h('pre', { class: 'json', tabindex: '0' }, json(w.result))));
  };
  const load = () => api.workflow(id, { signal: controller.signal }).then(draw).catch((err) => {
    if (err.name === 'AbortError') return;
    replace(main, h('p', {}, h('a', { href: '/dashboard/tasks', 'data-nav': true }, '← All tasks')),
      h('h1', {}, 'Workflow not found'), h('p', { class: 'muted' }, err.status === 404 ? `No workflow ${id}.` : err.message));
  });
  replace(main, h('p', { class: 'muted' }, 'Loading…'));
  load();
  // A node's colour follows its events at once; the rest (the workflow's state, results) on a reload shortly after.
  let reload;
  const off = live.on('task', (e) => {
    if (!current?.nodes.some((n) => n.task_id === e.task_id)) return;
    const node = main.querySelector(`a.node[data-task="${CSS.escape(e.task_id)}"]`);
    if (node) {
      node.setAttribute('class', `node ${e.state}`);
      const label = node.querySelector('text.state');
      if (label) label.textContent = e.state;
    }
    clearTimeout(reload);
    reload = setTimeout(load, 300);
  });
  return () => { controller.abort(); off(); clearTimeout(reload); };
}
