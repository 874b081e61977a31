// One EventSource for the whole page: views subscribe to `task` and `snapshot` events and
// unsubscribe when they are replaced. EventSource reconnects by itself after a drop.

const listeners = { task: new Set(), snapshot: new Set(), status: new Set() };
let source;
let lastSnapshot;

function emit(type, data) {
  for (const fn of listeners[type]) {
    try { fn(data); } catch (err) { console.error(err); }
  }
}

export function connect() {
  if (source) return;
  source = new EventSource('/dashboard/api/events');
  source.addEventListener('open', () => emit('status', 'open'));
  source.addEventListener('error', () => {
    if (source.readyState !== EventSource.CLOSED) return emit('status', 'error');
    // The server refused the stream (signed out, or restarting): start over in a moment.
    emit('status', 'closed');
    source = undefined;
    setTimeout(connect, 3000);
  });
  source.addEventListener('task', (e) => emit('task', JSON.parse(e.data)));
  source.addEventListener('snapshot', (e) => {
    emit('status', 'open'); // also clears an earlier "engine unavailable"
    lastSnapshot = JSON.parse(e.data);
    emit('snapshot', lastSnapshot);
  });
  source.addEventListener('unavailable', () => emit('status', 'error'));
}

/** Subscribe; returns the unsubscribe function. A snapshot subscriber gets the latest at once. */
export function on(type, fn) {
  listeners[type].add(fn);
  if (type === 'snapshot' && lastSnapshot) fn(lastSnapshot);
  return () => listeners[type].delete(fn);
}
