/**
 * What every hop between nodes shares, whether it carries a request (forward.ts) or a WebSocket
 * upgrade (forward-upgrade.ts): the headers that name it, the request's headers minus those of the
 * connection, a bounded connect, and the error a client gets when the other node does not answer.
 */
import { type ClientRequest, request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { AirlockError } from '../errors/index.ts';

/** The header that carries a hop's signature. */
export const CLUSTER_HEADER = 'x-airlock-cluster';
/** The trailer vouching for a body streamed through (secret.ts signBody). */
export const BODY_TRAILER = 'x-airlock-cluster-body';
/** The header naming the node that answered, on every answer of a clustered node. */
export const NODE_HEADER = 'x-airlock-node';
/**
 * The header naming, on the answers about a session, the advertised origin of the node that runs it
 * (`cluster.directClients`): the SDK sends the session's later requests there.
 */
export const NODE_URL_HEADER = 'x-airlock-node-url';

/** Headers that belong to one connection, not to the request (RFC 9110 §7.6.1), and ours. */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  CLUSTER_HEADER,
]);

/** How long connecting to another node may take before the request is answered NODE_UNREACHABLE. */
const CONNECT_TIMEOUT_MS = 5000;

export interface ForwardTarget {
  readonly nodeId: string;
  /** The node's advertised origin, from the store. */
  readonly url: string;
}

/**
 * The request's headers for the next hop, without the connection's own and with the client added to
 * `x-forwarded-for`: a flat name/value list taken from the request's raw headers, without its
 * `content-length` (the forwarder sets the body's framing itself). A forwarded request never has its
 * headers parsed into an object here, and the list goes out as it is: each header as the client sent
 * it (repeats too, which the receiving node then reads by the same rules as a direct request).
 */
export function hopRawHeaders(request: IncomingMessage): string[] {
  const raw = request.rawHeaders;
  const out: string[] = [];
  let forwardedFor: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    const value = raw[i + 1] as string;
    if (name === 'x-forwarded-for')
      forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
    else if (!HOP_BY_HOP.has(name) && name !== 'content-length') out.push(name, value);
  }
  const client = request.socket.remoteAddress ?? '';
  out.push('x-forwarded-for', forwardedFor === undefined ? client : `${forwardedFor}, ${client}`);
  return out;
}

/** A header of a raw header list (`rawHeaders`), the first of its name; undefined when absent. */
export function rawHeader(raw: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = raw[i] as string;
    if (key.length === name.length && key.toLowerCase() === name) return raw[i + 1];
  }
  return undefined;
}

interface HopOrigin {
  readonly protocol: 'http:' | 'https:';
  /** For connecting: an IPv6 address without its brackets. */
  readonly hostname: string;
  readonly port: string;
  /** The Host header: host and port as the URL has them. */
  readonly host: string;
}

export type HopOrigins = (advertiseUrl: string) => HopOrigin;

const MAX_ORIGINS = 1000;

/**
 * Advertised URLs parsed once each, for one forwarder: a handful of nodes, re-parsed on every
 * forwarded request before. Bounded: past MAX_ORIGINS (nodes re-registering at new addresses) it starts over.
 */
export function createHopOrigins(): HopOrigins {
  const origins = new Map<string, HopOrigin>();
  return (advertiseUrl) => {
    const known = origins.get(advertiseUrl);
    if (known !== undefined) return known;
    const url = new URL(advertiseUrl);
    const origin: HopOrigin = {
      protocol: url.protocol === 'https:' ? 'https:' : 'http:',
      hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
      port: url.port,
      host: url.host,
    };
    if (origins.size >= MAX_ORIGINS) origins.clear();
    origins.set(advertiseUrl, origin);
    return origin;
  };
}

/**
 * Opens the hop to the node at `origin` (its advertised URL's, from the store): `path` (the request's,
 * as received and as signed) is sent as it is, never parsed as a URL that could name another host.
 * The raw header list gets the Host header added here.
 */
export function openHop(origin: HopOrigin, path: string, method: string, headers: string[]): ClientRequest {
  headers.push('host', origin.host);
  const send = origin.protocol === 'https:' ? httpsRequest : httpRequest;
  const upstream = send({
    protocol: origin.protocol,
    hostname: origin.hostname,
    port: origin.port,
    path,
    method,
    headers,
  });
  // Only connecting is bounded: the answer itself may take as long as the command (or the person
  // approving it) takes, and a terminal may sit idle; a socket idle timeout would cut either short.
  upstream.on('socket', (socket) => {
    if (!socket.connecting) return;
    const timer = setTimeout(
      () => upstream.destroy(new Error(`no connection within ${CONNECT_TIMEOUT_MS} ms`)),
      CONNECT_TIMEOUT_MS,
    );
    timer.unref();
    socket.once('connect', () => clearTimeout(timer));
    socket.once('close', () => clearTimeout(timer));
  });
  return upstream;
}

/** What the client is told when the node that runs its session did not answer. */
export function nodeUnreachable(target: ForwardTarget, error: unknown): AirlockError {
  return new AirlockError(
    'NODE_UNREACHABLE',
    `node ${target.nodeId} (${new URL(target.url).origin}), which runs this session, did not answer: ${error instanceof Error ? error.message : String(error)}`,
    { node: target.nodeId },
  );
}
