/**
 * The cluster secret: a file every node holds, never sent anywhere. It authenticates two things, each
 * with an HMAC under a key derived for that one purpose:
 * - node-to-node HTTP calls: each forwarded request carries a MAC over its method, path, sender,
 *   receiver, time and body digest, so a node serves a request as forwarded only when another node
 *   sent it, and a captured signature is good for that one receiver, that one request, that one body
 *   and a short window. A body streamed through (an upload) is not known when the headers go out: its
 *   digest follows in a trailer with a MAC of its own, bound to the request's nonce;
 * - each node's audit public key as registered in the store, so `verify` trusts the checkpoints of
 *   every node, and a database writer cannot add a key of their own;
 * - session tokens (session-tokens.ts), so every node knows a session's tokens, also once the node
 *   that minted them is gone.
 */
import {
  createHash,
  createHmac,
  createSecretKey,
  randomBytes,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';
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
   * Checks a forwarded request's header: who sent it, and the body it vouches for, or why it is
   * refused. A nonce is accepted once within the window, so a captured header cannot be replayed.
   */
  verifyRequest(
    header: string,
    request: Omit<SignedRequestFields, 'from' | 'at' | 'nonce' | 'body'>,
  ): VerifiedRequest | { readonly ok: false; readonly reason: string };
  /** The trailer that vouches for a body streamed after a header signed with `body: TRAILER_BODY`. */
  signBody(request: Pick<SignedRequestFields, 'from' | 'to' | 'nonce'>, digest: string): string;
  /** Whether `trailer` vouches for `digest` (the body as received) for this request. */
  bodyValid(
    trailer: string,
    request: Pick<SignedRequestFields, 'from' | 'to' | 'nonce'>,
    digest: string,
  ): boolean;
  /** The MAC of a session token's session and nonce (session-tokens.ts). */
  sessionTokenMac(sessionId: string, nonce: string): string;
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
  /** The body's digest (bodyDigest), or TRAILER_BODY when it follows in a trailer. */
  readonly body: string;
}

export interface VerifiedRequest {
  readonly ok: true;
  readonly from: string;
  readonly nonce: string;
  /** The body digest the header vouches for, or TRAILER_BODY. */
  readonly body: string;
}

/** In a signed header: the body's digest is in the BODY_TRAILER trailer. */
export const TRAILER_BODY = 'trailer';

/** A body's digest as signed: SHA-256, base64url. */
export function bodyDigest(body: Buffer | string): string {
  return createHash('sha256').update(body).digest('base64url');
}

/** The digest of no body at all, as a request without one is signed. */
export const EMPTY_BODY = bodyDigest('');

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
  // Held as KeyObjects: an HMAC keyed with a Buffer imports the key again on every call, several times
  // the cost of the MAC itself, and every forwarded request takes four MACs (signature and body, sent
  // and checked).
  const derive = (purpose: string): KeyObject =>
    createSecretKey(createHmac('sha256', secret).update(purpose).digest());
  const requestKey = derive('airlock.cluster.request.v1');
  const registryKey = derive('airlock.cluster.audit-key.v1');
  const bodyKey = derive('airlock.cluster.request-body.v2');
  const tokenKey = derive('airlock.cluster.session-token.v1');
  const seen = new Map<string, number>();

  const mac = (key: KeyObject, parts: readonly string[]): string =>
    createHmac('sha256', key).update(parts.join('\n')).digest('base64url');
  const requestMac = (fields: SignedRequestFields): string =>
    mac(requestKey, [
      fields.method.toUpperCase(),
      fields.url,
      fields.from,
      fields.to,
      String(fields.at),
      fields.nonce,
      fields.body,
    ]);
  const bodyMac = (request: Pick<SignedRequestFields, 'from' | 'to' | 'nonce'>, digest: string): string =>
    mac(bodyKey, [request.from, request.to, request.nonce, digest]);
  const same = (a: string, b: string): boolean => {
    const left = Buffer.from(a);
    const right = Buffer.from(b);
    return left.length === right.length && timingSafeEqual(left, right);
  };

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
      return `v2 ${request.from} ${request.at} ${request.nonce} ${request.body} ${requestMac(request)}`;
    },
    verifyRequest(header, request) {
      const [version, from, atText, nonce, body, given, ...rest] = header.split(' ');
      if (
        version !== 'v2' ||
        rest.length > 0 ||
        from === undefined ||
        nonce === undefined ||
        body === undefined ||
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
      if (!same(requestMac({ ...request, from, at, nonce, body }), given)) {
        return { ok: false, reason: 'the cluster signature does not verify (a different cluster secret?)' };
      }
      if (!remember(`${from} ${nonce}`, at))
        return { ok: false, reason: 'the cluster signature was already used' };
      return { ok: true, from, nonce, body };
    },
    signBody(request, digest) {
      return `${digest} ${bodyMac(request, digest)}`;
    },
    bodyValid(trailer, request, digest) {
      const [claimed, given, ...rest] = trailer.split(' ');
      if (claimed === undefined || given === undefined || rest.length > 0) return false;
      // Both must hold: the trailer is the sender's, and the body that arrived is the one it hashed.
      return same(bodyMac(request, claimed), given) && same(claimed, digest);
    },
    sessionTokenMac(sessionId, nonce) {
      return mac(tokenKey, [sessionId, nonce]);
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

const NONCE_BYTES = 12;
/** Random bytes for this many nonces are drawn at once: one call into the generator per 256 hops. */
const NONCES_PER_DRAW = 256;
let noncePool = Buffer.alloc(0);
let nonceAt = 0;

/** A random nonce for a hop (96 bits), from bytes drawn in batches. */
export function newNonce(): string {
  if (nonceAt + NONCE_BYTES > noncePool.length) {
    noncePool = randomBytes(NONCE_BYTES * NONCES_PER_DRAW);
    nonceAt = 0;
  }
  const nonce = noncePool.toString('base64url', nonceAt, nonceAt + NONCE_BYTES);
  nonceAt += NONCE_BYTES;
  return nonce;
}

// Security limitations:
// - The MAC covers the request line and the body, not the client's headers: someone who can watch and
//   alter traffic between nodes can change a header (a content type, say) in flight, and can read the
//   client's bearer token, which crosses with the request. Run node-to-node traffic over a private
//   network or https (advertiseUrl).
// - Nodes of this version and of one that signed only the request line (v1) refuse each other's
//   calls: upgrade every node of a cluster together.
// - Nonces are remembered in memory per node: a restart within the window forgets them.
