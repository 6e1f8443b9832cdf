/**
 * `new AirlockClient({ url, token })`: the entry to an Airlock server's HTTP API. Needs only `fetch`,
 * so it runs in browsers, Node, Deno, Bun and workers alike.
 */
import { Approvals } from './approvals.ts';
import { Audit } from './audit.ts';
import { Egress } from './egress.ts';
import { invalidArgument } from './errors.ts';
import { Outputs } from './outputs.ts';
import { Sessions } from './sessions.ts';
import type { CallOptions } from './signals.ts';
import { Transport } from './transport.ts';
import type { FetchFunction } from './transport.ts';
import { normalizeBaseUrl } from './url.ts';
import { Auth, Commands, Tokens, usage } from './watch.ts';
import type { SessionUsage } from './watch-types.ts';
import type { HealthStatus } from './wire-types.ts';

export interface AirlockClientOptions {
  /** The server, e.g. `http://127.0.0.1:7400`; a path prefix is kept. */
  readonly url: string | URL;
  /** An admin token (`alk_admin_…`) or a session token (`alk_sess_…`). */
  readonly token?: string;
  /**
   * Time limit of calls that answer at once, when a call gives no `timeoutMs`. Calls that wait for a
   * command or a person (run, wait, event streams, exports, session creation) have none by default.
   */
  readonly defaultTimeoutMs?: number;
  /** A `fetch` to use instead of the global one (a proxying fetch, a test double). */
  readonly fetch?: FetchFunction;
  /**
   * In a cluster of control planes, send a session's requests straight to the node that runs it once
   * the server names that node (its `cluster.advertiseUrl`, same scheme as `url` only), instead of to
   * `url`, whose node would pass them on; back to `url` for good when that node does not answer.
   * Default: on, except in a browser page, whose origin rules would refuse the other node's answers.
   */
  readonly followSessionNode?: boolean;
}

/** Long enough for a large file over a slow link; short enough that a dead server is noticed. */
const DEFAULT_TIMEOUT_MS = 60_000;

export class AirlockClient {
  readonly sessions: Sessions;
  readonly approvals: Approvals;
  readonly audit: Audit;
  readonly outputs: Outputs;
  /** Every session's commands (sessions.connect(id).commands reaches one session's). */
  readonly commands: Commands;
  /** The dashboard's cookie sign-in. */
  readonly auth: Auth;
  /** People's tokens (admin). */
  readonly tokens: Tokens;
  /** What live sessions reach through the egress proxy; a person's grants of a host. */
  readonly egress: Egress;
  readonly #transport: Transport;

  constructor(options: AirlockClientOptions) {
    const fetchFunction = options.fetch ?? globalFetch();
    this.#transport = new Transport({
      baseUrl: normalizeBaseUrl(options.url),
      token: options.token,
      fetch: fetchFunction,
      defaultTimeoutMs: options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS,
      followSessionNode: options.followSessionNode ?? !inBrowserPage(),
    });
    this.sessions = new Sessions(this.#transport);
    this.approvals = new Approvals(this.#transport);
    this.audit = new Audit(this.#transport);
    this.outputs = new Outputs(this.#transport);
    this.commands = new Commands(this.#transport);
    this.auth = new Auth(this.#transport);
    this.tokens = new Tokens(this.#transport);
    this.egress = new Egress(this.#transport);
  }

  /** Live sessions' memory, processes and CPU over the last minutes, for charts. */
  usage(options?: CallOptions & { readonly sessionId?: string }): Promise<SessionUsage[]> {
    return usage(this.#transport, options);
  }

  get url(): string {
    return this.#transport.baseUrl;
  }

  /** `GET /healthz`, which needs no token. */
  health(options?: CallOptions): Promise<HealthStatus> {
    return this.#transport.json<HealthStatus>({ method: 'GET', path: ['healthz'], auth: false }, options);
  }

  /** Prometheus text (admin token). */
  metrics(options?: CallOptions): Promise<string> {
    return this.#transport.text({ method: 'GET', path: ['metrics'], accept: 'text/plain' }, options);
  }
}

/** The global `fetch`, called unbound: browsers throw "Illegal invocation" on a detached `this`. */
function globalFetch(): FetchFunction {
  if (typeof globalThis.fetch !== 'function') {
    throw invalidArgument('no global fetch in this runtime; pass options.fetch');
  }
  return (input, init) => globalThis.fetch(input, init);
}

/** A browser page: a request to another origin needs that origin's consent (CORS), which nodes do not give. */
function inBrowserPage(): boolean {
  return (globalThis as { document?: unknown }).document !== undefined;
}
