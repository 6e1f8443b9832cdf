import { describe, expect, it } from 'vitest';
import { forbiddenAddressReason } from './address.ts';

describe('forbiddenAddressReason', () => {
  const refused: ReadonlyArray<[string, RegExp]> = [
    ['127.0.0.1', /loopback/],
    ['127.255.0.9', /loopback/],
    ['::1', /loopback/],
    ['10.1.2.3', /private/],
    ['172.16.0.1', /private/],
    ['192.168.1.1', /private/],
    ['100.64.0.1', /carrier-grade/],
    ['169.254.169.254', /link-local.*metadata/],
    ['fe80::1', /link-local/],
    ['fd00::1', /unique local/],
    ['fd00:ec2::254', /unique local/],
    ['fc00::1', /unique local/],
    ['0.0.0.0', /unspecified/],
    ['::', /unspecified/],
    ['224.0.0.1', /multicast/],
    ['ff02::1', /multicast/],
    ['255.255.255.255', /broadcast/],
    ['240.0.0.1', /reserved/],
    ['192.0.2.1', /reserved/],
    // IPv4-mapped and translated forms of private addresses are those addresses.
    ['::ffff:127.0.0.1', /loopback/],
    ['::ffff:7f00:1', /loopback/],
    ['::ffff:169.254.169.254', /link-local/],
    ['64:ff9b::a9fe:a9fe', /link-local/],
    ['64:ff9b::10.0.0.1', /private/],
    ['64:ff9b:1::1', /NAT64/],
    ['2002:7f00:1::1', /6to4/],
    ['2001::1', /Teredo|reserved/],
    ['2001:db8::1', /reserved/],
    // IPv4-compatible (deprecated) and site-local forms.
    ['::7f00:1', /outside the public IPv6 range/],
    ['::127.0.0.1', /loopback|outside the public IPv6 range/],
    ['fec0::1', /site-local/],
  ];

  it('refuses private, loopback, link-local, multicast, metadata and their disguises', () => {
    expect(refused.length).toBeGreaterThan(0);
    for (const [address, words] of refused) {
      expect(forbiddenAddressReason(address), address).toMatch(words);
    }
  });

  it('allows public unicast addresses, and NAT64 forms of them', () => {
    for (const address of ['11.22.33.44', '8.8.4.4', '2a00:1450:4001::1', '64:ff9b::b16:212c']) {
      expect(forbiddenAddressReason(address), address).toBeUndefined();
    }
  });

  it('refuses text that only a lenient parser reads as an address (adversarial)', () => {
    for (const text of ['0x7f.0.0.1', '2130706433', '127.1', '017.0.0.1', 'localhost', '', 'fe80::1%eth0']) {
      expect(forbiddenAddressReason(text), text).toMatch(/not an IP address/);
    }
  });
});
