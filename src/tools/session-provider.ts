/**
 * Which Airlock session an MCP connection's tool calls run in. Over stdio, and for an admin over
 * HTTP, the connection gets a session of its own, made on the first tool call that needs one and
 * ended with the connection. A session token's connection is bound to that token's session, which
 * the MCP layer never ends: whoever created it owns it.
 */
import type { Airlock, Session } from '../airlock/index.ts';
import { AirlockError } from '../errors/index.ts';
import type { SessionCreateOptions } from '../sessions/index.ts';

export interface SessionProvider {
  /** The session tool calls use now; a lazy provider creates it on first use. */
  get(): Promise<Session>;
  /** The current session's id, without creating one; null when there is none yet. */
  currentId(): string | null;
  /**
   * Whether commands and outputs of this session may be shown to this connection: every session the
   * provider ever handed out, so results stay readable after a session was replaced.
   */
  owns(sessionId: string): boolean;
  /** A call found `sessionId` ended: a renewing provider creates a fresh session on the next call. */
  ended(sessionId: string): void;
  /** Whether a fresh session replaces one that ended (idle, lifetime) on the next call. */
  readonly renews: boolean;
  /** Ends the sessions this provider created (never a bound one) and refuses further calls. Idempotent. */
  close(): Promise<void>;
}

/** Session ids remembered for `owns`; a connection that outlives this many sessions forgets the oldest. */
const MAX_REMEMBERED_SESSIONS = 100;

/** One session for the connection, created on the first call that needs it. */
export function lazySession(airlock: Airlock, createOptions: SessionCreateOptions = {}): SessionProvider {
  let current: Promise<Session> | null = null;
  let currentId: string | null = null;
  let closed = false;
  const handedOut = new Set<string>();

  const closedError = (): AirlockError =>
    new AirlockError('SESSION_ENDED', 'the MCP connection is closing; its session has ended');

  return {
    renews: true,
    get() {
      if (closed) return Promise.reject(closedError());
      if (current === null) {
        const creating = airlock.sessions.create(createOptions).then(async (session) => {
          if (closed) {
            // The connection went away while the sandbox was being made: nobody will ever use it.
            await session.destroy();
            throw closedError();
          }
          currentId = session.id;
          handedOut.add(session.id);
          if (handedOut.size > MAX_REMEMBERED_SESSIONS) {
            handedOut.delete(handedOut.values().next().value as string);
          }
          return session;
        });
        // A failed creation (the session limit, a missing sandbox) is retried by the next call.
        creating.catch(() => {
          if (current === creating) current = null;
        });
        current = creating;
      }
      return current;
    },
    currentId: () => currentId,
    owns: (sessionId) => handedOut.has(sessionId),
    ended(sessionId) {
      if (sessionId !== currentId) return;
      current = null;
      currentId = null;
    },
    async close() {
      if (closed) return;
      closed = true;
      const pending = current;
      current = null;
      currentId = null;
      const session = await pending?.catch(() => null);
      if (session) await session.destroy().catch(() => undefined);
    },
  };
}

/** The existing session `sessionId` (a session token's); the MCP connection never ends it. */
export function boundSession(airlock: Airlock, sessionId: string): SessionProvider {
  let closed = false;
  return {
    renews: false,
    get: () =>
      closed
        ? Promise.reject(new AirlockError('SESSION_ENDED', 'the MCP connection is closing'))
        : airlock.sessions.get(sessionId),
    currentId: () => sessionId,
    owns: (id) => id === sessionId,
    ended: () => undefined,
    close: async () => {
      closed = true;
    },
  };
}
