// The login page (and the "staff only" page's sign-out button). Posts JSON to the accounts
// API, which sets the session cookie, then goes where the visitor was heading.
const form = document.getElementById('login-form');
const errorEl = document.getElementById('login-error');

function csrfToken() {
  const match = document.cookie.split(';').map((c) => c.trim()).find((c) => c.startsWith('conveyor_csrf='));
  return match ? decodeURIComponent(match.slice('conveyor_csrf='.length)) : '';
}

/** Only dashboard paths: the `next` parameter must not become an open redirect. */
function nextUrl() {
  const next = new URLSearchParams(location.search).get('next') ?? '';
  return /^\/dashboard(\/[\w\-/.%]*)?(\?[\w\-=&%.]*)?$/.test(next) && !next.includes('//') ? next : '/dashboard';
}

async function post(url, body) {
  return fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { ...(body ? { 'content-type': 'application/json' } : {}), accept: 'application/json', 'x-csrf-token': csrfToken() },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
}

if (form) {
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    errorEl.hidden = true;
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      const res = await post('/api/auth/login', { username: form.username.value, password: form.password.value });
      const body = await res.json().catch(() => null);
      if (res.ok) return location.assign(nextUrl());
      errorEl.textContent = res.status === 401 ? 'Wrong username or password.' : body?.error?.message ?? `Sign-in failed (HTTP ${res.status}).`;
    } catch {
      errorEl.textContent = 'The server cannot be reached.';
    }
    errorEl.hidden = false;
    button.disabled = false;
    form.password.focus();
  });
}

document.getElementById('logout')?.addEventListener('click', async () => {
  await post('/api/auth/logout').catch(() => {});
  location.assign('/dashboard/login');
});
