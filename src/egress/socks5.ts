/**
 * The SOCKS5 handshake (RFC 1928), for tools that speak only SOCKS (`ALL_PROXY=socks5h://…`, git over
 * ssh through a ProxyCommand): no authentication, CONNECT only, names or addresses. Parsed from
 * untrusted bytes with every length bounded; the whole handshake is at most a few hundred bytes.
 */
import { isIP } from 'node:net';

export const SOCKS_VERSION = 5;
/** A greeting (2 + 255) and a request (4 + 1 + 255 + 2) together never need more. */
export const MAX_SOCKS_HANDSHAKE_BYTES = 600;

export const SocksReply = {
  succeeded: 0,
  generalFailure: 1,
  notAllowed: 2,
  hostUnreachable: 4,
  connectionRefused: 5,
  commandNotSupported: 7,
  addressTypeNotSupported: 8,
} as const;

export type SocksStep =
  | { readonly status: 'incomplete' }
  /** Refuse with this reply code (or, for a greeting with no usable method, 0xff) and close. */
  | { readonly status: 'refuse'; readonly reply: Buffer }
  | { readonly status: 'greeted'; readonly consumed: number; readonly reply: Buffer }
  | { readonly status: 'request'; readonly consumed: number; readonly host: string; readonly port: number };

const NO_AUTH = 0;
const NO_ACCEPTABLE_METHOD = 0xff;

export function socksReply(code: number): Buffer {
  // The bound address is not meaningful through a proxy: 0.0.0.0:0, as many servers answer.
  return Buffer.from([SOCKS_VERSION, code, 0, 1, 0, 0, 0, 0, 0, 0]);
}

export function parseGreeting(bytes: Buffer): SocksStep {
  if (bytes.length < 2) return { status: 'incomplete' };
  if (bytes[0] !== SOCKS_VERSION)
    return { status: 'refuse', reply: Buffer.from([SOCKS_VERSION, NO_ACCEPTABLE_METHOD]) };
  const count = bytes[1]!;
  if (bytes.length < 2 + count) return { status: 'incomplete' };
  const methods = bytes.subarray(2, 2 + count);
  if (!methods.includes(NO_AUTH))
    return { status: 'refuse', reply: Buffer.from([SOCKS_VERSION, NO_ACCEPTABLE_METHOD]) };
  return { status: 'greeted', consumed: 2 + count, reply: Buffer.from([SOCKS_VERSION, NO_AUTH]) };
}

export function parseRequest(bytes: Buffer): SocksStep {
  if (bytes.length < 5) return { status: 'incomplete' };
  if (bytes[0] !== SOCKS_VERSION || bytes[2] !== 0)
    return { status: 'refuse', reply: socksReply(SocksReply.generalFailure) };
  if (bytes[1] !== 1) return { status: 'refuse', reply: socksReply(SocksReply.commandNotSupported) };
  const type = bytes[3]!;
  let hostEnd: number;
  let host: string;
  if (type === 1) {
    hostEnd = 4 + 4;
    if (bytes.length < hostEnd + 2) return { status: 'incomplete' };
    host = [...bytes.subarray(4, hostEnd)].join('.');
  } else if (type === 4) {
    hostEnd = 4 + 16;
    if (bytes.length < hostEnd + 2) return { status: 'incomplete' };
    const groups: string[] = [];
    for (let at = 4; at < hostEnd; at += 2) groups.push(bytes.readUInt16BE(at).toString(16));
    host = groups.join(':');
  } else if (type === 3) {
    const length = bytes[4]!;
    hostEnd = 5 + length;
    if (bytes.length < hostEnd + 2) return { status: 'incomplete' };
    const name = bytes.subarray(5, hostEnd);
    // Printable ASCII only; the caller then holds it to host-name rules like any other target.
    if (length === 0 || !name.every((byte) => byte > 0x20 && byte < 0x7f)) {
      return { status: 'refuse', reply: socksReply(SocksReply.hostUnreachable) };
    }
    host = name.toString('latin1');
  } else {
    return { status: 'refuse', reply: socksReply(SocksReply.addressTypeNotSupported) };
  }
  const port = bytes.readUInt16BE(hostEnd);
  if (port === 0 || (type !== 3 && isIP(host) === 0))
    return { status: 'refuse', reply: socksReply(SocksReply.generalFailure) };
  return { status: 'request', consumed: hostEnd + 2, host, port };
}
