/**
 * What people watching agents call: `client.auth` (the dashboard's cookie sign-in), `client.tokens`
 * (people's tokens, admin), `client.commands` (every session's commands) and `client.usage`.
 */
import { CommandHandle } from './command-handle.ts';
import type { CallOptions } from './signals.ts';
import type { Transport } from './transport.ts';
import type {
  AccessTokenInfo,
  CommandPage,
  CommandState,
  CreatedAccessToken,
  PersonRole,
  SessionUsage,
  SignedIn,
} from './watch-types.ts';

export class Auth {
  readonly #transport: Transport;

  constructor(transport: Transport) {
    this.#transport = transport;
  }

  /**
   * Signs this browser in: the token goes in the body, the server answers with an HttpOnly session
   * cookie (the browser keeps it; script never sees it) and the CSRF token for changes.
   */
  signIn(token: string, options?: CallOptions): Promise<SignedIn> {
    return this.#transport.json<SignedIn>(
      { method: 'POST', path: ['v1', 'auth', 'session'], json: { token }, auth: false },
      options,
    );
  }

  /** Who is signed in; UNAUTHENTICATED when nobody is. */
  current(options?: CallOptions): Promise<SignedIn> {
    return this.#transport.json<SignedIn>({ method: 'GET', path: ['v1', 'auth', 'session'] }, options);
  }

  signOut(options?: CallOptions): Promise<SignedIn> {
    return this.#transport.json<SignedIn>({ method: 'DELETE', path: ['v1', 'auth', 'session'] }, options);
  }
}

export interface CreateTokenOptions extends CallOptions {
  readonly role: PersonRole;
  readonly name: string;
  readonly ttlMs?: number;
}

/** People's tokens (admin token): viewers see, approvers also decide. */
export class Tokens {
  readonly #transport: Transport;

  constructor(transport: Transport) {
    this.#transport = transport;
  }

  async list(options?: CallOptions): Promise<AccessTokenInfo[]> {
    const answer = await this.#transport.json<{ tokens: AccessTokenInfo[] }>(
      { method: 'GET', path: ['v1', 'tokens'] },
      options,
    );
    return answer.tokens;
  }

  create(options: CreateTokenOptions): Promise<CreatedAccessToken> {
    const { role, name, ttlMs } = options;
    return this.#transport.json<CreatedAccessToken>(
      {
        method: 'POST',
        path: ['v1', 'tokens'],
        json: { role, name, ...(ttlMs === undefined ? {} : { ttlMs }) },
      },
      options,
    );
  }

  revoke(tokenId: string, options?: CallOptions): Promise<AccessTokenInfo> {
    return this.#transport.json<AccessTokenInfo>(
      { method: 'DELETE', path: ['v1', 'tokens', tokenId] },
      options,
    );
  }
}

export interface ListCommandsOptions extends CallOptions {
  readonly sessionId?: string;
  readonly states?: readonly CommandState[];
  /** Commands whose text contains this. */
  readonly search?: string;
  /** `next` of the previous page. */
  readonly before?: string;
  /** 1–500; the server's default is 50. */
  readonly limit?: number;
}

export class Commands {
  readonly #transport: Transport;

  constructor(transport: Transport) {
    this.#transport = transport;
  }

  /** A page of commands of every session the token may see (or one), newest first. */
  list(options: ListCommandsOptions = {}): Promise<CommandPage> {
    return this.#transport.json<CommandPage>(
      {
        method: 'GET',
        path: ['v1', 'commands'],
        query: {
          sessionId: options.sessionId,
          state: options.states,
          q: options.search,
          before: options.before,
          limit: options.limit?.toString(),
        },
      },
      options,
    );
  }

  /** A handle on one command, to follow its output (`events()`), wait for it or kill it. */
  connect(sessionId: string, commandId: string): CommandHandle {
    return new CommandHandle(this.#transport, { sessionId, id: commandId });
  }
}

/** `GET /v1/usage`: live sessions' recent memory, processes and CPU. */
export async function usage(
  transport: Transport,
  options: CallOptions & { readonly sessionId?: string } = {},
): Promise<SessionUsage[]> {
  const answer = await transport.json<{ sessions: SessionUsage[] }>(
    { method: 'GET', path: ['v1', 'usage'], query: { sessionId: options.sessionId } },
    options,
  );
  return answer.sessions;
}
