/**
 * Forwarding a WebSocket (the terminal) to the node that runs its session: the upgrade request goes on
 * as a signed hop, like any forwarded request, and once the other node has switched protocols the two
 * connections are joined byte for byte. This node never parses the frames in between: the node that
 * runs the session does, with the terminal's own bounds (message size, rate), and its close codes
 * reach the client unchanged. The client's token goes along and is checked again there.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  CLUSTER_HEADER,
  hopRawHeaders,
  NODE_HEADER,
  nodeUnreachable,
  openHop,
  type ForwardTarget,
  type HopOrigins,
} from './hop.ts';
import { EMPTY_BODY, newNonce, type ClusterSecret } from './secret.ts';

export interface UpgradeForwardOptions {
  readonly secret: ClusterSecret;
  readonly nodeId: () => string;
  readonly now: () => number;
  readonly origins: HopOrigins;
}

/** Answer headers that describe this connection, not the answer: the relay sets its own. */
const ANSWER_CONNECTION_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding']);

/**
 * Sends the upgrade `request` (whose connection is `socket`, with `head` already read past the
 * request) to `target`, and joins the two connections once it switched protocols; any other answer is
 * passed back as it is and the connection closed. Resolves once the outcome is known.
 */
export function forwardUpgrade(
  options: UpgradeForwardOptions,
  request: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  target: ForwardTarget,
): Promise<'forwarded' | 'unreachable'> {
  const path = request.url ?? '/';
  const headers = hopRawHeaders(request);
  headers.push(
    'connection',
    'Upgrade',
    'upgrade',
    'websocket',
    // An upgrade has no body: the signature vouches for none, and the other node checks exactly that.
    CLUSTER_HEADER,
    options.secret.signRequest({
      from: options.nodeId(),
      to: target.nodeId,
      nonce: newNonce(),
      method: 'GET',
      url: path,
      at: options.now(),
      body: EMPTY_BODY,
    }),
  );

  return new Promise((resolve) => {
    const upstream = openHop(options.origins(target.url), path, 'GET', headers);
    let settled = false;
    const settle = (outcome: 'forwarded' | 'unreachable'): void => {
      if (settled) return;
      settled = true;
      resolve(outcome);
    };
    // The client left before the other node answered: stop the hop too.
    const clientGone = (): void => {
      upstream.destroy();
      settle('forwarded');
    };
    socket.once('close', clientGone);

    upstream.on('error', (error) => {
      if (settled) return;
      socket.off('close', clientGone);
      const failure = nodeUnreachable(target, error);
      const body = JSON.stringify({ error: { code: failure.code, message: failure.message } });
      socket.end(
        `HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json; charset=utf-8\r\n` +
          `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
      settle('unreachable');
    });

    upstream.on('upgrade', (answer, upstreamSocket, upstreamHead) => {
      socket.off('close', clientGone);
      socket.write(statusBlock(answer, target.nodeId));
      if (upstreamHead.length > 0) socket.write(upstreamHead);
      if (head.length > 0) upstreamSocket.write(head);
      // Joined both ways with backpressure: a slow reader on either side holds the other back
      // instead of filling this node's memory.
      socket.pipe(upstreamSocket);
      upstreamSocket.pipe(socket);
      const closeBoth = (): void => {
        socket.destroy();
        upstreamSocket.destroy();
      };
      socket.once('close', closeBoth);
      upstreamSocket.once('close', closeBoth);
      socket.on('error', closeBoth);
      upstreamSocket.on('error', closeBoth);
      settle('forwarded');
    });

    // Refused there (the token, the command): that answer is the client's, passed on as it came.
    upstream.on('response', (answer) => {
      socket.off('close', clientGone);
      socket.write(statusBlock(answer, target.nodeId, 'connection: close\r\n'));
      answer.pipe(socket);
      answer.on('error', () => socket.destroy());
      settle('forwarded');
    });
    upstream.end();
  });
}

/** The answer's status line and headers, for a raw connection. */
function statusBlock(answer: IncomingMessage, nodeId: string, extra = ''): string {
  let block = `HTTP/1.1 ${answer.statusCode ?? 502} ${answer.statusMessage ?? ''}\r\n`;
  const { rawHeaders } = answer;
  const switching = answer.statusCode === 101;
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    const name = rawHeaders[index] ?? '';
    // A switched connection keeps `Connection: Upgrade`; any other answer ends with this connection.
    if (!switching && ANSWER_CONNECTION_HEADERS.has(name.toLowerCase())) continue;
    if (name.toLowerCase() === NODE_HEADER) continue;
    block += `${name}: ${rawHeaders[index + 1] ?? ''}\r\n`;
  }
  return `${block}${NODE_HEADER}: ${nodeId}\r\n${extra}\r\n`;
}
