import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';
import {
  handleConnect,
  handleProxyRequest,
  handleTunnelRequest,
  type ProxyContext,
  type ProxyLimits,
  type SessionRuntime,
} from './handlers.ts';
import { writeRawRefusal } from './refusal-response.ts';
import type { EgressDialer, EgressResolver } from './types.ts';

export interface ProxyServersOptions {
  limits: ProxyLimits;
  resolve: EgressResolver;
  dial: EgressDialer;
  approvalWaitMs: number;
  upstreamCa: ProxyContext['upstreamCa'];
  relay: ProxyContext['relay'];
  /** Which session a connection handed to the outer server belongs to. */
  runtimes: WeakMap<object, SessionRuntime>;
  onError(error: unknown): void;
}

export interface ProxyServers {
  /** Speaks HTTP proxy to the sandbox: absolute-form requests and CONNECT. */
  outerServer: HttpServer;
  /** Speaks HTTP inside an inspected CONNECT tunnel. */
  innerServer: HttpServer;
  context: ProxyContext;
}

/**
 * The two HTTP servers the proxy hands connections to (they never listen themselves), with their
 * timeouts and what they refuse.
 */
export function createProxyServers(options: ProxyServersOptions): ProxyServers {
  const { limits, runtimes, onError } = options;
  const serverOptions = {
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: 0,
    keepAliveTimeout: 5_000,
    // Node checks header and request timeouts on this interval (30 s by default), which would let a
    // slow client hold a connection far past headersTimeout.
    connectionsCheckingInterval: Math.max(100, Math.min(1_000, limits.headersTimeoutMs / 2)),
  };
  const outerServer: HttpServer = createHttpServer(serverOptions);
  const innerServer: HttpServer = createHttpServer(serverOptions);
  for (const server of [outerServer, innerServer]) {
    // These servers never listen (connections are handed to them), and Node starts enforcing
    // headersTimeout only on 'listening': without this a client could trickle headers for ever.
    server.emit('listening');
    // No idle timer on the client side of a request: the upstream's idle timer ends a stalled exchange
    // with a readable 504, and keepAliveTimeout closes a client that sends nothing more.
    server.timeout = 0;
    server.on('clientError', (_error, socket: Socket) => {
      if (socket.writable)
        writeRawRefusal(
          socket,
          400,
          'bad_request',
          'airlock: the proxy could not read this request (malformed, or headers too large)',
        );
      else socket.destroy();
    });
  }
  const context: ProxyContext = {
    limits,
    resolve: options.resolve,
    dial: options.dial,
    approvalWaitMs: options.approvalWaitMs,
    upstreamCa: options.upstreamCa,
    relay: options.relay,
    innerServer,
    tunnels: new WeakMap(),
  };
  const guard = (work: Promise<void>) => work.catch(onError);
  outerServer.on('request', (req, res) => {
    const runtime = runtimes.get(req.socket);
    if (runtime === undefined) return void res.destroy();
    guard(handleProxyRequest(context, runtime, req, res));
  });
  outerServer.on('connect', (req, socket: Socket, head: Buffer) => {
    const runtime = runtimes.get(socket);
    if (runtime === undefined) return void socket.destroy();
    guard(handleConnect(context, runtime, req, socket, head));
  });
  outerServer.on('upgrade', (_req, socket: Socket) => {
    writeRawRefusal(
      socket,
      400,
      'bad_request',
      'airlock: protocol upgrades over plain HTTP are not proxied; use wss:// or https://',
    );
  });
  innerServer.on('request', (req, res) => guard(handleTunnelRequest(context, req, res)));
  innerServer.on('connect', (_req, socket: Socket) =>
    writeRawRefusal(socket, 400, 'bad_request', 'airlock: CONNECT inside a tunnel is not proxied'),
  );
  innerServer.on('upgrade', (_req, socket: Socket) =>
    writeRawRefusal(
      socket,
      400,
      'bad_request',
      'airlock: protocol upgrades inside an inspected tunnel are not proxied',
    ),
  );

  return { outerServer, innerServer, context };
}
