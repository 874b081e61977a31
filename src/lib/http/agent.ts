/**
 * One undici Agent per outbound policy. Its connector refuses forbidden addresses twice:
 * at DNS lookup (so no connection is even attempted) and on the *connected* socket's
 * remote address (the authoritative check: an IP literal, a second DNS answer or a
 * rebinding record cannot slip past it, and a pooled socket was checked when it opened).
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { Agent, buildConnector } from 'undici';
import { isBlockedAddress } from './address.ts';
import { BlockedAddressError } from './errors.ts';

/** One entry of the outbound allow-list (parsed from FETCH_ALLOWED_HOSTS by the config). */
export interface AllowedHost {
  /** The host as the URL parser spells it, lowercase, IPv6 without brackets. */
  readonly host: string;
  /** The only port allowed; undefined allows every port of `host`. */
  readonly port: number | undefined;
}

export interface OutboundPolicy {
  /** Reach loopback/private/reserved addresses too (development and tests only). */
  readonly allowPrivate: boolean;
  /**
   * Destinations that may be private: a host (as the URL parser spells it) with one port, or
   * with every port when `port` is undefined.
   */
  readonly allowedHosts: readonly AllowedHost[];
}

export function bareHost(hostname: string): string {
  const h = hostname.toLowerCase();
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

/** The port a connection to a URL's `port` field goes to ('' means the scheme's default). */
export function effectivePort(port: string | number | undefined, protocol: string): number {
  const n = Number(port);
  return port === undefined || port === '' || !Number.isInteger(n) ? (protocol === 'https:' ? 443 : 80) : n;
}

/** Whether the policy lets this host and port through even if the address is private. */
export function destinationAllowed(policy: OutboundPolicy, hostname: string, port: number): boolean {
  if (policy.allowPrivate) return true;
  const host = bareHost(hostname);
  return policy.allowedHosts.some((a) => a.host === host && (a.port === undefined || a.port === port));
}

/** dns.lookup that drops forbidden addresses and fails when none is left. */
const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
    if (err) return callback(err, '', 0);
    const ok = addresses.filter((a) => !isBlockedAddress(a.address));
    if (ok.length === 0) return callback(new BlockedAddressError(hostname, addresses[0]?.address ?? '?'), '', 0);
    if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, ok);
    return callback(null, ok[0]!.address, ok[0]!.family);
  });
};

/**
 * A connector that refuses forbidden addresses. `lookup` is injectable so a test can play a
 * rebinding DNS server that the lookup filter never saw; the socket check must still refuse.
 */
export function guardedConnector(policy: OutboundPolicy, lookup: LookupFunction = guardedLookup): buildConnector.connector {
  const plain = buildConnector({});
  const guarded = buildConnector({ lookup });
  return (opts, callback) => {
    const port = effectivePort(opts.port, opts.protocol);
    if (destinationAllowed(policy, opts.hostname, port)) {
      return plain(opts, (err, socket) => {
        if (err) return callback(err, null);
        // The entry names one port: the socket must have reached exactly that one.
        if (!destinationAllowed(policy, opts.hostname, socket!.remotePort ?? 0)) {
          socket!.destroy();
          return callback(new BlockedAddressError(opts.hostname, `${socket!.remoteAddress ?? '?'} port ${socket!.remotePort ?? '?'}`), null);
        }
        return callback(null, socket!);
      });
    }
    guarded(opts, (err, socket) => {
      if (err) return callback(err, null);
      const remote = socket!.remoteAddress;
      if (!remote || isBlockedAddress(remote)) {
        socket!.destroy();
        return callback(new BlockedAddressError(opts.hostname, remote ?? 'an unknown address'), null);
      }
      return callback(null, socket!);
    });
  };
}

function createAgent(policy: OutboundPolicy): Agent {
  // Sized for GET /api/external's benchmark: 512 concurrent clients against a slow upstream.
  const pool = { connections: 1024, pipelining: 1, keepAliveTimeout: 10_000, keepAliveMaxTimeout: 60_000 };
  return policy.allowPrivate ? new Agent(pool) : new Agent({ ...pool, connect: guardedConnector(policy) });
}

const agents = new Map<string, Agent>();

/** The shared Agent of a policy: connections are pooled and kept alive across requests. */
export function agentFor(policy: OutboundPolicy): Agent {
  const key = `${policy.allowPrivate}|${policy.allowedHosts.map((a) => `[${a.host}]:${a.port ?? '*'}`).sort().join(',')}`;
  let agent = agents.get(key);
  if (!agent) agents.set(key, (agent = createAgent(policy)));
  return agent;
}

/** Close every pooled connection (process shutdown, end of a test file). */
export async function closeOutboundAgents(): Promise<void> {
  const all = [...agents.values()];
  agents.clear();
  await Promise.all(all.map((a) => a.close()));
}
