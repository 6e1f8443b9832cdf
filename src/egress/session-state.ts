/**
 * What the proxy knows about one session while it is open: its compiled policy (replaced live), the
 * hosts a person granted, pending questions, connections in use, the hosts it refused (for the session
 * and for each command, so a result can say why the network failed), and its bandwidth buckets.
 */
import { AirlockError } from '../errors/index.ts';
import type { HostRule } from './allow-list.ts';
import { parseTargetHost } from './host-name.ts';
import type { CompiledNetwork } from './network-policy.ts';
import type { SessionSecret } from './secrets.ts';
import { MAX_GRANTED_HOSTS, SessionGrants, type GrantedPair } from './session-grants.ts';
import { createTokenBucket, type TokenBucket } from './throttle.ts';
import type {
  EgressAnswer,
  EgressDecider,
  EgressEvent,
  EgressProtocol,
  EgressSessionSummary,
  RefusalCode,
  RefusedHost,
} from './types.ts';

/** Distinct refused hosts kept per session and per command; later ones only add to `count`s already kept. */
export const MAX_REFUSED_HOSTS = 100;

export { MAX_GRANTED_HOSTS } from './session-grants.ts';
export type { GrantedPair } from './session-grants.ts';

export type AskOutcome = EgressAnswer | 'timeout';

export interface CommandEgress {
  readonly commandId: string;
  /** Hosts refused while this command was being tracked. */
  refused(): readonly RefusedHost[];
  /** Stops tracking; `refused()` still answers afterwards. */
  end(): void;
}

export interface SessionStateOptions {
  readonly sessionId: string;
  readonly network: CompiledNetwork;
  readonly secrets: readonly SessionSecret[];
  readonly maxConnections: number;
  readonly bytesPerSecond: number | undefined;
  readonly approvalWaitMs: number;
  readonly decide: EgressDecider | undefined;
}

class RefusedList {
  private readonly entries = new Map<
    string,
    { host: string; port: number; reason: RefusalCode; message: string; count: number }
  >();
  add(host: string, port: number, reason: RefusalCode, message: string): void {
    const key = `${host}:${port}`;
    const existing = this.entries.get(key);
    if (existing !== undefined) {
      existing.count += 1;
      existing.reason = reason;
      existing.message = message;
    } else if (this.entries.size < MAX_REFUSED_HOSTS) {
      this.entries.set(key, { host, port, reason, message, count: 1 });
    }
  }
  list(): readonly RefusedHost[] {
    return [...this.entries.values()].map((entry) => Object.freeze({ ...entry }));
  }
}

export type SessionState = ReturnType<typeof createSessionState>;

export function createSessionState(options: SessionStateOptions) {
  let network = options.network;
  let closed = false;
  let connections = 0;
  const grants = new SessionGrants();
  const totals = { allowed: 0, refused: 0, bytesUp: 0, bytesDown: 0, lastAt: null as string | null };
  const pendingAsks = new Map<string, Promise<AskOutcome>>();
  const refusedInSession = new RefusedList();
  const commands = new Map<string, RefusedList>();
  const closing = new AbortController();
  const up: TokenBucket | undefined =
    options.bytesPerSecond === undefined ? undefined : createTokenBucket(options.bytesPerSecond);
  const down: TokenBucket | undefined =
    options.bytesPerSecond === undefined ? undefined : createTokenBucket(options.bytesPerSecond);

  async function askPerson(host: string, port: number, protocol: EgressProtocol): Promise<AskOutcome> {
    const decide = options.decide;
    if (decide === undefined) return 'deny';
    const deadline = AbortSignal.any([AbortSignal.timeout(options.approvalWaitMs), closing.signal]);
    const commandId = currentCommandId();
    const ask = {
      sessionId: options.sessionId,
      host,
      port,
      protocol,
      ...(commandId === undefined ? {} : { commandId }),
    };
    const timedOut = new Promise<AskOutcome>((resolve) => {
      if (deadline.aborted) resolve('timeout');
      deadline.addEventListener('abort', () => resolve('timeout'), { once: true });
    });
    // A decider that throws or answers nonsense has not allowed anything.
    const answered = decide(ask, deadline).then(
      (answer): AskOutcome => (answer === 'allow-once' || answer === 'allow-session' ? answer : 'deny'),
      (): AskOutcome => 'deny',
    );
    return Promise.race([answered, timedOut]);
  }

  function currentCommandId(): string | undefined {
    // With several commands running at once, a connection cannot be pinned on one of them.
    return commands.size === 1 ? commands.keys().next().value : undefined;
  }

  return {
    sessionId: options.sessionId,
    secrets: options.secrets,
    get network(): CompiledNetwork {
      return network;
    },
    get closed(): boolean {
      return closed;
    },
    setNetwork(next: CompiledNetwork): void {
      network = next;
    },
    /** On the list, or granted for the session by a person. */
    isAllowed(host: string, port: number): boolean {
      return network.allowList.allows(host, port) || grants.allows(host, port);
    },
    /** A person granted these with a command, for the rest of the session. */
    grantRules(rules: readonly HostRule[]): void {
      grants.grantRules(rules);
    },
    /**
     * One question per host and port at a time: ten connections to the same new host while a person
     * decides are one approval request, and all ten get its answer.
     */
    ask(host: string, port: number, protocol: EgressProtocol): Promise<AskOutcome> {
      const key = `${host}:${port}`;
      let pending = pendingAsks.get(key);
      if (pending === undefined) {
        pending = askPerson(host, port, protocol).then((outcome) => {
          pendingAsks.delete(key);
          if (outcome === 'allow-session') grants.grant(host, port);
          return outcome;
        });
        pendingAsks.set(key, pending);
      }
      return pending;
    },
    /** A person's grant for the rest of the session, as an answer to an ask with `remember` is. */
    grant(host: string, port: number): boolean {
      return grants.grant(host, port);
    },
    /** The pairs granted one by one (asks answered with remember, grants), for a restarted proxy. */
    grantedPairs: (): readonly GrantedPair[] => grants.pairs(),
    /** Withdraws a grant; connections already open keep going. False when there was none. */
    revokeGrant(host: string, port: number): boolean {
      return grants.revoke(host, port);
    },
    /** Counted for the session's summary when a connection is reported. */
    connectionEnded(event: EgressEvent): void {
      if (event.decision === 'allowed') totals.allowed += 1;
      else totals.refused += 1;
      totals.bytesUp += event.bytesUp;
      totals.bytesDown += event.bytesDown;
      totals.lastAt = event.startedAt;
    },
    summary(): EgressSessionSummary {
      return Object.freeze({
        sessionId: options.sessionId,
        openConnections: connections,
        connections: { allowed: totals.allowed, refused: totals.refused },
        bytesUp: totals.bytesUp,
        bytesDown: totals.bytesDown,
        lastConnectionAt: totals.lastAt,
        granted: grants.list(),
        pendingAsks: Object.freeze([...pendingAsks.keys()]),
        refused: refusedInSession.list(),
      });
    },
    tryOpenConnection(): boolean {
      if (closed || connections >= options.maxConnections) return false;
      connections += 1;
      return true;
    },
    connectionClosed(): void {
      connections = Math.max(0, connections - 1);
    },
    get openConnections(): number {
      return connections;
    },
    recordRefusal(host: string, port: number, reason: RefusalCode, message: string): void {
      refusedInSession.add(host, port, reason, message);
      for (const list of commands.values()) list.add(host, port, reason, message);
    },
    refusedHosts(): readonly RefusedHost[] {
      return refusedInSession.list();
    },
    currentCommandId,
    trackCommand(commandId: string): CommandEgress {
      const list = new RefusedList();
      commands.set(commandId, list);
      return {
        commandId,
        refused: () => list.list(),
        end: () => {
          if (commands.get(commandId) === list) commands.delete(commandId);
        },
      };
    },
    buckets: { up, down },
    close(): void {
      closed = true;
      closing.abort();
    },
  };
}

/**
 * A person's grant of `host:port` for the rest of the session, checked as the proxy compares hosts.
 * Returns the host as kept (lower case, no brackets).
 */
export function grantHost(state: SessionState, host: string, port: number): string {
  const parsed = parseTargetHost(host);
  if (!parsed.ok) throw new AirlockError('INVALID_ARGUMENT', parsed.problem, { field: 'host' });
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    throw new AirlockError('INVALID_ARGUMENT', `port ${port} is not 1–65535`, { field: 'port' });
  if (!state.grant(parsed.value.host, port)) {
    throw new AirlockError(
      'LIMIT_REACHED',
      `this session already has ${MAX_GRANTED_HOSTS} hosts granted; put the hosts it needs on its allow-list`,
      { limit: MAX_GRANTED_HOSTS },
    );
  }
  return parsed.value.host;
}
