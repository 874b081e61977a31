// The dashboard API client. Writes carry the CSRF token (double-submit: the value of the
// conveyor_csrf cookie echoed in a header); a lost session sends the user to the login page.

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code ?? 'http_error';
  }
}

export function csrfToken() {
  const match = document.cookie.split(';').map((c) => c.trim()).find((c) => c.startsWith('conveyor_csrf='));
  return match ? decodeURIComponent(match.slice('conveyor_csrf='.length)) : '';
}

export function toLogin() {
  const next = location.pathname + location.search;
  location.assign(`/dashboard/login?next=${encodeURIComponent(next)}`);
}

export async function request(method, url, { signal } = {}) {
  const headers = { accept: 'application/json' };
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken();
  const res = await fetch(url, { method, headers, credentials: 'same-origin', signal });
  const body = res.status === 204 ? null : await res.json().catch(() => null);
  if (res.status === 401) toLogin();
  if (!res.ok) throw new ApiError(res.status, body);
  return body;
}

export const api = {
  overview: (o) => request('GET', '/dashboard/api/overview', o),
  workers: (o) => request('GET', '/dashboard/api/workers', o),
  tasks: (query, o) => request('GET', `/dashboard/api/tasks?${new URLSearchParams(query)}`, o),
  task: (id, o) => request('GET', `/dashboard/api/tasks/${encodeURIComponent(id)}`, o),
  workflow: (id, o) => request('GET', `/dashboard/api/workflows/${encodeURIComponent(id)}`, o),
  revoke: (id) => request('POST', `/dashboard/api/tasks/${encodeURIComponent(id)}/revoke`),
  retry: (id) => request('POST', `/dashboard/api/tasks/${encodeURIComponent(id)}/retry`),
  logout: () => request('POST', '/api/auth/logout'),
};
