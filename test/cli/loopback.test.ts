/**
 * Which hosts count as this machine: the CLI sends the admin-token file only to them, and `airlock
 * serve` warns when bound to any other. Host names as configured and URL hostnames (IPv6 in brackets)
 * must get the same answer.
 */
import { describe, expect, it } from 'vitest';
import { isLoopbackHost } from '../../src/cli/loopback.ts';

describe('isLoopbackHost', () => {
  it('accepts localhost, 127.0.0.0/8 and ::1, as typed and as URL.hostname writes them', () => {
    const loopback = [
      'localhost',
      'LocalHost',
      '127.0.0.1',
      '127.1.2.3',
      '::1',
      '[::1]',
      '0:0:0:0:0:0:0:1',
      new URL('http://[0:0::1]:7400').hostname,
      new URL('http://127.1:7400').hostname,
      new URL('http://LOCALHOST:7400').hostname,
    ];
    expect(loopback.length).toBeGreaterThan(0);
    for (const host of loopback) expect(isLoopbackHost(host), host).toBe(true);
  });

  it('refuses every other host, including names built to look local (adversarial)', () => {
    const elsewhere = [
      '0.0.0.0',
      '::',
      '[::]',
      '10.0.0.1',
      '128.0.0.1',
      '127.0.0.1.nip.io',
      'localhost.example.com',
      'notlocalhost',
      '[::1].example.com',
      '::2',
      '::ffff:10.0.0.1',
      'fe80::1%lo',
      '',
      '[]',
    ];
    expect(elsewhere.length).toBeGreaterThan(0);
    for (const host of elsewhere) expect(isLoopbackHost(host), host).toBe(false);
  });
});
