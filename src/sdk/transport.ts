/**
 * The one place that talks HTTP: builds the request, adds the bearer token, applies the deadline, and
 * turns every failure into an AirlockApiError. Higher layers see parsed bodies or a readable stream.
 */
import { AirlockApiError, errorFromHttpAnswer, invalidResponse } from './errors.ts';
import { deadlineSignal, transportError } from './signals.ts';
import type { CallOptions } from './signals.ts';
import { buildUrl, describeRequest, followableNodeUrl } from './url.ts';
import type { Query } from './url.ts';

export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>;

/**
 * How much of a non-2xx body is read. An Airlock error envelope fits with room to spare (the longest
 * carry a 4096-character path twice, in the message and in details); whatever a proxy or a hostile
 * server sends beyond it is cancelled unread instead of being buffered whole.
 */
export const MAX_ERROR_BODY_BYTES = 16 * 1024;

export interface TransportConfig {
  /** Normalized: no trailing slash. */
  readonly baseUrl: string;
  readonly token: string | undefined;
  readonly fetch: FetchFunction;
  /** Applied to calls that answer at once when the caller gives no timeoutMs; undefined = none. */
  readonly defaultTimeoutMs: number | undefined;
  /** Whether a session's transport (forSession) sends its requests to the node its answers name (default no). */
  readonly followSessionNode?: boolean;
}

/**
 * The header a clustered server puts on the answers about a session: the origin of the node that runs
 * it (its `cluster.advertiseUrl`).
 */
export const NODE_URL_HEADER = 'x-airlock-node-url';

/** Where one session's requests go: its node, once an answer named it, until that node fails once. */
interface SessionNode {
  url: string | undefined;
  /** The node did not answer once: the session's requests stay on the configured URL from then on. */
  gaveUp: boolean;
}

/**
 * Failures that prove a request never reached the node (nothing was sent), so sending it to the
 * configured URL instead cannot run it twice. Anything else (a connection cut mid-request) is thrown.
 */
const NOT_SENT = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
]);

export interface RequestSpec {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly path: readonly string[];
  readonly query?: Query;
  /** Sent as JSON. */
  readonly json?: unknown;
  /** Sent as application/octet-stream. */
  readonly bytes?: Uint8Array;
  /**
   * Sent as application/octet-stream as it is read (chunked), so a body of any size is never held
   * whole. fetch implementations that cannot send a request stream (browsers over HTTP/1.1) refuse it.
   */
  readonly stream?: ReadableStream<Uint8Array>;
  readonly accept?: string;
  /** False for the routes that need no token (health). */
  readonly auth?: boolean;
  /**
   * Calls that wait for a command or a person (run, wait, event streams, exports) get no default
   * deadline: their natural length has no bound the SDK could guess.
   */
  readonly long?: boolean;
}

/** An answered request whose body is still to be read; `signal` keeps limiting the read. */
export interface OpenResponse {
  readonly response: Response;
  readonly signal: AbortSignal | undefined;
  readonly request: string;
}

export class Transport {
  readonly #config: TransportConfig;
  /** Set on a session's transport (forSession) that follows its node. */
  readonly #node: SessionNode | undefined;

  constructor(config: TransportConfig, node?: SessionNode) {
    this.#config = config;
    this.#node = node;
  }

  get baseUrl(): string {
    return this.#config.baseUrl;
  }

  /** For the terminal WebSocket, which cannot go through fetch. */
  get token(): string | undefined {
    return this.#config.token;
  }

  /** The same server with another token (a session handle uses its session's token). */
  withToken(token: string | undefined): Transport {
    return new Transport({ ...this.#config, token }, this.#node);
  }

  /**
   * A transport for one session's requests: in a cluster, once an answer names the node that runs the
   * session (NODE_URL_HEADER), they go straight there instead of through the configured URL (a load
   * balancer would send most to another node, which passes them on). Only an origin of the configured
   * URL's scheme is followed, and only from a configured URL without a path (not through a proxy's
   * mount point); when that node does not answer, the session's requests go back to the configured
   * URL for good. Without `followSessionNode`, or on a transport that is one already, this one.
   */
  forSession(): Transport {
    if (this.#config.followSessionNode !== true || this.#node !== undefined) return this;
    return new Transport(this.#config, { url: undefined, gaveUp: false });
  }

  /** Sends the request; a non-2xx answer is thrown as an error, a 2xx answer is returned unread. */
  async open(spec: RequestSpec, options: CallOptions = {}): Promise<OpenResponse> {
    const node = this.#node;
    const direct = node?.url;
    if (node === undefined || direct === undefined) return this.#openAt(this.#config.baseUrl, spec, options);
    try {
      return await this.#openAt(direct, spec, options);
    } catch (error) {
      if (!(error instanceof AirlockApiError) || error.code !== 'CONNECTION_FAILED') throw error;
      // The session's node did not answer: from now on its requests go through the configured URL,
      // whose node answers for the session as it is (passes them on, or says it ended and why).
      node.url = undefined;
      node.gaveUp = true;
      // A body being streamed may have been read in part: only what can be sent again is.
      if (!neverSent(error) || spec.stream !== undefined) throw error;
      return this.#openAt(this.#config.baseUrl, spec, options);
    }
  }

  /** Learns the session's node from an answer, when this transport follows one. */
  #learn(response: Response): void {
    const node = this.#node;
    if (node === undefined || node.gaveUp) return;
    const url = followableNodeUrl(this.#config.baseUrl, response.headers.get(NODE_URL_HEADER));
    if (url !== undefined) node.url = url;
  }

  async #openAt(base: string, spec: RequestSpec, options: CallOptions): Promise<OpenResponse> {
    const url = buildUrl(base, spec.path, spec.query);
    const request = describeRequest(spec.method, spec.path);
    const timeoutMs = options.timeoutMs ?? (spec.long === true ? undefined : this.#config.defaultTimeoutMs);
    const signal = deadlineSignal(options.signal, timeoutMs);
    const headers: Record<string, string> = { accept: spec.accept ?? 'application/json' };
    if (spec.auth !== false && this.#config.token !== undefined) {
      headers.authorization = `Bearer ${this.#config.token}`;
    }
    let body: string | Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array> | undefined;
    if (spec.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(spec.json);
    } else if (spec.bytes !== undefined) {
      headers['content-type'] = 'application/octet-stream';
      // fetch takes bytes over an ArrayBuffer only; a view of a SharedArrayBuffer is copied.
      const { bytes } = spec;
      body = bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
    } else if (spec.stream !== undefined) {
      headers['content-type'] = 'application/octet-stream';
      body = spec.stream;
    }
    let response: Response;
    try {
      if (signal?.aborted === true) throw signal.reason;
      response = await this.#config.fetch(url, {
        method: spec.method,
        headers,
        // An Airlock server never redirects. Following one would replay the request to wherever it
        // points: a 307 re-sends a PUT's bytes (a file meant for the sandbox) to another URL.
        redirect: 'error',
        ...(body === undefined ? {} : { body }),
        // A request stream must be marked half-duplex (the answer may start before the body ends:
        // the server refuses a bad archive at its first bad entry).
        ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
        ...(signal === undefined ? {} : { signal }),
      });
    } catch (error) {
      throw transportError(error, signal, request);
    }
    this.#learn(response);
    if (!response.ok) {
      const text = await readErrorBody(response, signal, request);
      throw errorFromHttpAnswer(response, this.#withoutToken(text), request);
    }
    return { response, signal, request };
  }

  /** Error bodies go into messages, which get logged: a body that echoes the token must not carry it on. */
  #withoutToken(text: string): string {
    const token = this.#config.token;
    return token === undefined || token === '' ? text : text.replaceAll(token, '[token]');
  }

  async json<T>(spec: RequestSpec, options?: CallOptions): Promise<T> {
    const { response, signal, request } = await this.open(spec, options);
    const text = await readText(response, signal, request);
    try {
      return JSON.parse(text) as T;
    } catch (cause) {
      throw invalidResponse(
        request,
        response.status,
        `the answer is not JSON (${describeType(response)})`,
        cause,
      );
    }
  }

  async bytes(spec: RequestSpec, options?: CallOptions): Promise<Uint8Array> {
    const { response, signal, request } = await this.open(spec, options);
    try {
      return new Uint8Array(await response.arrayBuffer());
    } catch (error) {
      throw transportError(error, signal, request);
    }
  }

  async text(spec: RequestSpec, options?: CallOptions): Promise<string> {
    const { response, signal, request } = await this.open(spec, options);
    return readText(response, signal, request);
  }
}

/** Whether a failed request provably never left this client (see NOT_SENT). */
function neverSent(error: AirlockApiError): boolean {
  // fetch fails with a TypeError whose cause is the socket's error (undici: `cause.code`).
  const cause = (error.cause as { cause?: { code?: unknown } } | undefined)?.cause;
  return typeof cause?.code === 'string' && NOT_SENT.has(cause.code);
}

async function readText(
  response: Response,
  signal: AbortSignal | undefined,
  request: string,
): Promise<string> {
  try {
    return await response.text();
  } catch (error) {
    throw transportError(error, signal, request);
  }
}

/**
 * The start of an error answer's body, at most MAX_ERROR_BODY_BYTES, read chunk by chunk; the rest is
 * cancelled, which closes the connection instead of draining it.
 */
async function readErrorBody(
  response: Response,
  signal: AbortSignal | undefined,
  request: string,
): Promise<string> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder('utf-8');
  let text = '';
  let remaining = MAX_ERROR_BODY_BYTES;
  let done = false;
  try {
    while (remaining > 0) {
      const next = await reader.read();
      if (next.done) {
        done = true;
        break;
      }
      const bytes = next.value.byteLength > remaining ? next.value.subarray(0, remaining) : next.value;
      remaining -= bytes.byteLength;
      text += decoder.decode(bytes, { stream: true });
    }
    return text + decoder.decode();
  } catch (error) {
    throw transportError(error, signal, request);
  } finally {
    if (!done) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

function describeType(response: Response): string {
  return `content-type ${response.headers.get('content-type') ?? 'none'}`;
}
