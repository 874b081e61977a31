// Client-side navigation over real URLs. app.js registers the renderer; views call navigate().
let renderer = () => {};

export function setRenderer(fn) {
  renderer = fn;
}

export function navigate(url, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  renderer();
  document.getElementById('main')?.focus({ preventScroll: true });
  if (!replace) window.scrollTo(0, 0);
}
