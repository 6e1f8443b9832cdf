/**
 * Upstream sockets that read into one buffer of their own instead of a new 64 KiB allocation per read
 * (net.connect's `onread`): a bulk download through the proxy otherwise spends much of its CPU
 * collecting those buffers. Until a tunnel passes bytes straight through, the socket behaves as any
 * other: each read is pushed to its readable side (a small one copied out, a large one handed over
 * with a new buffer for the next read), so the HTTP client, TLS and the tunnel's first look at the
 * stream work unchanged. Bulk reads (1 MiB) serve plain-HTTP downloads too: fewer, larger reads are
 * fewer parser runs and writes to the client.
 */
import { connect as netConnect, type Socket } from 'node:net';

/** Where a passed-through read goes; false stops reading until `socket.resume()`. */
export type DirectSink = (bytes: Buffer) => boolean;

const READ_BUFFER_BYTES = 64 * 1024;
/**
 * The read buffer of a socket that passes bytes straight through once one of its reads came back full
 * (more was waiting: a bulk transfer, with the proxy behind). Larger reads mean fewer read and write
 * calls and fewer wake-ups of the reader per byte, which is most of the proxy's cost per byte after
 * the copies themselves (a 1 MiB buffer takes about 60 % less CPU per byte than 64 KiB). Only
 * pass-through tunnels that carry bulk grow, so idle, interactive and HTTP connections hold 64 KiB.
 */
const BULK_BUFFER_BYTES = 1024 * 1024;
/**
 * How many sockets of one proxy may hold a bulk buffer at once. Why a bound: a sandbox can make every
 * one of its connections bulk (a fast server, a client that never reads), and the proxy serves every
 * session; past this, tunnels keep 64 KiB reads (slower, not refused), so the proxy's memory for read
 * buffers stays under this many MiB whatever the sessions do.
 */
const MAX_BULK_BUFFERS = 32;

interface DirectSlot {
  sink: DirectSink | undefined;
  /** The buffer the socket's next read fills (Node asks for it after every read). */
  buffer: Buffer;
}

const sinks = new WeakMap<Socket, DirectSlot>();

/**
 * A dialer whose sockets read into a buffer of their own; the sockets of one dialer share one budget
 * of bulk buffers (MAX_BULK_BUFFERS unless told), given back when a socket closes.
 */
export function createDirectReadDialer(
  maxBulkBuffers: number = MAX_BULK_BUFFERS,
): (address: string, port: number) => Socket {
  let bulkBuffers = 0;
  return (address, port) => {
    const slot: DirectSlot = { sink: undefined, buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES) };
    let bulk = false;
    const socket: Socket = netConnect({
      host: address,
      port,
      noDelay: true,
      onread: {
        buffer: () => slot.buffer,
        callback: (length: number, read: Uint8Array) => {
          const bytes = Buffer.from(read.buffer, read.byteOffset, length);
          // A read that filled its buffer: more was waiting (bulk), so reads grow, within the budget.
          // A write still holding `read` keeps it alive; Node asks for the buffer again after every
          // read, so the next read fills the new one.
          if (!bulk && length === read.byteLength && bulkBuffers < maxBulkBuffers) {
            bulk = true;
            bulkBuffers += 1;
            slot.buffer = Buffer.allocUnsafe(BULK_BUFFER_BYTES);
          }
          if (slot.sink !== undefined) return slot.sink(bytes);
          // To the readable side (the HTTP client, a tunnel's first look): a small read is copied out,
          // so a trickle of small reads never pins large buffers; one that used most of its buffer is
          // handed over as it is (no copy), and the next read gets a buffer of its own.
          if (length * 4 < read.byteLength) return socket.push(Buffer.from(bytes));
          if (slot.buffer.buffer === read.buffer) slot.buffer = Buffer.allocUnsafe(read.byteLength);
          return socket.push(bytes);
        },
      },
    });
    socket.once('close', () => {
      if (bulk) bulkBuffers -= 1;
    });
    sinks.set(socket, slot);
    return socket;
  };
}

/**
 * Hands every read of `socket` to `sink` from now on, when the socket was dialled by createDirectReadDialer
 * and nothing is waiting on its readable side; false otherwise (the caller reads it as a stream). The
 * bytes passed to `sink` are overwritten by the next read: the sink must be done with them, or return
 * false and resume the socket once it is.
 */
function readDirect(socket: Socket, sink: DirectSink): boolean {
  const slot = sinks.get(socket);
  if (slot === undefined || socket.readableLength > 0) return false;
  slot.sink = sink;
  return true;
}

export interface DirectPassOptions {
  /** Called with the length of every read passed on. */
  readonly onRead?: (length: number) => void;
  /** Called whenever `to` has taken everything passed so far (the moment `stop()` can succeed). */
  readonly onDrained?: () => void;
}

/** A running direct pass. */
export interface DirectPass {
  /**
   * Stops passing once `to` holds nothing unwritten: `from` stays paused and nothing more is read
   * from it here, so the caller owns both sockets again. False (still passing) while a write waits.
   */
  stop(): boolean;
}

/**
 * `from` to `to` with no copy and no allocation per read, when `from` was dialled by createDirectReadDialer:
 * its read buffer is written to `to`, and the next read waits until `to` has taken all of it (so a
 * slow reader holds the upstream back, as a pipe would, and the buffer is never overwritten while a
 * write still holds it). Undefined when `from` must be piped instead.
 */
export function passDirect(
  from: Socket,
  to: Socket,
  onError: () => void,
  options: DirectPassOptions = {},
): DirectPass | undefined {
  let waiting = false;
  let stopped = false;
  const written = (error?: Error | null) => {
    if (error) return onError();
    if (stopped || !waiting || to.writableLength > 0) return;
    waiting = false;
    options.onDrained?.();
    if (!stopped) from.resume();
  };
  const direct = readDirect(from, (bytes) => {
    options.onRead?.(bytes.length);
    to.write(bytes, written);
    if (to.writableLength === 0) {
      options.onDrained?.();
      return !stopped;
    }
    waiting = true;
    return false;
  });
  if (!direct) return undefined;
  const onEnd = () => to.end();
  from.on('end', onEnd);
  from.resume();
  return {
    stop() {
      if (stopped) return true;
      if (waiting || to.writableLength > 0) return false;
      stopped = true;
      from.pause();
      from.off('end', onEnd);
      const slot = sinks.get(from);
      if (slot !== undefined) slot.sink = undefined;
      return true;
    },
  };
}

/** A running body pass. */
export interface BodyPass {
  /**
   * Stops passing when `to` holds nothing unwritten: `from` stays paused, nothing more is read from it
   * here, and `done` is not called. Returns the bytes still to pass; undefined (still passing) while a
   * write waits or once the pass has ended.
   */
  stop(): number | undefined;
}

/**
 * The next `length` bytes of `from` written to `to` as they are read, with no copy and no allocation
 * per read, when `from` was dialled by createDirectReadDialer (undefined otherwise: nothing started).
 * For the body of a plain-HTTP answer whose length is known and whose bytes the proxy passes
 * unchanged: the HTTP client's parser and streams, not the bytes, were most of the cost of such a
 * download. `done(true)` once all of them were taken by `to`; `done(false)` when `from` ended or
 * failed first. Reading stops at `length`: bytes past it (a server sending more than it announced)
 * are never passed. `onDrained` is called whenever `to` has taken everything passed so far.
 */
export function passBody(
  from: Socket,
  to: Socket,
  length: number,
  done: (whole: boolean) => void,
  onDrained?: () => void,
): BodyPass | undefined {
  let remaining = length;
  let settled = false;
  const detach = () => {
    settled = true;
    from.off('end', onEnd);
    from.off('close', onEnd);
    const slot = sinks.get(from);
    if (slot !== undefined) slot.sink = undefined;
    from.pause();
  };
  const settle = (whole: boolean) => {
    if (settled) return;
    detach();
    done(whole);
  };
  const onEnd = () => settle(false);
  const written = (error?: Error | null) => {
    if (settled) return;
    if (error) return settle(false);
    if (remaining === 0) return settle(true);
    if (to.writableLength > 0) return;
    onDrained?.();
    if (!settled) from.resume();
  };
  const direct = readDirect(from, (bytes) => {
    if (settled) return false;
    const part = bytes.length > remaining ? bytes.subarray(0, remaining) : bytes;
    remaining -= part.length;
    to.write(part, written);
    // The read buffer is reused by the next read: read again only once `to` has taken this one.
    return remaining > 0 && to.writableLength === 0;
  });
  if (!direct) return undefined;
  const pass: BodyPass = {
    stop() {
      if (settled || to.writableLength > 0) return undefined;
      detach();
      return remaining;
    },
  };
  if (remaining === 0) {
    settle(true);
    return pass;
  }
  from.on('end', onEnd);
  from.on('close', onEnd);
  from.resume();
  return pass;
}
