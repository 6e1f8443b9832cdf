/**
 * Which IP addresses the proxy may connect to. The allow-list is about names; this is about where a name
 * leads. A public name that resolves to 127.0.0.1, 10.0.0.5 or 169.254.169.254 would turn the proxy into
 * a way into the host, the local network or the cloud's metadata service, so every resolved address is
 * checked here before it is dialled, and only a session's own `hosts` entry can point a name elsewhere.
 */
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/** Words for each special range, for the reason the model reads. */
const RANGE_WORDS: Readonly<Record<string, string>> = {
  unspecified: 'an unspecified address',
  broadcast: 'a broadcast address',
  multicast: 'a multicast address',
  linkLocal: 'a link-local address (cloud metadata services live there)',
  loopback: 'a loopback address',
  carrierGradeNat: 'a shared (carrier-grade NAT) address',
  private: 'a private address',
  reserved: 'a reserved address',
  as112: 'a reserved (AS112) address',
  amt: 'a reserved (AMT) address',
  uniqueLocal: 'a private (unique local) address',
  deprecatedSiteLocal: 'a site-local address',
  discard: 'a discard-only address',
  rfc6145: 'a translated IPv4 address',
  rfc6052: 'a local-use NAT64 address',
  '6to4': 'a 6to4 address',
  teredo: 'a Teredo address',
  benchmarking: 'a benchmarking address',
  as112v6: 'a reserved (AS112) address',
  deprecatedOrchid: 'a reserved (ORCHID) address',
  orchid2: 'a reserved (ORCHIDv2) address',
  droneRemoteIdProtocolEntityTags: 'a reserved (DRIP) address',
  segmentRouting: 'a segment-routing address',
};

/**
 * Why a connection to `address` is refused, or undefined for a public unicast address. `address` must be
 * an IP literal in canonical text (what a resolver returns); anything else is refused, never guessed at,
 * because lenient parsers read `0x7f.1` or `2130706433` as 127.0.0.1.
 */
export function forbiddenAddressReason(address: string): string | undefined {
  // Zone ids (fe80::1%eth0) name a host interface: never a destination for a sandbox.
  if (isIP(address) === 0 || address.includes('%')) return `${JSON.stringify(address)} is not an IP address`;
  let parsed: ipaddr.IPv4 | ipaddr.IPv6 = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6') {
    const v6 = parsed as ipaddr.IPv6;
    // ::ffff:127.0.0.1 is 127.0.0.1 to the kernel: judge the IPv4 address it carries.
    if (v6.isIPv4MappedAddress()) parsed = v6.toIPv4Address();
    else {
      const embedded = wellKnownNat64(v6);
      // On an IPv6-only network a DNS64 resolver answers 64:ff9b::a.b.c.d for an IPv4-only site; the
      // translator delivers to a.b.c.d, so that is the address to judge.
      if (embedded !== undefined) parsed = embedded;
    }
  }
  const range = parsed.range();
  if (range !== 'unicast') return RANGE_WORDS[range] ?? `a special-purpose address (${range})`;
  // Outside 2000::/3 IPv6 is unassigned or special (IPv4-compatible ::a.b.c.d among them): none of it
  // is a public host.
  if (parsed.kind() === 'ipv6' && ((parsed as ipaddr.IPv6).parts[0]! & 0xe000) !== 0x2000) {
    return 'an address outside the public IPv6 range';
  }
  return undefined;
}

function wellKnownNat64(address: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  const [a, b, c, d, e, f, g, h] = address.parts;
  if (a !== 0x64 || b !== 0xff9b || c !== 0 || d !== 0 || e !== 0 || f !== 0) return undefined;
  return new ipaddr.IPv4([g! >> 8, g! & 0xff, h! >> 8, h! & 0xff]);
}

/** True when `address` and `other` are the same IP (so `::ffff:1.2.3.4` equals `1.2.3.4`). */
export function sameAddress(address: string, other: string): boolean {
  if (isIP(address) === 0 || isIP(other) === 0) return false;
  return ipaddr.process(address).toNormalizedString() === ipaddr.process(other).toNormalizedString();
}
