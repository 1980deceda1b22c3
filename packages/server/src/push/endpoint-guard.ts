/**
 * The SSRF rule for Web Push endpoints. An endpoint is a URL a user chose, and the server will
 * POST to it, so it must not become a way to reach what only the server can reach: only `https`
 * URLs whose host resolves, at SEND time, to public addresses only. The address that passed the
 * check is the one connected to (no second lookup a rebinding DNS could answer differently).
 * `LETTER_PUSH_ALLOW_HOSTS` (host[:port], comma-separated) admits others: a push service on the
 * LAN, or the tests' one on 127.0.0.1.
 */
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

export type EndpointRefusal =
  'bad_url' | 'not_https' | 'credentials' | 'unresolvable' | 'private_address';

export class EndpointRefused extends Error {
  constructor(
    readonly reason: EndpointRefusal,
    detail: string,
  ) {
    super(`push endpoint refused (${reason}): ${detail}`);
  }
}

/** Where to connect for an endpoint that passed: the checked address and what TLS verifies. */
export interface CheckedEndpoint {
  url: URL;
  /** The host name (for SNI, the certificate and the Host header). */
  hostname: string;
  port: number;
  address: string;
  family: 4 | 6;
}

export type Resolve = (hostname: string) => Promise<{ address: string; family: number }[]>;

const systemResolve: Resolve = (hostname) => lookup(hostname, { all: true, verbatim: true });

/** Every range that is not the public Internet (RFC 6890 special-purpose registries). */
const NOT_PUBLIC = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // CGNAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local (cloud metadata lives here)
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const)
  NOT_PUBLIC.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['::', 96], // IPv4-compatible (deprecated)
  ['64:ff9b::', 96], // NAT64: could reach any IPv4 address
  ['64:ff9b:1::', 48], // local NAT64
  ['100::', 64], // discard
  ['2001::', 23], // IETF protocol assignments (Teredo, benchmarking, ORCHID…)
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4: embeds an IPv4 address
  ['fc00::', 7], // unique local (ULA)
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const)
  NOT_PUBLIC.addSubnet(net, prefix, 'ipv6');

/** Whether `address` (IPv4 or IPv6, an IPv4-mapped one by its IPv4 part) is public. */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return !NOT_PUBLIC.check(address, 'ipv4');
  if (family !== 6) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return isPublicAddress(mapped[1]!);
  if (/^::ffff:/i.test(address)) return false; // mapped, in hex form: refuse rather than parse
  return !NOT_PUBLIC.check(address, 'ipv6');
}

/** Parses LETTER_PUSH_ALLOW_HOSTS entries: `host` (any port) or `host:port`, lower-cased. */
export function allowHostMatcher(entries: string[]): (url: URL) => boolean {
  const allowed = new Set(entries.map((entry) => entry.trim().toLowerCase()).filter(Boolean));
  return (url) => {
    if (allowed.size === 0) return false;
    const port = url.port || '443';
    const host = url.hostname.toLowerCase();
    return allowed.has(host) || allowed.has(`${host}:${port}`);
  };
}

/** The URL checks that need no DNS (at subscribe time too). */
export function parseEndpoint(endpoint: string): URL {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new EndpointRefused('bad_url', 'not a URL');
  }
  if (url.protocol !== 'https:') throw new EndpointRefused('not_https', url.protocol);
  if (url.username || url.password) throw new EndpointRefused('credentials', url.host);
  return url;
}

/**
 * Checks an endpoint right before a send: parsed, https, and every address its host resolves to
 * is public (one private address among public ones refuses it: a resolver may hand them out in
 * any order), unless the allow-list admits the host.
 */
export async function checkEndpoint(
  endpoint: string,
  allowed: (url: URL) => boolean,
  resolve: Resolve = systemResolve,
): Promise<CheckedEndpoint> {
  const url = parseEndpoint(endpoint);
  // URL keeps IPv6 literals in brackets.
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port ? Number(url.port) : 443;
  let addresses: { address: string; family: number }[];
  if (isIP(hostname)) addresses = [{ address: hostname, family: isIP(hostname) }];
  else {
    try {
      addresses = await resolve(hostname);
    } catch (error) {
      throw new EndpointRefused('unresolvable', `${hostname}: ${(error as Error).message}`);
    }
  }
  const first = addresses[0];
  if (!first) throw new EndpointRefused('unresolvable', hostname);
  if (!allowed(url)) {
    const bad = addresses.find((a) => !isPublicAddress(a.address));
    if (bad) throw new EndpointRefused('private_address', `${hostname} → ${bad.address}`);
  }
  return { url, hostname, port, address: first.address, family: first.family === 6 ? 6 : 4 };
}
