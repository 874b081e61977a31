// Tiny DOM helpers. Text always goes in through textContent, never innerHTML, so task
// names, arguments and errors can never inject markup.

/** h('a', { href: '/x', class: 'y', onclick: fn }, 'text', child) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function badge(state) {
  return h('span', { class: `badge ${state}` }, state);
}

/** "Celery" beside a Python Celery worker or a task Celery workers run (origin / kind from the API). */
export function celeryBadge(item) {
  return item.origin === 'celery' || item.kind === 'celery' ? h('span', { class: 'badge celery', title: 'Python Celery' }, 'Celery') : null;
}

/** A table inside a horizontally scrolling wrapper; columns: [{ label, num? }]. */
export function table(caption, columns, rows) {
  return h('div', { class: 'table-wrap' },
    h('table', {},
      h('caption', { class: 'visually-hidden' }, caption),
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : undefined }, c.label)))),
      h('tbody', {}, rows)));
}
