/**
 * fetchJson: GET a URL and parse its JSON body, SSRF-safe and bounded — the one outbound
 * HTTP client (GET /api/external and the fetch_data task). Redirects are followed by hand
 * (at most 5, http/https only) so every hop goes through the same policy; the body is read
 * as a stream and abandoned at `maxBytes`; one timer bounds the whole exchange.
 */
import { isIP } from 'node:net';
import { request } from 'undici';
import { isBlockedAddress } from './address.ts';
import { agentFor, bareHost, hostAllowed, type OutboundPolicy } from './agent.ts';
import { BlockedAddressError, UpstreamError } from './errors.ts';

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
  // The URL parser has already turned 2130706433, 0x7f.1, 0177.0.0.1 and 127.1 into 127.0.0.1.
  const host = bareHost(url.hostname);
  if (isIP(host) && !hostAllowed(policy, host) && isBlockedAddress(host)) {
    throw new UpstreamError('refused', `${host} is a private, loopback or reserved address`);
  }
  return url;
}

function findBlocked(err: unknown): BlockedAddressError | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof BlockedAddressError) return e;
  }
  return undefined;
}

function classify(err: unknown, timedOut: boolean, callerSignal: AbortSignal | undefined): unknown {
  if (err instanceof UpstreamError) return err;
  if (callerSignal?.aborted) return callerSignal.reason;
  if (timedOut) return new UpstreamError('timeout', 'the upstream did not answer in time', { cause: err });
  const blocked = findBlocked(err);
  if (blocked) return new UpstreamError('refused', blocked.message, { cause: err });
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && TIMEOUT_CODES.has(code)) return new UpstreamError('timeout', 'the upstream did not answer in time', { cause: err });
  return new UpstreamError('network', `the upstream could not be reached: ${(err as Error).message ?? String(err)}`, { cause: err });
}

async function readCapped(body: AsyncIterable<Buffer> & { destroy(err?: Error): unknown }, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > maxBytes) {
      body.destroy();
      throw new UpstreamError('too_large', `the upstream response is larger than ${maxBytes} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/**
 * GET `url` and return its parsed JSON body.
 * @throws UpstreamError for every upstream failure; the caller's `signal.reason` when it aborts.
 */
export async function fetchJson(url: string, opts: FetchJsonOptions): Promise<unknown> {
  const { policy, maxBytes, signal } = opts;
  signal?.throwIfAborted();
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, opts.timeoutMs);
  const onAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const dispatcher = agentFor(policy);
    let target = checkUrl(url, undefined, policy);
    for (let hop = 0; ; hop++) {
      const res = await request(target, {
        method: 'GET',
        dispatcher,
        signal: controller.signal,
        headers: { accept: 'application/json', 'user-agent': 'conveyor' },
      });
      const location = res.headers.location;
      if (REDIRECT.has(res.statusCode) && typeof location === 'string') {
        await res.body.dump();
        if (hop >= MAX_REDIRECTS) throw new UpstreamError('refused', `more than ${MAX_REDIRECTS} redirects`);
        target = checkUrl(location, target, policy);
        continue;
      }
      if (res.statusCode < 200 || res.statusCode > 299) {
        await res.body.dump();
        throw new UpstreamError('status', `the upstream answered ${res.statusCode}`, { status: res.statusCode });
      }
      const declared = Number(res.headers['content-length']);
      if (declared > maxBytes) {
        res.body.destroy();
        throw new UpstreamError('too_large', `the upstream response is larger than ${maxBytes} bytes`);
      }
      const raw = await readCapped(res.body, maxBytes);
      try {
        return JSON.parse(raw.toString('utf8')) as unknown;
      } catch (err) {
        throw new UpstreamError('not_json', 'the upstream did not answer JSON', { cause: err });
      }
    }
  } catch (err) {
    throw classify(err, timedOut, signal);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}
