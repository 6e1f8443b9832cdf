/**
 * A pass-through tunnel relayed by the proxy until it has carried bulk, then handed to a relay
 * process (bulk-relay.ts). The handoff happens only at a moment when the proxy holds none of the
 * tunnel's bytes, in either direction: nothing read and not yet written, nothing written and not yet
 * taken by the kernel. Bytes the proxy still held would otherwise reach their destination after
 * bytes the relay read later, and the stream would be reordered.
 */
import type { Socket } from 'node:net';
import type { BulkRelay, RelayResult } from './bulk-relay.ts';
import { passDirect, type DirectPass } from './direct-read.ts';

export interface HandoffPassOptions {
  readonly client: Socket;
  /** Dialled by createDirectReadDialer; otherwise no handoff pass is possible. */
  readonly upstream: Socket;
  /** Client bytes already read, sent first. */
  readonly first: Buffer;
  readonly relay: BulkRelay;
  readonly onError: () => void;
  /** The relay has the sockets (called once, before onRelayed). */
  readonly onHandedOff: () => void;
  /** The relay has ended (the proxy then closes both sockets). */
  readonly onRelayed: (result: RelayResult) => void;
}

/** Starts the pass; false (nothing started) when the upstream cannot be read directly. */
export function passWithHandoff(options: HandoffPassOptions): boolean {
  const { client, upstream, relay } = options;
  let carried = options.first.length;
  let handedOff = false;
  /** A handoff that failed is not tried again for this tunnel. */
  let gaveUp = false;
  let down: DirectPass | undefined;

  const onClientData = (chunk: Buffer) => {
    carried += chunk.length;
    if (!upstream.write(chunk)) client.pause();
    tryHandOff();
  };
  const onUpstreamDrain = () => {
    tryHandOff();
    if (!handedOff) client.resume();
  };
  const onClientEnd = () => upstream.end();
  const listen = (on: boolean) => {
    const method = on ? 'on' : 'off';
    client[method]('data', onClientData);
    client[method]('end', onClientEnd);
    upstream[method]('drain', onUpstreamDrain);
  };

  function tryHandOff(): void {
    if (handedOff || gaveUp || down === undefined || carried < relay.handoffBytes || !relay.available())
      return;
    const inFlight =
      client.writableLength + upstream.writableLength + client.readableLength + upstream.readableLength;
    if (inFlight > 0 || !down.stop()) return;
    listen(false);
    if (relay.handOff(client, upstream, options.onRelayed)) {
      handedOff = true;
      options.onHandedOff();
      // The relay keeps its own idle timeout; the proxy's timers would see no activity and cut it.
      for (const socket of [client, upstream]) socket.setTimeout(0);
      return;
    }
    // No relay after all: the proxy goes on relaying, from exactly where it stopped.
    gaveUp = true;
    listen(true);
    down = passDirect(upstream, client, options.onError);
    client.resume();
  }

  down = passDirect(upstream, client, options.onError, {
    onRead: (length) => (carried += length),
    onDrained: tryHandOff,
  });
  if (down === undefined) return false;
  listen(true);
  if (options.first.length > 0) upstream.write(options.first);
  client.resume();
  return true;
}
