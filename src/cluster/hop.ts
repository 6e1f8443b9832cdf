/**
 * What every hop between nodes shares, whether it carries a request (forward.ts) or a WebSocket
 * upgrade (forward-upgrade.ts): the headers that name it, the request's headers minus those of the
 * connection, a bounded connect, and the error a client gets when the other node does not answer.
 */
import {
  type ClientRequest,
  request as httpRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
} from 'node:http';
import { request as httpsRequest } from 'node:https';
import { AirlockError } from '../errors/index.ts';

/** The header that carries a hop's signature. */
export const CLUSTER_HEADER = 'x-airlock-cluster';
/** The trailer vouching for a body streamed through (secret.ts signBody). */
export const BODY_TRAILER = 'x-airlock-cluster-body';
/** The header naming the node that answered, on every answer of a clustered node. */
export const NODE_HEADER = 'x-airlock-node';

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

/** The request's headers for the next hop: without the connection's own, with the client added. */
export function hopHeaders(request: IncomingMessage): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
  }
  const client = request.socket.remoteAddress ?? '';
  const forwardedFor = request.headers['x-forwarded-for'];
  headers['x-forwarded-for'] = forwardedFor === undefined ? client : `${String(forwardedFor)}, ${client}`;
  return headers;
}

/** Opens the hop to `url`, `path` taken from the request and only the origin from the store. */
export function openHop(
  target: ForwardTarget,
  path: string,
  method: string,
  headers: OutgoingHttpHeaders,
): ClientRequest {
  const url = new URL(path, new URL(target.url).origin);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const upstream = send(url, { method, headers });
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
