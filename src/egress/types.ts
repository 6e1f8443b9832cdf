/**
 * The egress proxy's public types: what a session is opened with, what the proxy asks and reports.
 */
import type { Socket } from 'node:net';
import type { AllowEntry, RegistryName } from './allow-list.ts';
import type { EgressSecretSpec } from './secrets.ts';

export const NETWORK_MODES = ['none', 'allowlist', 'ask'] as const;
/**
 * none: no network at all. allowlist: only `allow`; anything else refused with a readable reason.
 * ask: only `allow`; a connection elsewhere asks a person (once / for the session), then is refused.
 */
export type NetworkMode = (typeof NETWORK_MODES)[number];

export interface EgressNetworkPolicy {
  readonly mode: NetworkMode;
  /** Host globs with ports, and registries the host's own configuration names. */
  readonly allow: readonly AllowEntry[];
  /**
   * Fixed addresses by exact name, like /etc/hosts: the only way a name may lead to a private or
   * loopback address (tests, on-premise services).
   */
  readonly hosts: Readonly<Record<string, string>>;
}

export interface EgressSessionPolicy {
  readonly network: EgressNetworkPolicy;
  readonly secrets?: readonly EgressSecretSpec[];
}

export type EgressProtocol = 'http' | 'connect' | 'socks';

/** What a person is asked to decide about, in ask mode. */
export interface EgressAsk {
  readonly sessionId: string;
  /** The command that made the connection, when exactly one command of the session was running. */
  readonly commandId?: string;
  readonly host: string;
  readonly port: number;
  readonly protocol: EgressProtocol;
}

export type EgressAnswer = 'allow-once' | 'allow-session' | 'deny';

/** Asks a person; `signal` aborts when the wait is over (the ask should be withdrawn then). */
export type EgressDecider = (ask: EgressAsk, signal: AbortSignal) => Promise<EgressAnswer>;

/** A name's addresses, as the host would resolve them (injectable so tests can answer as an attacker's DNS would). */
export type EgressResolver = (host: string) => Promise<readonly string[]>;

/** Opens a TCP connection to an IP address the proxy has checked (injectable for tests; default net.connect). */
export type EgressDialer = (address: string, port: number) => Socket;

export interface RegistryLocation {
  readonly host: string;
  readonly port: number;
}

/** Where `registry:npm` / `registry:pypi` lead, from the host's own package-manager configuration. */
export type RegistryResolver = (registry: RegistryName) => Promise<readonly RegistryLocation[]>;

export const REFUSAL_CODES = [
  'network_off',
  'not_allowed',
  'ask_denied',
  'ask_timed_out',
  'address_forbidden',
  'resolve_failed',
  'sni_mismatch',
  'host_mismatch',
  'placeholder_wrong_host',
  'placeholder_unrewritable',
  'bad_request',
  'connection_limit',
  'session_closed',
] as const;
export type RefusalCode = (typeof REFUSAL_CODES)[number];

export const ALLOW_VIAS = ['allowlist', 'approved_once', 'approved_session'] as const;
export type AllowVia = (typeof ALLOW_VIAS)[number];

/** One connection (or, for a plain-HTTP proxy request, one request), reported once it has ended. */
export interface EgressEvent {
  readonly type: 'egress.connection';
  readonly sessionId: string;
  readonly commandId?: string;
  readonly protocol: EgressProtocol;
  readonly host: string;
  readonly port: number;
  /** The address the proxy connected to (absent when refused before resolving). */
  readonly address?: string;
  readonly decision: 'allowed' | 'refused';
  /** How it was allowed, or why it was refused. */
  readonly reason: AllowVia | RefusalCode;
  /** The one line the client was told, for refusals. Never contains a secret value. */
  readonly message?: string;
  /** An allowed connection that then failed: `connect_failed`, `upstream_certificate`, `idle_timeout`, … */
  readonly error?: string;
  /** TLS was opened by the proxy (the host has secrets); otherwise the stream passed end to end. */
  readonly inspected: boolean;
  /** Names of the secrets swapped in; never their values. */
  readonly secrets: readonly string[];
  readonly bytesUp: number;
  readonly bytesDown: number;
  readonly durationMs: number;
  readonly startedAt: string;
}

export type EgressEventSink = (event: EgressEvent) => void;

export interface RefusedHost {
  readonly host: string;
  readonly port: number;
  readonly reason: RefusalCode;
  readonly message: string;
  readonly count: number;
}

/** What the proxy knows about one open session now, for the people watching it. Since the proxy started. */
export interface EgressSessionSummary {
  readonly sessionId: string;
  readonly openConnections: number;
  /** Connections reported so far (a plain-HTTP proxy request counts one each). */
  readonly connections: { readonly allowed: number; readonly refused: number };
  readonly bytesUp: number;
  readonly bytesDown: number;
  /** When the last reported connection started (ISO 8601), or null. */
  readonly lastConnectionAt: string | null;
  /** `host:port` a person granted for the rest of the session (an ask answered with `remember`, or a grant). */
  readonly granted: readonly string[];
  /** `host:port` waiting for a person's answer now. */
  readonly pendingAsks: readonly string[];
  readonly refused: readonly RefusedHost[];
}
