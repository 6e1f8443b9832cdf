/**
 * A connection closed after an answer to a request whose body was not read whole (a refused upload).
 * Closing it at once would reset it while the client is still sending: the client's next write then
 * fails (EPIPE / ECONNRESET) and a client such as fetch reports that failure instead of the answer it
 * was sent (an upload refused with UNSAFE_ARCHIVE would read as CONNECTION_FAILED). So the server
 * ends its side, then reads and drops what still arrives for a short while before closing: a bounded
 * "lingering close", as HTTP servers do.
 */
import type { IncomingMessage } from 'node:http';

/** Longest a refused body is still read (and dropped) after the answer was sent. */
const LINGER_MS = 2000;
/** Most bytes read (and dropped) after the answer: an endless body is cut off here. */
const LINGER_BYTES = 16 * 1024 * 1024;

/** Makes the server's close of `request`'s connection (after its answer) a lingering one. */
export function lingerOnClose(request: IncomingMessage): void {
  const { socket } = request;
  // Node closes a `connection: close` answer's socket with destroySoon once the answer is written.
  socket.destroySoon = () => {
    if (socket.writable) socket.end();
    let dropped = 0;
    const close = (): void => {
      clearTimeout(timer);
      socket.destroy();
    };
    const timer = setTimeout(close, LINGER_MS);
    timer.unref();
    socket.on('data', (chunk: Buffer) => {
      dropped += chunk.length;
      if (dropped > LINGER_BYTES) close();
    });
    socket.once('end', close);
    socket.once('close', () => clearTimeout(timer));
    socket.resume();
  };
}
