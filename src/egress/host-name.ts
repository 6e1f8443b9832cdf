/**
 * Host names as the proxy compares them. A name arrives from a CONNECT line, an absolute URL, a Host
 * header, a SOCKS request or a TLS ClientHello, and all of them must mean the same thing before one is
 * checked against another: lower case, no trailing dot, IPv6 without brackets. Anything a resolver
 * might read in more than one way (`127.1`, `0x7f.1`, non-ASCII look-alikes) is refused, not guessed.
 */
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

export type TargetHost =
  | { readonly kind: 'name'; readonly host: string }
  | { readonly kind: 'ip'; readonly host: string };

export type Parsed<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly problem: string };

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const DIGITS = /^[0-9]+$/;
const MAX_NAME_LENGTH = 253;

/** A host as written in a request (brackets allowed around IPv6), normalised, or why it is not one. */
export function parseTargetHost(raw: string): Parsed<TargetHost> {
  const unbracketed = raw.startsWith('[') && raw.endsWith(']') ? raw.slice(1, -1) : raw;
  // Zone ids (fe80::1%eth0) name a host interface: never a destination for a sandbox.
  if (isIP(unbracketed) !== 0 && !unbracketed.includes('%')) {
    return { ok: true, value: { kind: 'ip', host: ipaddr.parse(unbracketed).toString() } };
  }
  if (unbracketed !== raw) return { ok: false, problem: `${quote(raw)} is not an IPv6 address` };
  const lower = raw.toLowerCase();
  const name = lower.endsWith('.') ? lower.slice(0, -1) : lower;
  if (name === '' || name.length > MAX_NAME_LENGTH)
    return { ok: false, problem: `${quote(raw)} is not a host name` };
  const labels = name.split('.');
  if (!labels.every((label) => LABEL.test(label))) {
    return {
      ok: false,
      problem: `${quote(raw)} is not a host name (letters, digits and - only; write international names in their xn-- form)`,
    };
  }
  // `127.1` and `2130706433` are IPv4 addresses to getaddrinfo; no real top-level domain is numeric.
  if (DIGITS.test(labels[labels.length - 1]!)) {
    return { ok: false, problem: `${quote(raw)} is neither a host name nor an IP address in dotted form` };
  }
  return { ok: true, value: { kind: 'name', host: name } };
}

/** A port written as decimal digits, 1–65535. */
export function parsePort(text: string): number | undefined {
  if (!DIGITS.test(text) || text.length > 5) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65_535 ? port : undefined;
}

/** `host:port` (or `[v6]:port`), as in a CONNECT request line. The port is required. */
export function parseAuthority(authority: string): Parsed<{ host: TargetHost; port: number }> {
  const colon = authority.lastIndexOf(':');
  const hostText = colon === -1 ? authority : authority.slice(0, colon);
  const port = colon === -1 ? undefined : parsePort(authority.slice(colon + 1));
  if (port === undefined || (hostText.includes(':') && !hostText.startsWith('['))) {
    return { ok: false, problem: `${quote(authority)} is not host:port` };
  }
  const host = parseTargetHost(hostText);
  return host.ok ? { ok: true, value: { host: host.value, port } } : host;
}

/** `host` as it goes back into an authority: IPv6 in brackets. */
export function formatHostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Quoted and cut short, so a hostile 8 KiB "host" cannot flood the model's context or a log line. */
export function quote(text: string): string {
  const shown = text.length > 80 ? `${text.slice(0, 77)}...` : text;
  return JSON.stringify(shown);
}
