/**
 * Connections to the world, only ever to addresses the decision checked: plain TCP through the
 * injectable dialer, and TLS on top of it for hosts whose secrets the proxy swaps in, verified against
 * the system's roots (or the CA the caller passes, for tests and private PKI).
 */
import type { Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { EgressDialer } from './types.ts';

import { createDirectReadDialer } from './direct-read.ts';

/** One per proxy: its sockets share one budget of bulk read buffers (direct-read.ts). */
export function createDefaultDialer(): EgressDialer {
  return createDirectReadDialer();
}

/**
 * Tries the checked addresses in order (IPv6 first when the resolver says so, IPv4 after) until one
 * answers; each attempt gets `timeoutMs`.
 */
export async function connectFirst(
  addresses: readonly string[],
  port: number,
  dial: EgressDialer,
  timeoutMs: number,
): Promise<{ socket: Socket; address: string } | { error: string }> {
  let lastError = 'no address';
  for (const address of addresses) {
    const socket = dial(address, port);
    const result = await new Promise<string | undefined>((resolve) => {
      const timer = setTimeout(() => resolve('ETIMEDOUT'), timeoutMs);
      const done = (error: string | undefined) => {
        clearTimeout(timer);
        socket.off('connect', onConnect);
        socket.off('error', onError);
        resolve(error);
      };
      const onConnect = () => done(undefined);
      const onError = (error: Error) => done((error as { code?: string }).code ?? 'error');
      if (!socket.connecting && !socket.destroyed) return done(undefined);
      socket.once('connect', onConnect);
      socket.once('error', onError);
    });
    if (result === undefined) return { socket, address };
    socket.destroy();
    lastError = result;
  }
  return { error: lastError };
}

export interface UpstreamTlsOptions {
  /** Host name to send as SNI and check the certificate against; an IP literal is checked as an IP. */
  readonly host: string;
  readonly isName: boolean;
  /** Roots to verify against; undefined means Node's default (system) roots. */
  readonly ca: string | readonly string[] | undefined;
}

export function wrapTls(socket: Socket, options: UpstreamTlsOptions): TLSSocket {
  return tlsConnect({
    socket,
    host: options.host,
    ...(options.isName ? { servername: options.host } : {}),
    ...(options.ca === undefined ? {} : { ca: options.ca as string | string[] }),
    // The proxy parses HTTP/1.1 inside the TLS it opens; offering h2 upstream would be a different protocol.
    ALPNProtocols: ['http/1.1'],
    minVersion: 'TLSv1.2',
    rejectUnauthorized: true,
  });
}
