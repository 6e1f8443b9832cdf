/**
 * The three ways a connection asks to go out — a plain-HTTP proxy request, CONNECT, SOCKS5 — each
 * turned into one decision, one upstream connection to a checked address, and one record.
 */
import { Agent, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { wrapWithHead } from './wrap-stream.ts';
import type { SessionCa } from './ca.ts';
import { startRecord, type ConnectionRecord, type RecordContext } from './connection-record.ts';
import { decideTarget, type Decision } from './decide.ts';
import { parseAuthority, parseTargetHost, type TargetHost } from './host-name.ts';
import { forwardRequest, type UpstreamTarget } from './http-forward.ts';
import { refusalStatus, sendRefusal, writeRawRefusal } from './refusal-response.ts';
import type { SessionState } from './session-state.ts';
import { MAX_SOCKS_HANDSHAKE_BYTES, SocksReply, parseGreeting, parseRequest, socksReply } from './socks5.ts';
import { runTunnel } from './tunnel.ts';
import type { BulkRelay } from './bulk-relay.ts';
import type { EgressDialer, EgressProtocol, EgressResolver } from './types.ts';
import { connectFirst, wrapTls } from './upstream.ts';

export interface ProxyLimits {
  readonly maxConnectionsPerSession: number;
  readonly bytesPerSecondPerSession: number | undefined;
  readonly idleTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly maxHeaderBytes: number;
  readonly maxBodyRewriteBytes: number;
}

export interface SessionRuntime {
  readonly state: SessionState;
  readonly ca: SessionCa | undefined;
  readonly record: Omit<RecordContext, 'state'>;
}

export interface ProxyContext {
  readonly limits: ProxyLimits;
  readonly resolve: EgressResolver;
  readonly dial: EgressDialer;
  readonly approvalWaitMs: number;
  readonly upstreamCa: string | readonly string[] | undefined;
  /** Takes pass-through tunnels that carry bulk off the proxy's event loop; undefined: none. */
  readonly relay: BulkRelay | undefined;
  /** Reads HTTP inside tunnels (plaintext, or TLS the proxy opened); its requests find their tunnel here. */
  readonly innerServer: Server;
  readonly tunnels: WeakMap<
    object,
    { runtime: SessionRuntime; record: ConnectionRecord; target: UpstreamTarget }
  >;
}

type Allowed = Extract<Decision, { allowed: true }>;

function newRecord(runtime: SessionRuntime, protocol: EgressProtocol): ConnectionRecord {
  return startRecord({ ...runtime.record, state: runtime.state }, protocol);
}

/** Decides and connects; on refusal or failure, records it and returns what to tell the client. */
async function openUpstream(
  context: ProxyContext,
  runtime: SessionRuntime,
  record: ConnectionRecord,
  target: TargetHost,
  port: number,
  protocol: EgressProtocol,
): Promise<{ socket: Socket; address: string } | { status: number; code: string; message: string }> {
  record.target(target.host, port);
  const decision = await decideTarget(
    runtime.state,
    target,
    port,
    protocol,
    context.resolve,
    context.approvalWaitMs,
  );
  if (!decision.allowed) {
    record.refused(decision.code, decision.message);
    return { status: refusalStatus(decision.code), code: decision.code, message: decision.message };
  }
  record.allowed((decision as Allowed).via);
  const connected = await connectFirst(
    decision.addresses,
    port,
    context.dial,
    context.limits.connectTimeoutMs,
  );
  if ('error' in connected) {
    record.failed('connect_failed');
    return {
      status: 502,
      code: 'upstream_failed',
      message: `airlock: could not reach ${target.host}:${port} (${connected.error})`,
    };
  }
  record.address(connected.address);
  record.upstream(connected.socket);
  return connected;
}

/** A plain-HTTP proxy request (`GET http://host/path`): one decision and one upstream per request. */
export async function handleProxyRequest(
  context: ProxyContext,
  runtime: SessionRuntime,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const record = newRecord(runtime, 'http');
  res.on('close', () => record.finish());
  const url = parseAbsoluteUrl(req.url ?? '');
  if (typeof url === 'string') {
    record.refused('bad_request', url);
    sendRefusal(res, 400, 'bad_request', url);
    return;
  }
  const opened = await openUpstream(context, runtime, record, url.host, url.port, 'http');
  if (!('socket' in opened)) return sendRefusal(res, opened.status, opened.code, opened.message);
  if (res.destroyed) return void opened.socket.destroy(); // the client gave up while it was decided
  const target: UpstreamTarget = {
    host: url.host.host,
    port: url.port,
    tls: false,
    connect: () => opened.socket,
  };
  await forwardRequest(req, res, target, {
    state: runtime.state,
    record,
    relay: context.relay,
    ...forwardLimits(context),
  });
}

function forwardLimits(context: ProxyContext) {
  return {
    maxBodyRewriteBytes: context.limits.maxBodyRewriteBytes,
    idleTimeoutMs: context.limits.idleTimeoutMs,
    maxHeaderBytes: context.limits.maxHeaderBytes,
  };
}

function parseAbsoluteUrl(raw: string): { host: TargetHost; port: number } | string {
  if (raw.startsWith('/')) {
    return 'airlock: this is the egress proxy: send requests through it (HTTP_PROXY), with absolute URLs';
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'airlock: the request target is not a URL';
  }
  if (url.protocol !== 'http:')
    return `airlock: ${url.protocol}// requests go through CONNECT (HTTPS_PROXY), not as plain requests`;
  const host = parseTargetHost(url.hostname);
  if (!host.ok) return `airlock: ${host.problem}`;
  return { host: host.value, port: url.port === '' ? 80 : Number(url.port) };
}

/** CONNECT host:port: refused with a readable 403 before any tunnel exists. */
export async function handleConnect(
  context: ProxyContext,
  runtime: SessionRuntime,
  req: IncomingMessage,
  client: Socket,
  head: Buffer,
): Promise<void> {
  const record = newRecord(runtime, 'connect');
  client.on('close', () => record.finish());
  client.on('error', () => client.destroy());
  const authority = parseAuthority(req.url ?? '');
  if (!authority.ok) {
    const message = `airlock: CONNECT needs host:port: ${authority.problem}`;
    record.refused('bad_request', message);
    return writeRawRefusal(client, 400, 'bad_request', message);
  }
  const { host, port } = authority.value;
  const opened = await openUpstream(context, runtime, record, host, port, 'connect');
  if (!('socket' in opened)) return writeRawRefusal(client, opened.status, opened.code, opened.message);
  if (client.destroyed) return void opened.socket.destroy();
  client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
  startTunnel(context, runtime, record, client, head, host, port, opened.socket);
}

/** SOCKS5 from its first byte: greeting, request, then the same tunnel as CONNECT. */
export function handleSocks(
  context: ProxyContext,
  runtime: SessionRuntime,
  client: Socket,
  first: Buffer,
): void {
  const record = newRecord(runtime, 'socks');
  client.on('close', () => record.finish());
  client.on('error', () => client.destroy());
  let buffered = first;
  let greeted = false;
  const onData = (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    step();
  };
  const step = () => {
    if (buffered.length > MAX_SOCKS_HANDSHAKE_BYTES) return void client.destroy();
    const parsed = greeted ? parseRequest(buffered) : parseGreeting(buffered);
    if (parsed.status === 'incomplete') return;
    if (parsed.status === 'refuse') {
      record.refused('bad_request', 'airlock: SOCKS5 request refused (no-authentication CONNECT only)');
      return void client.end(parsed.reply);
    }
    buffered = buffered.subarray(parsed.consumed);
    if (parsed.status === 'greeted') {
      greeted = true;
      client.write(parsed.reply);
      return step();
    }
    client.off('data', onData);
    client.pause();
    void connectSocks(context, runtime, record, client, parsed.host, parsed.port, buffered);
  };
  client.on('data', onData);
  step();
}

async function connectSocks(
  context: ProxyContext,
  runtime: SessionRuntime,
  record: ConnectionRecord,
  client: Socket,
  hostText: string,
  port: number,
  head: Buffer,
): Promise<void> {
  const host = parseTargetHost(hostText);
  if (!host.ok) {
    record.target(hostText.slice(0, 253), port);
    record.refused('bad_request', `airlock: ${host.problem}`);
    return void client.end(socksReply(SocksReply.hostUnreachable));
  }
  const opened = await openUpstream(context, runtime, record, host.value, port, 'socks');
  if (!('socket' in opened)) {
    // SOCKS has no room for a reason; the refusal is in the session's (and command's) refused hosts.
    const reply = opened.status === 502 ? SocksReply.hostUnreachable : SocksReply.notAllowed;
    return void client.end(socksReply(reply));
  }
  if (client.destroyed) return void opened.socket.destroy();
  client.write(socksReply(SocksReply.succeeded));
  startTunnel(context, runtime, record, client, head, host.value, port, opened.socket);
}

function startTunnel(
  context: ProxyContext,
  runtime: SessionRuntime,
  record: ConnectionRecord,
  client: Socket,
  head: Buffer,
  target: TargetHost,
  port: number,
  upstream: Socket,
): void {
  runTunnel({
    state: runtime.state,
    record,
    target,
    port,
    client,
    head,
    upstream,
    idleTimeoutMs: context.limits.idleTimeoutMs,
    relay: context.relay,
    inspect: (kind, first, connected) =>
      void inspectTunnel(context, runtime, record, client, kind, first, target, port, connected),
  });
}

/** Hands a tunnel to the inner HTTP server: as is (plaintext), or inside TLS the proxy terminates. */
async function inspectTunnel(
  context: ProxyContext,
  runtime: SessionRuntime,
  record: ConnectionRecord,
  client: Socket,
  kind: 'tls' | 'http',
  first: Buffer,
  target: TargetHost,
  port: number,
  connected: Socket,
): Promise<void> {
  const useTls = kind === 'tls';
  const address = connected.remoteAddress;
  let spare: Socket | undefined = connected;
  const connect = () => {
    // The first request reuses the connection made for the decision; later ones dial the same address.
    let raw = spare;
    spare = undefined;
    if (raw === undefined || raw.destroyed) {
      raw = context.dial(address ?? '', port);
      record.upstream(raw);
    }
    return useTls
      ? wrapTls(raw, { host: target.host, isName: target.kind === 'name', ca: context.upstreamCa })
      : raw;
  };
  // One upstream connection at a time, kept between requests: the client's requests in one tunnel are sequential.
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  (agent as unknown as { createConnection: () => Socket }).createConnection = connect;
  client.on('close', () => {
    agent.destroy();
    connected.destroy();
  });
  const upstream: UpstreamTarget = { host: target.host, port, tls: useTls, connect, agent };
  let stream: Socket;
  if (useTls) {
    const ca = runtime.ca;
    if (ca === undefined) return void client.destroy();
    let secureContext;
    try {
      secureContext = await ca.contextFor(target.host);
    } catch {
      record.failed('certificate_failed');
      return void client.destroy();
    }
    record.inspected();
    stream = new TLSSocket(wrapWithHead(client, first), {
      isServer: true,
      secureContext,
      ALPNProtocols: ['http/1.1'],
    });
    stream.on('error', () => client.destroy());
  } else {
    client.unshift(first);
    stream = client;
  }
  context.tunnels.set(stream, { runtime, record, target: upstream });
  context.innerServer.emit('connection', stream);
  client.resume();
}

/** A request read inside a tunnel. */
export async function handleTunnelRequest(
  context: ProxyContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const tunnel = context.tunnels.get(req.socket);
  if (tunnel === undefined) return void res.destroy();
  await forwardRequest(req, res, tunnel.target, {
    state: tunnel.runtime.state,
    record: tunnel.record,
    ...forwardLimits(context),
  });
}
