/**
 * fetchJson: GET a URL and parse its JSON body, SSRF-safe and bounded — the one outbound
 * HTTP client (GET /api/external and the fetch_data task). Redirects are followed by hand
 * (at most 5, http/https only) so every hop goes through the same policy; the body is
 * collected in memory and abandoned past `maxBytes` (exchange.ts); one timer bounds the
 * whole request, redirects included.
 */
import { isIP } from 'node:net';
import { isBlockedAddress } from './address.ts';
import { agentFor, bareHost, destinationAllowed, effectivePort, type OutboundPolicy } from './agent.ts';
import { BlockedAddressError, UpstreamError } from './errors.ts';
import { Exchange } from './exchange.ts';

export interface FetchJsonOptions {
  /** The caller's cancellation (e.g. a task's own timeout or revocation); its reason is rethrown as is. */
  signal?: AbortSignal;
  /** Bound on the whole exchange: connection, redirects, headers and body. */
  timeoutMs: number;
  /** Largest body accepted; a longer one is abandoned mid-stream. */
  maxBytes: number;
  policy: OutboundPolicy;
}

const MAX_REDIRECTS = 5;
const REDIRECT = new Set([301, 302, 303, 307, 308]);
const HEADERS = { accept: 'application/json', 'user-agent': 'conveyor' };
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** Parse and vet one URL (the first or a redirect target) before any connection is made. */
function checkUrl(raw: string, base: URL | undefined, policy: OutboundPolicy): URL {
  let url: URL;
  try {
    url = new URL(raw, base);
  } catch {
    throw new UpstreamError('refused', 'not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UpstreamError('refused', `only http and https URLs are fetched, not ${url.protocol}`);
  }
  // The URL parser has already turned 2130706433, 0x7f.1, 0177.0.0.1 and 127.1 into 127.0.0.1,
  // and taken `a:1@b:2` as user `a`, password `1` at host b, port 2.
  const host = bareHost(url.hostname);
  const port = effectivePort(url.port, url.protocol);
  if (isIP(host) && !destinationAllowed(policy, host, port) && isBlockedAddress(host)) {
    throw new UpstreamError('refused', `${host} port ${port} is a private, loopback or reserved address not in FETCH_ALLOWED_HOSTS`);
  }
  return url;
}

function findBlocked(err: unknown): BlockedAddressError | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof BlockedAddressError) return e;
  }
  return undefined;
}

function classify(err: unknown, callerSignal: AbortSignal | undefined): unknown {
  if (callerSignal?.aborted && err === callerSignal.reason) return err;
  if (err instanceof UpstreamError) return err;
  const blocked = findBlocked(err);
  if (blocked) return new UpstreamError('refused', blocked.message, { cause: err });
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && TIMEOUT_CODES.has(code)) return new UpstreamError('timeout', 'the upstream did not answer in time', { cause: err });
  return new UpstreamError('network', `the upstream could not be reached: ${(err as Error).message ?? String(err)}`, { cause: err });
}

interface Target {
  readonly url: URL;
  readonly origin: string;
  readonly path: string;
}

const toTarget = (url: URL): Target => ({ url, origin: url.origin, path: `${url.pathname}${url.search}` });

/** The last first-hop URL vetted, per policy: GET /api/external fetches the same one every time. */
const lastTarget = new WeakMap<OutboundPolicy, { raw: string; target: Target }>();

function firstTarget(raw: string, policy: OutboundPolicy): Target {
  const last = lastTarget.get(policy);
  if (last?.raw === raw) return last.target;
  const target = toTarget(checkUrl(raw, undefined, policy));
  lastTarget.set(policy, { raw, target });
  return target;
}

/**
 * GET `url` and return its parsed JSON body.
 * @throws UpstreamError for every upstream failure; the caller's `signal.reason` when it aborts.
 */
export async function fetchJson(url: string, opts: FetchJsonOptions): Promise<unknown> {
  const { policy, maxBytes, signal } = opts;
  signal?.throwIfAborted();
  let current: Exchange | undefined;
  let stopped: Error | undefined;
  const stop = (reason: Error) => {
    stopped ??= reason;
    current?.abort(stopped);
  };
  const timer = setTimeout(() => stop(new UpstreamError('timeout', 'the upstream did not answer in time')), opts.timeoutMs);
  const onAbort = () => stop(signal!.reason as Error);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const dispatcher = agentFor(policy);
    let target = firstTarget(url, policy);
    for (let hop = 0; ; hop++) {
      current = new Exchange(maxBytes);
      if (stopped) current.abort(stopped);
      dispatcher.dispatch({ origin: target.origin, path: target.path, method: 'GET', headers: HEADERS }, current);
      const { status, location, body } = await current.done;
      if (REDIRECT.has(status) && location !== undefined) {
        if (hop >= MAX_REDIRECTS) throw new UpstreamError('refused', `more than ${MAX_REDIRECTS} redirects`);
        target = toTarget(checkUrl(location, target.url, policy));
        continue;
      }
      if (status < 200 || status > 299) throw new UpstreamError('status', `the upstream answered ${status}`, { status });
      const text = body.toString('utf8');
      try {
        // A byte-order mark is dropped, as fetch's json() does.
        return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text) as unknown;
      } catch (err) {
        throw new UpstreamError('not_json', 'the upstream did not answer JSON', { cause: err });
      }
    }
  } catch (err) {
    throw classify(err, signal);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}
