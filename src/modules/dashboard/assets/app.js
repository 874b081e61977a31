// The monitor's page script: a small router over real links (each view has its own URL,
// so reload, back/forward and "open in new tab" work), the live connection and the header.
import { api, request, toLogin } from './lib/api.js';
import * as live from './lib/live.js';
import { navigate, setRenderer } from './lib/router.js';
import { overviewView } from './views/overview.js';
import { taskView } from './views/task.js';
import { tasksView } from './views/tasks.js';
import { workersView } from './views/workers.js';
import { workflowView } from './views/workflow.js';

const main = document.getElementById('main');
let cleanup = () => {};

function route(pathname) {
  const workflow = /^\/dashboard\/workflows\/([^/]+)$/.exec(pathname);
  if (workflow) return { section: 'tasks', view: (el) => workflowView(el, decodeURIComponent(workflow[1])) };
  const task = /^\/dashboard\/tasks\/([^/]+)$/.exec(pathname);
  if (task) return { section: 'tasks', view: (el) => taskView(el, decodeURIComponent(task[1])) };
  if (pathname === '/dashboard/tasks') return { section: 'tasks', view: tasksView };
  if (pathname === '/dashboard/workers') return { section: 'workers', view: workersView };
  return { section: 'overview', view: overviewView };
}

function render() {
  cleanup();
  const { section, view } = route(location.pathname.replace(/\/$/, '') || '/dashboard');
  for (const a of document.querySelectorAll('.nav a[data-section]')) {
    if (a.dataset.section === section) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  main.replaceChildren();
  cleanup = view(main) ?? (() => {});
}

setRenderer(render);

// Follow in-app links without a reload; modified clicks (new tab) behave as usual.
document.addEventListener('click', (e) => {
  const a = e.target instanceof Element ? e.target.closest('a[data-nav]') : null;
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  navigate(a.getAttribute('href'));
});
window.addEventListener('popstate', render);

const liveEl = document.getElementById('live');
const liveText = { open: 'Live', error: 'Reconnecting…', closed: 'Disconnected' };
live.on('status', (state) => {
  liveEl.dataset.state = state;
  liveEl.textContent = liveText[state] ?? state;
  if (state === 'closed') request('GET', '/api/auth/me').then((me) => me?.user || toLogin()).catch(() => {});
});

document.getElementById('logout').addEventListener('click', async () => {
  try { await api.logout(); } finally { location.assign('/dashboard/login'); }
});

api.overview().then((o) => {
  document.getElementById('whoami').textContent = o.user.username;
}).catch(() => {});

live.connect();
render();
