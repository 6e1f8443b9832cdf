/**
 * A socket with bytes already read from it put back in front, as a plain Duplex. TLSSocket takes over
 * a net.Socket's handle directly and would never see bytes unshifted onto its JS stream (the
 * ClientHello the proxy read to check SNI), so TLS termination gets this wrapper instead.
 */
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';

export function wrapWithHead(socket: Socket, head: Buffer): Duplex {
  const duplex = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      socket.write(chunk, (error) => callback(error ?? null));
    },
    final(callback) {
      socket.end();
      callback();
    },
    destroy(error, callback) {
      socket.destroy();
      callback(error);
    },
  });
  if (head.length > 0) duplex.push(head);
  socket.on('data', (chunk: Buffer) => {
    if (!duplex.push(chunk)) socket.pause();
  });
  socket.on('end', () => duplex.push(null));
  socket.on('close', () => duplex.destroy());
  socket.on('error', (error) => duplex.destroy(error));
  return duplex;
}
