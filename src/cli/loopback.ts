import { isIP } from 'node:net';

/**
 * Whether `host` names this machine over loopback: localhost, 127.0.0.0/8 or ::1. Takes a host as
 * configured or typed (`::1`, `127.0.0.1`, `localhost`) and a URL's `hostname`, which keeps an IPv6
 * address in brackets (`[::1]`).
 *
 * Only literal loopback forms count: deciding here sends the admin token file to a server, or
 * stays quiet about a server bound beyond this machine, so a name that merely resolves to 127.0.0.1
 * (or `127.0.0.1.example.com`) is treated as another host.
 */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (bare.toLowerCase() === 'localhost') return true;
  switch (isIP(bare)) {
    case 4:
      return bare.startsWith('127.');
    case 6:
      // Every spelling of ::1 (0:0:0:0:0:0:0:1, 0::1) the way a URL writes it. An address with a zone
      // (fe80::1%eth0) is no URL host and no loopback address.
      return URL.canParse(`http://[${bare}]/`) && new URL(`http://[${bare}]/`).hostname === '[::1]';
    default:
      return false;
  }
}
