/**
 * What the library reports about a session (`SessionInfo`): its record, with the live state (usage,
 * isolation, boundary, network) of a session still running.
 */
import type { RouterConfig } from '../config/index.ts';
import type { ResourceMonitor } from '../metrics/index.ts';
import type { PolicyEngine } from '../policy/index.ts';
import type { SandboxInfo } from '../sandbox/index.ts';
import { NO_NETWORK } from '../sessions/index.ts';
import type { LiveSession, SessionManager, SessionNetwork } from '../sessions/index.ts';
import type { SessionRecord } from '../store/index.ts';
import { boundaryOf } from './session-boundary.ts';
import type { SessionBoundary } from './session-boundary.ts';

export interface SessionInfo {
  readonly id: string;
  readonly state: SessionRecord['state'];
  readonly driver: string;
  readonly createdAt: string;
  readonly lastActiveAt: string;
  readonly expiresAt: string | null;
  readonly endedAt: string | null;
  readonly endReason: string | null;
  readonly limits: {
    readonly memoryBytes: number;
    readonly cpus: number;
    readonly pids: number;
    readonly scratchBytes: number;
    readonly timeoutMs: number;
    readonly idleTimeoutMs: number;
  };
  readonly policy: string;
  /** How the sandbox isolates (`bwrap`, `gvisor` with its platform, `docker/runc`…); null once ended. */
  readonly isolation: SandboxInfo | null;
  /** Latest resource sample, when the session is live and has been sampled. */
  readonly usage: {
    readonly memoryBytes: number;
    readonly pids: number;
    readonly cpuUsageMs: number;
    readonly cpuFraction: number | null;
  } | null;
  /** What will ask in this session (network, secrets, approvals, grants); null once it has ended. */
  readonly boundary: SessionBoundary | null;
  /**
   * What its commands can reach through the egress proxy: as it is now for a live session, as it was
   * created for an ended one. Secrets by name and hosts, never values.
   */
  readonly network: NetworkInfo;
}

export interface NetworkInfo {
  readonly mode: SessionNetwork['mode'];
  readonly allow: readonly string[];
  readonly hosts: Readonly<Record<string, string>>;
  readonly secrets: ReadonlyArray<{ readonly name: string; readonly hosts: readonly string[] }>;
}

/** What `infoOf` reads a session's live state from. */
export interface SessionInfoParts {
  readonly manager: SessionManager;
  readonly routerConfig: RouterConfig;
  readonly monitor: ResourceMonitor;
  readonly policyFor: (session: LiveSession) => PolicyEngine;
}

function networkInfo(network: SessionNetwork): NetworkInfo {
  return { mode: network.mode, allow: network.allow, hosts: network.hosts, secrets: network.secrets };
}

/** The network an ended session was created with, from its record (older records have none). */
function recordedNetwork(spec: SessionRecord['spec']): NetworkInfo {
  const recorded = spec['network'];
  if (typeof recorded !== 'object' || recorded === null || Array.isArray(recorded))
    return networkInfo(NO_NETWORK);
  const mode = recorded['mode'];
  return {
    mode: mode === 'allowlist' || mode === 'ask' ? mode : 'none',
    allow: Array.isArray(recorded['allow'])
      ? recorded['allow'].filter((entry) => typeof entry === 'string')
      : [],
    hosts: isStringRecord(recorded['hosts']) ? recorded['hosts'] : {},
    secrets: Array.isArray(recorded['secrets'])
      ? recorded['secrets'].flatMap((secret) =>
          typeof secret === 'object' &&
          secret !== null &&
          !Array.isArray(secret) &&
          typeof secret['name'] === 'string'
            ? [
                {
                  name: secret['name'],
                  hosts: Array.isArray(secret['hosts'])
                    ? secret['hosts'].filter((host) => typeof host === 'string')
                    : [],
                },
              ]
            : [],
        )
      : [],
  };
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((entry) => typeof entry === 'string')
  );
}

export function infoOf(record: SessionRecord, parts: SessionInfoParts): SessionInfo {
  const spec = record.spec;
  const live = parts.manager.live().find((session) => session.id === record.id);
  const number = (key: string): number => (typeof spec[key] === 'number' ? spec[key] : 0);
  const sample = record.state === 'active' ? parts.monitor.latest(record.id) : null;
  return {
    id: record.id,
    state: record.state,
    driver: record.driver,
    createdAt: record.createdAt,
    lastActiveAt: live === undefined ? record.lastActiveAt : new Date(live.lastActiveAt).toISOString(),
    expiresAt: record.expiresAt,
    endedAt: record.endedAt,
    endReason: record.endReason,
    limits: {
      memoryBytes: number('memoryBytes'),
      cpus: number('cpus'),
      pids: number('pids'),
      scratchBytes: number('scratchBytes'),
      timeoutMs: number('timeoutMs'),
      idleTimeoutMs: number('idleTimeoutMs'),
    },
    policy:
      live !== undefined
        ? parts.policyFor(live).policy.origin
        : typeof spec['policy'] === 'string'
          ? `preset:${spec['policy']}`
          : 'the configured policy',
    isolation: live === undefined ? null : (live.sandbox.info ?? { isolation: live.settings.driver }),
    usage:
      sample === null
        ? null
        : {
            memoryBytes: sample.memoryBytes,
            pids: sample.pids,
            cpuUsageMs: sample.cpuUsageMs,
            cpuFraction: sample.cpuFraction,
          },
    boundary: live === undefined ? null : boundaryOf(live, parts.routerConfig),
    network: live === undefined ? recordedNetwork(spec) : networkInfo(live.network),
  };
}
