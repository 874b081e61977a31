/**
 * The outbound client refuses every spelling of a private address, re-checks redirects,
 * caps size and time — each against real loopback HTTP servers.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { lookup as dnsLookup } from 'node:dns';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guardedConnector } from '../../src/lib/http/agent.ts';
import { closeOutboundAgents, fetchJson, isBlockedAddress, UpstreamError, type OutboundPolicy } from '../../src/lib/http/index.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

async function listen(handler: Handler): Promise<{ server: Server; port: number }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

const strict: OutboundPolicy = { allowPrivate: false, allowedHosts: [] };
const open: OutboundPolicy = { allowPrivate: true, allowedHosts: [] };
const opts = (policy: OutboundPolicy, extra: { timeoutMs?: number; maxBytes?: number } = {}) => ({
  policy,
  timeoutMs: extra.timeoutMs ?? 2_000,
  maxBytes: extra.maxBytes ?? 64 * 1024,
});

async function failure(p: Promise<unknown>): Promise<UpstreamError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UpstreamError);
  return err as UpstreamError;
}

let upstream: { server: Server; port: number };
let hits = 0;
beforeAll(async () => {
  upstream = await listen((req, res) => {
    hits++;
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/json') return res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    if (url.pathname === '/chunked') return void res.writeHead(200).write('{"ok":', () => res.end('"chunked"}'));
    if (url.pathname === '/bom') return res.writeHead(200, { 'content-type': 'application/json' }).end('\uFEFF{"ok":"bom"}');
    if (url.pathname === '/redirect') return res.writeHead(302, { location: url.searchParams.get('to') ?? '/json' }).end();
    if (url.pathname === '/loop') return res.writeHead(302, { location: '/loop' }).end();
    if (url.pathname === '/big') {
      // No content-length: the cap must hold while streaming.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('[');
      const chunk = `${'"x",'.repeat(1024)}`;
      const timer = setInterval(() => res.write(chunk), 1);
      res.on('close', () => clearInterval(timer));
      return;
    }
    if (url.pathname === '/big-declared') return res.writeHead(200, { 'content-length': '1000000' }).end('x'.repeat(1_000_000));
    if (url.pathname === '/slow') return void setTimeout(() => res.writeHead(200).end('{}'), 3_000).unref();
    if (url.pathname === '/html') return res.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>');
    if (url.pathname === '/500-big') return res.writeHead(500).end('e'.repeat(1_000_000));
    if (url.pathname === '/500') return res.writeHead(500).end('{"error":1}');
    res.writeHead(404).end();
  });
});
afterAll(async () => {
  await closeOutboundAgents();
  upstream.server.closeAllConnections();
  await new Promise((r) => upstream.server.close(r));
});

describe('address classification', () => {
  it.each([
    '127.0.0.1', '127.255.255.254', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254',
    '100.64.0.1', '0.0.0.0', '0.1.2.3', '224.0.0.1', '255.255.255.255', '::', '::1', 'fe80::1', 'fc00::1', 'fd12:3456::1',
    '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', '::ffff:169.254.169.254', '64:ff9b::7f00:1', '2002:7f00:1::',
    'ff02::1', '::127.0.0.1', 'fe80::1%eth0', 'not-an-ip',
  ])('refuses %s', (ip) => {
    expect(isBlockedAddress(ip)).toBe(true);
  });

  it.each(['93.184.216.34', '8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:4700::1111', '::ffff:8.8.8.8'])('allows %s', (ip) => {
    expect(isBlockedAddress(ip)).toBe(false);
  });
});

describe('fetchJson refuses private destinations', () => {
  const forms = (port: number) => [
    `http://127.0.0.1:${port}/json`,
    `http://localhost:${port}/json`,
    `http://2130706433:${port}/json`,
    `http://0x7f.1:${port}/json`,
    `http://017700000001:${port}/json`,
    `http://127.1:${port}/json`,
    `http://0177.0.0.1:${port}/json`,
    `http://[::1]:${port}/json`,
    `http://[::ffff:127.0.0.1]:${port}/json`,
    `http://[::ffff:7f00:1]:${port}/json`,
    `http://0.0.0.0:${port}/json`,
    `http://[::]:${port}/json`,
    `http://169.254.169.254/latest/meta-data/`,
    `http://10.0.0.1/`,
    `http://192.168.0.1/`,
    `http://172.16.0.1/`,
    `http://100.64.0.1/`,
    `http://[fd00::1]/`,
    `http://[fe80::1]/`,
  ];

  it('refuses every numeric and named spelling of loopback/private, without reaching the server', async () => {
    const before = hits;
    for (const url of forms(upstream.port)) {
      const err = await failure(fetchJson(url, opts(strict)));
      expect(err.kind, url).toBe('refused');
    }
    expect(hits).toBe(before);
  });

  it('checks the connected socket, so a DNS answer the lookup filter never saw (rebinding) is refused', async () => {
    const before = hits;
    // An unfiltered lookup stands in for a DNS server that answers a public address first, then 127.0.0.1.
    const connect = guardedConnector(strict, dnsLookup);
    const err = await new Promise<Error | null>((resolve) =>
      connect({ hostname: 'localhost', protocol: 'http:', port: String(upstream.port) }, (e, socket) => {
        socket?.destroy();
        resolve(e);
      }),
    );
    expect(err?.name).toBe('BlockedAddressError');
    expect(hits).toBe(before);
  });

  it('refuses non-http schemes', async () => {
    for (const url of ['file:///etc/passwd', 'ftp://example.com/', 'gopher://127.0.0.1/', 'data:application/json,{}', 'not a url']) {
      expect((await failure(fetchJson(url, opts(strict)))).kind, url).toBe('refused');
    }
  });

  it('re-checks redirects: an allowlisted host redirecting to a private address is refused', async () => {
    // 127.0.0.1 is allowed by name; the redirects go to other loopback hosts and addresses, which are not.
    const policy: OutboundPolicy = { allowPrivate: false, allowedHosts: [{ host: '127.0.0.1', port: undefined }] };
    for (const to of [`http://localhost:${upstream.port}/json`, `http://2130706434:${upstream.port}/json`, `http://[::1]:${upstream.port}/json`, 'http://169.254.169.254/', 'file:///etc/passwd']) {
      const url = `http://127.0.0.1:${upstream.port}/redirect?to=${encodeURIComponent(to)}`;
      expect((await failure(fetchJson(url, opts(policy)))).kind, to).toBe('refused');
    }
  });

  it('follows at most 5 redirects', async () => {
    const err = await failure(fetchJson(`http://127.0.0.1:${upstream.port}/loop`, opts(open)));
    expect(err.kind).toBe('refused');
    expect(err.message).toMatch(/redirects/);
  });
});

describe('fetchJson with an allowed destination', () => {
  it('fetches JSON from an allowlisted host', async () => {
    const policy: OutboundPolicy = { allowPrivate: false, allowedHosts: [{ host: '127.0.0.1', port: undefined }] };
    await expect(fetchJson(`http://127.0.0.1:${upstream.port}/json`, opts(policy))).resolves.toEqual({ ok: true });
  });

  it('reads a body with or without a declared length, and drops a byte-order mark', async () => {
    await expect(fetchJson(`http://127.0.0.1:${upstream.port}/chunked`, opts(open))).resolves.toEqual({ ok: 'chunked' });
    await expect(fetchJson(`http://127.0.0.1:${upstream.port}/bom`, opts(open))).resolves.toEqual({ ok: 'bom' });
  });

  it('vets a URL under each policy, even one just fetched under another', async () => {
    const url = `http://127.0.0.1:${upstream.port}/json`;
    await expect(fetchJson(url, opts(open))).resolves.toEqual({ ok: true });
    expect((await failure(fetchJson(url, opts({ allowPrivate: false, allowedHosts: [] })))).kind).toBe('refused');
  });

  it('fetches JSON with allowPrivate, and follows a same-host redirect', async () => {
    await expect(fetchJson(`http://localhost:${upstream.port}/redirect?to=/json`, opts(open))).resolves.toEqual({ ok: true });
  });

  it('caps the size while streaming and from content-length', async () => {
    expect((await failure(fetchJson(`http://127.0.0.1:${upstream.port}/big`, opts(open, { maxBytes: 100_000 })))).kind).toBe('too_large');
    expect((await failure(fetchJson(`http://127.0.0.1:${upstream.port}/big-declared`, opts(open, { maxBytes: 1000 })))).kind).toBe('too_large');
  });

  it('times out the whole request', async () => {
    const started = Date.now();
    expect((await failure(fetchJson(`http://127.0.0.1:${upstream.port}/slow`, opts(open, { timeoutMs: 200 })))).kind).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('rethrows the caller abort reason', async () => {
    const reason = new Error('revoked');
    const ac = new AbortController();
    setTimeout(() => ac.abort(reason), 100);
    const err = await fetchJson(`http://127.0.0.1:${upstream.port}/slow`, { ...opts(open), signal: ac.signal }).catch((e: unknown) => e);
    expect(err).toBe(reason);
  });

  it('classifies non-2xx, non-JSON and connection failures', async () => {
    const status = await failure(fetchJson(`http://127.0.0.1:${upstream.port}/500`, opts(open)));
    expect([status.kind, status.status]).toEqual(['status', 500]);
    expect((await failure(fetchJson(`http://127.0.0.1:${upstream.port}/html`, opts(open)))).kind).toBe('not_json');
    // An error answer's body is dropped, and one longer than maxBytes is not read to its end.
    const big = await failure(fetchJson(`http://127.0.0.1:${upstream.port}/500-big`, opts(open, { maxBytes: 1000 })));
    expect([big.kind, big.status]).toEqual(['status', 500]);
    await expect(fetchJson(`http://127.0.0.1:${upstream.port}/json`, opts(open))).resolves.toEqual({ ok: true });
    const closed = await listen(() => {});
    const port = closed.port;
    await new Promise((r) => closed.server.close(r));
    expect((await failure(fetchJson(`http://127.0.0.1:${port}/`, opts(open)))).kind).toBe('network');
  });
});

describe('FETCH_ALLOWED_HOSTS entries with a port', () => {
  let other: { server: Server; port: number };
  let otherHits = 0;
  beforeAll(async () => {
    other = await listen((_req, res) => {
      otherHits++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"other":true}');
    });
  });
  afterAll(async () => {
    other.server.closeAllConnections();
    await new Promise((r) => other.server.close(r));
  });

  const onePort = (): OutboundPolicy => ({ allowPrivate: false, allowedHosts: [{ host: '127.0.0.1', port: upstream.port }] });

  it('reaches the one service named by host:port', async () => {
    await expect(fetchJson(`http://127.0.0.1:${upstream.port}/json`, opts(onePort()))).resolves.toEqual({ ok: true });
    await expect(fetchJson(`http://127.1:${upstream.port}/redirect?to=/json`, opts(onePort()))).resolves.toEqual({ ok: true });
  });

  it('refuses every spelling of the same host aimed at another port, redirects and userinfo included', async () => {
    const p = other.port;
    const forms = [
      `http://127.0.0.1:${p}/json`,
      `http://127.1:${p}/json`,
      `http://2130706433:${p}/json`,
      `http://0x7f.1:${p}/json`,
      `http://0177.0.0.1:${p}/json`,
      `http://[::ffff:127.0.0.1]:${p}/json`,
      `http://127.0.0.1:${upstream.port}@127.0.0.1:${p}/json`,
      `http://127.0.0.1/json`, // port 80
      `http://127.0.0.1:${upstream.port}/redirect?to=${encodeURIComponent(`http://127.0.0.1:${p}/json`)}`,
      `http://127.0.0.1:${upstream.port}/redirect?to=${encodeURIComponent(`//127.1:${p}/json`)}`,
      `http://127.0.0.1:${upstream.port}/redirect?to=${encodeURIComponent(`http://127.0.0.1:${upstream.port}@127.0.0.1:${p}/`)}`,
    ];
    for (const url of forms) {
      const err = await failure(fetchJson(url, opts(onePort())));
      expect(err.kind, url).toBe('refused');
    }
    expect(otherHits).toBe(0);
  });

  it('checks the port at connection time too, not only in the URL', async () => {
    const connect = guardedConnector(onePort());
    const attempt = (port: number) =>
      new Promise<Error | null>((resolve) =>
        connect({ hostname: '127.0.0.1', protocol: 'http:', port: String(port) }, (e, socket) => {
          socket?.destroy();
          resolve(e);
        }),
      );
    expect((await attempt(other.port))?.name).toBe('BlockedAddressError');
    expect(await attempt(upstream.port)).toBeNull();
    expect(otherHits).toBe(0);
  });

  it('opens every port of a host named without one', async () => {
    const anyPort: OutboundPolicy = { allowPrivate: false, allowedHosts: [{ host: '127.0.0.1', port: undefined }] };
    await expect(fetchJson(`http://127.0.0.1:${upstream.port}/json`, opts(anyPort))).resolves.toEqual({ ok: true });
    await expect(fetchJson(`http://127.1:${other.port}/json`, opts(anyPort))).resolves.toEqual({ other: true });
    expect(otherHits).toBe(1);
  });
});
