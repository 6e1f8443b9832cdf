/**
 * The one place that talks HTTP: builds the request, adds the bearer token, applies the deadline, and
 * turns every failure into an AirlockApiError. Higher layers see parsed bodies or a readable stream.
 */
import { errorFromHttpAnswer, invalidResponse } from './errors.ts';
import { deadlineSignal, transportError } from './signals.ts';
import type { CallOptions } from './signals.ts';
import { buildUrl } from './url.ts';
import type { Query } from './url.ts';

export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>;

export interface TransportConfig {
  /** Normalized: no trailing slash. */
  readonly baseUrl: string;
  readonly token: string | undefined;
  readonly fetch: FetchFunction;
  /** Applied to calls that answer at once when the caller gives no timeoutMs; undefined = none. */
  readonly defaultTimeoutMs: number | undefined;
}

export interface RequestSpec {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly path: readonly string[];
  readonly query?: Query;
  /** Sent as JSON. */
  readonly json?: unknown;
  /** Sent as application/octet-stream. */
  readonly bytes?: Uint8Array;
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

  constructor(config: TransportConfig) {
    this.#config = config;
  }

  get baseUrl(): string {
    return this.#config.baseUrl;
  }

  /** The same server with another token (a session handle uses its session's token). */
  withToken(token: string | undefined): Transport {
    return new Transport({ ...this.#config, token });
  }

  /** Sends the request; a non-2xx answer is thrown as an error, a 2xx answer is returned unread. */
  async open(spec: RequestSpec, options: CallOptions = {}): Promise<OpenResponse> {
    const url = buildUrl(this.#config.baseUrl, spec.path, spec.query);
    const request = `${spec.method} /${spec.path.join('/')}`;
    const timeoutMs = options.timeoutMs ?? (spec.long === true ? undefined : this.#config.defaultTimeoutMs);
    const signal = deadlineSignal(options.signal, timeoutMs);
    const headers: Record<string, string> = { accept: spec.accept ?? 'application/json' };
    if (spec.auth !== false && this.#config.token !== undefined) {
      headers.authorization = `Bearer ${this.#config.token}`;
    }
    let body: string | Uint8Array | undefined;
    if (spec.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(spec.json);
    } else if (spec.bytes !== undefined) {
      headers['content-type'] = 'application/octet-stream';
      body = spec.bytes;
    }
    let response: Response;
    try {
      if (signal?.aborted === true) throw signal.reason;
      response = await this.#config.fetch(url, {
        method: spec.method,
        headers,
        ...(body === undefined ? {} : { body }),
        ...(signal === undefined ? {} : { signal }),
      });
    } catch (error) {
      throw transportError(error, signal, request);
    }
    if (!response.ok) {
      const text = await readText(response, signal, request);
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

function describeType(response: Response): string {
  return `content-type ${response.headers.get('content-type') ?? 'none'}`;
}
