/**
 * FETCH_ALLOWED_HOSTS: `host` (any port) or `host:port` (that port only), IPv6 in brackets
 * (`[::1]:9100`). Hosts are normalised by the WHATWG URL parser, the same one that reads the
 * URLs fetched, so `127.1` here and `http://127.1/` there both mean 127.0.0.1.
 */
import type { AllowedHost } from '../lib/http/agent.ts';

export type { AllowedHost };

function normalisedHost(text: string): string | undefined {
  if (text === '' || /[/?#@\\\s]/.test(text)) return undefined;
  try {
    const url = new URL(`http://${text}/`);
    // A port or userinfo smuggled into the host part would show up here.
    if (url.port !== '' || url.username !== '' || url.password !== '') return undefined;
    const host = url.hostname;
    return host.startsWith('[') ? host.slice(1, -1) : host;
  } catch {
    return undefined;
  }
}

function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

/** One entry, or a reason it is malformed. */
export function parseAllowedHost(entry: string): AllowedHost | string {
  const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(entry);
  let hostText: string;
  let portText: string | undefined;
  if (bracketed) {
    hostText = `[${bracketed[1]}]`;
    portText = bracketed[2];
  } else if (entry.split(':').length > 2) {
    return 'write an IPv6 address in brackets, as [::1] or [::1]:9100';
  } else {
    [hostText, portText] = entry.split(':') as [string, string | undefined];
  }
  const host = normalisedHost(hostText);
  if (host === undefined) return `${JSON.stringify(hostText)} is not a host name or IP address`;
  if (portText === undefined) return { host, port: undefined };
  const port = parsePort(portText);
  if (port === undefined) return `${JSON.stringify(portText)} is not a port (1-65535)`;
  return { host, port };
}

/** The whole comma-separated variable: its entries, and why each malformed one is. */
export function parseAllowedHosts(value: string): { hosts: AllowedHost[]; errors: string[] } {
  const hosts: AllowedHost[] = [];
  const errors: string[] = [];
  for (const entry of value.split(',').map((e) => e.trim()).filter(Boolean)) {
    const parsed = parseAllowedHost(entry);
    if (typeof parsed === 'string') errors.push(`${JSON.stringify(entry)}: ${parsed}`);
    else hosts.push(parsed);
  }
  return { hosts, errors };
}
