/**
 * The cluster secret: a file every node holds, never sent anywhere. It authenticates two things, each
 * with an HMAC under a key derived for that one purpose:
 * - node-to-node HTTP calls: each forwarded request carries a MAC over its method, path, sender,
 *   receiver and time, so a node serves a request as forwarded only when another node sent it, and a
 *   captured signature is good for that one receiver, that one request line and a short window;
 * - each node's audit public key as registered in the store, so `verify` trusts the checkpoints of
 *   every node, and a database writer cannot add a key of their own.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { AirlockError } from '../errors/index.ts';

/** Bytes of secret at least: 256 bits, like the key it stands for. */
export const MIN_SECRET_BYTES = 32;
const MAX_SECRET_BYTES = 64 * 1024;
/** How far the sender's and receiver's clocks (plus the network) may disagree. */
export const SIGNATURE_WINDOW_MS = 30_000;
/** Nonces remembered against replays; a burst beyond this many within the window is refused. */
const MAX_REMEMBERED_NONCES = 100_000;

export interface ClusterSecret {
  /** The MAC of a forwarded request, for the `x-airlock-cluster` header. */
  signRequest(request: SignedRequestFields): string;
  /**
   * Checks a forwarded request's header: who sent it, or why it is refused. A nonce is accepted once
   * within the window, so a captured header cannot be replayed.
   */
  verifyRequest(
    header: string,
    request: Omit<SignedRequestFields, 'from' | 'at' | 'nonce'>,
  ): { readonly ok: true; readonly from: string } | { readonly ok: false; readonly reason: string };
  /** The MAC that registers a node's audit key in the store. */
  keyMac(nodeId: string, keyId: string, publicKeyPem: string): string;
  keyMacValid(nodeId: string, keyId: string, publicKeyPem: string, mac: string): boolean;
}

export interface SignedRequestFields {
  readonly method: string;
  /** Path and query, as sent. */
  readonly url: string;
  readonly from: string;
  readonly to: string;
  readonly at: number;
  readonly nonce: string;
}

/**
 * Reads the secret file: a regular file only its owner can read, at least MIN_SECRET_BYTES long
 * (surrounding white space ignored). Anything else stops start-up: a weak or shared-readable secret
 * would let anyone on the host pose as a node.
 */
export function readClusterSecret(path: string, now: () => number = Date.now): ClusterSecret {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new AirlockError(
      'INVALID_CONFIG',
      missing
        ? `the cluster secret ${path} does not exist: make one (head -c 32 /dev/urandom | base64 > ${path}; chmod 600 ${path}) and copy it to every node`
        : `cannot read the cluster secret ${path}: ${String(error)}`,
      { path },
    );
  }
  let bytes: Buffer;
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile() || stat.size > MAX_SECRET_BYTES) {
      throw new AirlockError(
        'INVALID_CONFIG',
        `the cluster secret ${path} is not a regular file of a secret`,
        { path },
      );
    }
    if ((stat.mode & 0o077) !== 0) {
      throw new AirlockError(
        'INVALID_CONFIG',
        `the cluster secret ${path} is readable by other users (mode ${(stat.mode & 0o777).toString(8)}); run chmod 600 on it`,
        { path },
      );
    }
    const buffer = Buffer.alloc(stat.size);
    const read = readSync(fd, buffer, 0, buffer.length, 0);
    bytes = Buffer.from(buffer.subarray(0, read).toString('utf8').trim(), 'utf8');
  } finally {
    closeSync(fd);
  }
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new AirlockError(
      'INVALID_CONFIG',
      `the cluster secret ${path} holds ${bytes.length} bytes; use at least ${MIN_SECRET_BYTES} random bytes`,
      { path },
    );
  }
  return clusterSecretOf(bytes, now);
}

/** A secret from its bytes (tests, and readClusterSecret). */
export function clusterSecretOf(secret: Buffer, now: () => number = Date.now): ClusterSecret {
  // One key per purpose: a MAC made for a request can never pass for a key registration.
  const derive = (purpose: string): Buffer => createHmac('sha256', secret).update(purpose).digest();
  const requestKey = derive('airlock.cluster.request.v1');
  const registryKey = derive('airlock.cluster.audit-key.v1');
  const seen = new Map<string, number>();

  const mac = (key: Buffer, parts: readonly string[]): string =>
    createHmac('sha256', key).update(parts.join('\n')).digest('base64url');
  const requestMac = (fields: SignedRequestFields): string =>
    mac(requestKey, [
      fields.method.toUpperCase(),
      fields.url,
      fields.from,
      fields.to,
      String(fields.at),
      fields.nonce,
    ]);

  const remember = (nonce: string, at: number): boolean => {
    const cutoff = now() - SIGNATURE_WINDOW_MS;
    if (seen.size >= MAX_REMEMBERED_NONCES) {
      for (const [key, time] of seen) if (time < cutoff) seen.delete(key);
    }
    if (seen.has(nonce) || seen.size >= MAX_REMEMBERED_NONCES) return false;
    seen.set(nonce, at);
    return true;
  };

  return {
    signRequest(request) {
      return `v1 ${request.from} ${request.at} ${request.nonce} ${requestMac(request)}`;
    },
    verifyRequest(header, request) {
      const [version, from, atText, nonce, given, ...rest] = header.split(' ');
      if (
        version !== 'v1' ||
        rest.length > 0 ||
        from === undefined ||
        nonce === undefined ||
        given === undefined
      ) {
        return { ok: false, reason: 'the cluster signature header is malformed' };
      }
      const at = Number(atText);
      if (!Number.isSafeInteger(at) || Math.abs(now() - at) > SIGNATURE_WINDOW_MS) {
        return {
          ok: false,
          reason: 'the cluster signature is outside its time window (are the clocks in step?)',
        };
      }
      const expected = Buffer.from(requestMac({ ...request, from, at, nonce }));
      const actual = Buffer.from(given);
      if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
        return { ok: false, reason: 'the cluster signature does not verify (a different cluster secret?)' };
      }
      if (!remember(`${from} ${nonce}`, at))
        return { ok: false, reason: 'the cluster signature was already used' };
      return { ok: true, from };
    },
    keyMac(nodeId, keyId, publicKeyPem) {
      return mac(registryKey, [nodeId, keyId, publicKeyPem]);
    },
    keyMacValid(nodeId, keyId, publicKeyPem, given) {
      const expected = Buffer.from(mac(registryKey, [nodeId, keyId, publicKeyPem]));
      const actual = Buffer.from(given);
      return expected.length === actual.length && timingSafeEqual(expected, actual);
    },
  };
}

export function newNonce(): string {
  return randomBytes(12).toString('base64url');
}

// Security limitations:
// - The MAC covers the request line, not the body or the client's headers (a body is streamed, not
//   buffered): someone who can watch and alter traffic between nodes can change a body in flight.
//   Run node-to-node traffic over a private network or https (advertiseUrl); the client's bearer token
//   crosses it too.
// - Nonces are remembered in memory per node: a restart within the window forgets them.
