/**
 * Which IP addresses outbound HTTP may reach. Loopback, private, link-local, CGNAT,
 * multicast and reserved ranges are refused, in IPv4, IPv6, and IPv4 embedded in IPv6
 * (mapped `::ffff:a.b.c.d`, NAT64, 6to4), whatever spelling was used.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';

const v4Ranges: [string, number][] = [
  ['0.0.0.0', 8], // "this network", includes 0.0.0.0
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata (169.254.169.254)
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, includes 255.255.255.255
];

const v6Ranges: [string, number][] = [
  ['::', 96], // unspecified, loopback and the deprecated IPv4-compatible ::a.b.c.d
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard-only
  ['2001::', 32], // Teredo: the IPv4 inside is obfuscated, so refuse the prefix
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique-local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated, still routable on some networks)
  ['ff00::', 8], // multicast
];

const blocked = new BlockList();
for (const [net, prefix] of v4Ranges) blocked.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of v6Ranges) blocked.addSubnet(net, prefix, 'ipv6');

/** Eight 16-bit groups of an IPv6 address (zone id dropped), or undefined if it is not one. */
export function ipv6Groups(address: string): number[] | undefined {
  let text = address.replace(/%.*$/, '');
  if (!isIPv6(text)) return undefined;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    text = text.slice(0, -dotted[1]!.length) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : Array(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((g) => parseInt(g, 16));
}

function v4FromGroups(hi: number, lo: number): string {
  return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
}

/** The IPv4 address an IPv6 address carries (mapped, NAT64, 6to4), if any. */
export function embeddedIPv4(groups: number[]): string | undefined {
  const [g0, g1, g2, g3, g4, g5, g6, g7] = groups as [number, number, number, number, number, number, number, number];
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0xffff) return v4FromGroups(g6, g7); // ::ffff:a.b.c.d
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return v4FromGroups(g6, g7); // 64:ff9b::/96
  if (g0 === 0x2002) return v4FromGroups(g1, g2); // 6to4
  return undefined;
}

/** Whether an IP literal is one outbound HTTP must not reach. Anything that is not an IP is refused too. */
export function isBlockedAddress(address: string): boolean {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  if (isIPv4(bare)) return blocked.check(bare, 'ipv4');
  const groups = ipv6Groups(bare);
  if (!groups) return true;
  const v4 = embeddedIPv4(groups);
  if (v4 !== undefined && blocked.check(v4, 'ipv4')) return true;
  return blocked.check(bare.replace(/%.*$/, ''), 'ipv6');
}
