/**
 * The command pipeline's view of the egress proxy: while a command runs, the connections the proxy
 * refused are counted for it, so its result can name the hosts and say why (an HTTP client often
 * reports only "403" or "connection closed"). The proxy itself is wired in by the composition root;
 * the router knows only this seam.
 */
import type { LiveSession } from '../sessions/index.ts';

/** A host (and port) the proxy refused while the command ran, with the one line the client was told. */
export interface RefusedConnection {
  readonly host: string;
  readonly port: number;
  /** A stable code: `not_allowed`, `ask_timed_out`, `address_forbidden`, `sni_mismatch`, … */
  readonly reason: string;
  readonly message: string;
  /** How many connections to it were refused. */
  readonly count: number;
}

export interface TrackedEgress {
  refused(): readonly RefusedConnection[];
  /** The command finished: later refusals are not its. */
  end(): void;
}

export interface EgressTracking {
  /** Starts counting refusals for a command of the session; undefined when it has no network. */
  track(session: LiveSession, commandId: string): TrackedEgress | undefined;
}

/** At most this many refused hosts go into a result; the audit log has every connection. */
const MAX_REPORTED = 20;

/** What a command's result keeps of its refusals: redacted (a host name is the command's choice). */
export function refusalsForResult(
  tracked: TrackedEgress | undefined,
  redact: (text: string) => string,
): readonly RefusedConnection[] {
  if (tracked === undefined) return [];
  tracked.end();
  return tracked
    .refused()
    .slice(0, MAX_REPORTED)
    .map((refusal) => ({
      host: redact(refusal.host),
      port: refusal.port,
      reason: refusal.reason,
      message: redact(refusal.message),
      count: refusal.count,
    }));
}
