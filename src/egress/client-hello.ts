/**
 * Reads the server name (SNI) from the first bytes a client sends in a tunnel, so the proxy can hold a
 * CONNECT to the host it allowed: a ClientHello naming another host (domain fronting, where a shared
 * front end routes by SNI) is refused before a byte reaches the upstream. Parses only what it must,
 * bounded at every step, from untrusted bytes: it never throws, never reads past the buffer and never
 * buffers more than MAX_CLIENT_HELLO_BYTES.
 */

/**
 * Records (headers included) the proxy buffers while waiting for a whole ClientHello. A real one is
 * 0.5–2 KiB (post-quantum key shares included); past this the client is refused, so a client cannot
 * make the proxy hold a large buffer per connection.
 */
export const MAX_CLIENT_HELLO_BYTES = 32 * 1024;

/** TLS caps a plaintext record at 2^14 bytes (RFC 8446 §5.1). */
const MAX_RECORD_LENGTH = 16_384;
const RECORD_HEADER = 5;
const CONTENT_HANDSHAKE = 0x16;
const HANDSHAKE_CLIENT_HELLO = 1;
const EXTENSION_SERVER_NAME = 0;
const NAME_TYPE_HOST = 0;

export type ClientHelloResult =
  /** More bytes are needed; nothing is decided yet. */
  | { readonly status: 'incomplete' }
  /** The stream does not start with a TLS handshake record. */
  | { readonly status: 'not-tls' }
  /** A whole ClientHello; `serverName` is absent when it carries no SNI. */
  | { readonly status: 'complete'; readonly serverName: string | undefined }
  /** TLS-shaped but broken, ambiguous or too large: refused. */
  | { readonly status: 'invalid'; readonly reason: string };

class Malformed extends Error {}

/** A bounds-checked cursor over one slice; any read past the end is malformed input. */
class Reader {
  offset = 0;
  private readonly bytes: Uint8Array;
  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }
  get remaining(): number {
    return this.bytes.length - this.offset;
  }
  u8(): number {
    if (this.remaining < 1) throw new Malformed('truncated');
    return this.bytes[this.offset++]!;
  }
  u16(): number {
    return (this.u8() << 8) | this.u8();
  }
  take(length: number): Uint8Array {
    if (length > this.remaining) throw new Malformed('a length runs past its container');
    const slice = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return slice;
  }
  /** A vector with a 1- or 2-byte length prefix. */
  vector(prefixBytes: 1 | 2): Reader {
    return new Reader(this.take(prefixBytes === 1 ? this.u8() : this.u16()));
  }
}

export function parseClientHello(data: Uint8Array): ClientHelloResult {
  if (data.length === 0) return { status: 'incomplete' };
  if (data[0] !== CONTENT_HANDSHAKE) return { status: 'not-tls' };
  const handshake = collectHandshake(data);
  if (handshake.status !== 'complete') return handshake;
  try {
    return { status: 'complete', serverName: serverNameOf(handshake.body) };
  } catch (error) {
    if (error instanceof Malformed) return { status: 'invalid', reason: error.message };
    throw error;
  }
}

type Collected =
  | { readonly status: 'incomplete' }
  | { readonly status: 'invalid'; readonly reason: string }
  | { readonly status: 'complete'; readonly body: Uint8Array };

/** Joins the handshake records until the whole ClientHello message is there (it may span records). */
function collectHandshake(data: Uint8Array): Collected {
  const fragments: Uint8Array[] = [];
  let collected = 0;
  let offset = 0;
  for (;;) {
    if (data.length - offset < RECORD_HEADER) return { status: 'incomplete' };
    if (data[offset] !== CONTENT_HANDSHAKE) {
      return { status: 'invalid', reason: 'the ClientHello is interleaved with another record type' };
    }
    if (data[offset + 1] !== 3) return { status: 'invalid', reason: 'not a TLS record' };
    const length = (data[offset + 3]! << 8) | data[offset + 4]!;
    if (length === 0 || length > MAX_RECORD_LENGTH) return { status: 'invalid', reason: 'bad record length' };
    const end = offset + RECORD_HEADER + length;
    if (end > MAX_CLIENT_HELLO_BYTES) return { status: 'invalid', reason: 'the ClientHello is too large' };
    if (data.length < end) return { status: 'incomplete' };
    fragments.push(data.subarray(offset + RECORD_HEADER, end));
    collected += length;
    offset = end;
    if (collected < 4) continue;
    const head = joined(fragments, 4);
    if (head[0] !== HANDSHAKE_CLIENT_HELLO) {
      return { status: 'invalid', reason: 'the first handshake message is not a ClientHello' };
    }
    const messageLength = (head[1]! << 16) | (head[2]! << 8) | head[3]!;
    if (4 + messageLength > MAX_CLIENT_HELLO_BYTES) {
      return { status: 'invalid', reason: 'the ClientHello is too large' };
    }
    if (collected >= 4 + messageLength) {
      return { status: 'complete', body: joined(fragments, 4 + messageLength).subarray(4) };
    }
  }
}

function joined(fragments: readonly Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const fragment of fragments) {
    if (at >= length) break;
    const part = fragment.subarray(0, length - at);
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function serverNameOf(body: Uint8Array): string | undefined {
  const hello = new Reader(body);
  hello.take(2 + 32); // legacy_version, random
  if (hello.vector(1).remaining > 32) throw new Malformed('session id longer than 32 bytes');
  const suites = hello.vector(2).remaining;
  if (suites === 0 || suites % 2 !== 0) throw new Malformed('bad cipher suite list');
  if (hello.vector(1).remaining === 0) throw new Malformed('no compression methods');
  if (hello.remaining === 0) return undefined; // no extensions at all
  const extensions = hello.vector(2);
  if (hello.remaining !== 0) throw new Malformed('bytes after the extensions');
  const seen = new Set<number>();
  let serverName: string | undefined;
  while (extensions.remaining > 0) {
    const type = extensions.u16();
    const data = extensions.vector(2);
    // Two SNI extensions could be read differently by the proxy and the server (RFC 8446 §4.2 forbids it).
    if (seen.has(type)) throw new Malformed('an extension appears twice');
    seen.add(type);
    if (type === EXTENSION_SERVER_NAME) serverName = hostNameOf(data);
  }
  return serverName;
}

function hostNameOf(extension: Reader): string {
  const list = extension.vector(2);
  if (extension.remaining !== 0) throw new Malformed('bytes after the server name list');
  let name: string | undefined;
  while (list.remaining > 0) {
    const type = list.u8();
    const value = list.vector(2);
    // RFC 6066 defines host_name only and allows one; anything else is a chance to be read two ways.
    if (type !== NAME_TYPE_HOST || name !== undefined) throw new Malformed('an unexpected server name entry');
    const bytes = value.take(value.remaining);
    if (bytes.length === 0 || bytes.length > 255) throw new Malformed('bad server name length');
    // Printable ASCII only: the caller compares it as a host name, and a NUL or a byte above 0x7e is
    // exactly how one parser reads a name another does not.
    if (!bytes.every((byte) => byte > 0x20 && byte < 0x7f))
      throw new Malformed('the server name is not ASCII');
    name = String.fromCharCode(...bytes);
  }
  if (name === undefined) throw new Malformed('an empty server name list');
  return name;
}
