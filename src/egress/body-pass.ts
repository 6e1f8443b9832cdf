/**
 * The body of a plain-HTTP answer passed on unchanged, without the HTTP client's parser and streams:
 * for a download those, not the bytes, were most of the proxy's cost (from inside a sandbox such
 * downloads ran at about an eighth of a direct one). The head and the body bytes the parser read with
 * it go through the response as usual; the rest is read from the upstream socket into its own buffer
 * and written to the client's (passBody), or, when it is bulk, handed to a relay process that splices
 * exactly that many bytes and leaves the client's connection open for its next request.
 *
 * Only for a body of known length whose bytes the proxy does not read: no secret's value to redact,
 * no bandwidth limit (the caller checks), on an upstream connection of its own (one per request).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { pipeline } from 'node:stream';
import type { BulkRelay } from './bulk-relay.ts';
import type { ConnectionRecord } from './connection-record.ts';
import { passBody } from './direct-read.ts';

export interface BodyPassOptions {
  readonly relay?: BulkRelay | undefined;
  readonly record: ConnectionRecord;
}

/**
 * Passes the rest of `response`'s body (`length` bytes in all) to `res`'s client and ends `res`.
 * Call it once the parser has handed on what it read with the head (a tick after 'response'). False,
 * nothing taken, when it cannot be done in order: the response waits behind an earlier one on the
 * client's connection (its head is not on the socket yet), or the answer has already ended.
 */
export function passRestOfBody(
  response: IncomingMessage,
  res: ServerResponse,
  length: number,
  options: BodyPassOptions,
): boolean {
  const upstream = response.socket;
  const client = res.socket;
  if (upstream === null || client === null || res.destroyed || response.readableEnded) return false;
  let readBytes = 0;
  let piece: Buffer | null;
  res.flushHeaders();
  while ((piece = response.read() as Buffer | null) !== null) {
    readBytes += piece.length;
    res.write(piece);
  }
  // The HTTP client still expects the body it no longer sees: its connection ends with this answer.
  response.on('error', () => {});
  const finish = (whole: boolean) => {
    upstream.destroy();
    if (whole) res.end();
    else res.destroy();
  };
  // The parser stops at the announced length: no more than that can have been read as body.
  const rest = length - readBytes;
  const { relay } = options;
  // Bulk goes to a relay, once everything written here has left: it writes to the client's socket
  // itself. Until then the proxy passes the body (and so no byte reaches the HTTP client's parser).
  let relayTried = relay === undefined || rest < relay.handoffBytes;
  const tryHandOff = () => {
    if (relayTried || relay === undefined || !relay.available()) return;
    const remaining = pass?.stop();
    if (remaining === undefined) return;
    relayTried = true;
    const sockets = { client, upstream, rest: remaining };
    if (remaining < relay.handoffBytes || !handOffBody(relay, options.record, sockets, finish))
      pass = passBody(upstream, client, remaining, finish);
  };
  let pass = passBody(upstream, client, rest, finish, tryHandOff);
  if (pass === undefined) {
    // Not a socket that reads into its own buffer: the parser hands on the rest as usual.
    pipeline(response, res, (error) => {
      if (error !== undefined && error !== null) res.destroy();
    });
  }
  return true;
}

function handOffBody(
  relay: BulkRelay,
  record: ConnectionRecord,
  sockets: { client: Socket; upstream: Socket; rest: number },
  finish: (whole: boolean) => void,
): boolean {
  const { client, upstream, rest } = sockets;
  // The relay keeps its own idle timeout; the HTTP client's would see no activity and cut it.
  upstream.setTimeout(0);
  const handed = relay.handOff(
    client,
    upstream,
    (result) => {
      record.relayed(result.up, result.down);
      const whole = result.end === 'closed' && result.down === rest;
      // The client's connection goes back to the HTTP server, which reads its next request.
      if (whole) client.resume();
      finish(whole);
    },
    { downBytes: rest },
  );
  if (handed) record.relayStarted();
  return handed;
}
