/**
 * What the supervisor (native/frames.c and its callers) writes, built in TypeScript: the tests of the
 * host-side decoder and client feed these, whole, cut and mutated.
 */
import { PROTOCOL_VERSION, encodeFrame, replyTypes } from '../../src/sandbox/supervisor/protocol.ts';

/** A reply frame; `encodeFrame` enforces only the request-side size limit, far above any reply's. */
export function reply(type: number, id: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  return encodeFrame(type, id, payload);
}

export function readyReply(version = PROTOCOL_VERSION, landlockAbi = 7, flags = 1): Buffer {
  const payload = Buffer.alloc(12);
  payload.writeUInt32LE(version, 0);
  payload.writeUInt32LE(landlockAbi, 4);
  payload.writeUInt32LE(flags, 8);
  return reply(replyTypes.ready, 0, payload);
}

export function startedReply(id: number, keeperPid = 42): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32LE(keeperPid, 0);
  return reply(replyTypes.started, id, payload);
}

export function exitedPayload(
  exit: { code?: number; signal?: number; timedOut?: boolean; killed?: boolean; keeperLost?: boolean } = {},
): Buffer {
  const payload = Buffer.alloc(12);
  payload.writeInt32LE(exit.code ?? (exit.signal ? -1 : 0), 0);
  payload.writeInt32LE(exit.signal ?? 0, 4);
  payload.writeUInt8(exit.timedOut ? 1 : 0, 8);
  payload.writeUInt8(exit.killed ? 1 : 0, 9);
  payload.writeUInt8(exit.keeperLost ? 1 : 0, 10);
  return payload;
}

export function exitedReply(id: number, exit: Parameters<typeof exitedPayload>[0] = {}): Buffer {
  return reply(replyTypes.exited, id, exitedPayload(exit));
}

export function errorReply(id: number, errno: number, message: string): Buffer {
  const payload = Buffer.concat([Buffer.alloc(4), Buffer.from(message)]);
  payload.writeUInt32LE(errno, 0);
  return reply(replyTypes.error, id, payload);
}

export function readTotalReply(id: number, total: number): Buffer {
  const payload = Buffer.alloc(8);
  payload.writeBigUInt64LE(BigInt(total), 0);
  return reply(replyTypes.ok, id, payload);
}

export function entryBytes(entry: { kind: string; size: number; mtimeMs: number; name: string }): Buffer {
  const name = Buffer.from(entry.name);
  const header = Buffer.alloc(19);
  header.write(entry.kind, 0, 'latin1');
  header.writeBigUInt64LE(BigInt(entry.size), 1);
  header.writeBigUInt64LE(BigInt(entry.mtimeMs), 9);
  header.writeUInt16LE(name.length, 17);
  return Buffer.concat([header, name]);
}
