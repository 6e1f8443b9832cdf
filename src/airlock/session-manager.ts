/**
 * The control plane's session manager: sessions made from the configuration's defaults, each with its
 * egress side opened before its sandbox, watched for resource use, counted and logged as they start
 * and end.
 */
import type { Logger } from 'pino';
import type { ClusterNode } from '../cluster/index.ts';
import type { AirlockConfig } from '../config/index.ts';
import type { AirlockMetrics, ResourceMonitor } from '../metrics/index.ts';
import type { RateLimiter } from '../router/index.ts';
import { createSessionManager, currentOwner } from '../sessions/index.ts';
import type { SessionManager, SnapshotStore } from '../sessions/index.ts';
import type { Store } from '../store/index.ts';
import type { Drivers } from './drivers.ts';
import type { ControlPlaneEgress } from './egress.ts';
import type { Redactors } from './secrets.ts';

/**
 * The longest per-command timeout a caller may ask for when `sandbox.maxTimeout` is not set: long
 * enough for a full build or test run, short enough that a forgotten command does not hold a session
 * for hours. Longer work runs in the background or with a configured maximum.
 */
const DEFAULT_MAX_TIMEOUT_MS = 10 * 60_000;

/** The longest per-command timeout callers may ask for under this configuration. */
export function maxCommandTimeoutMs(config: AirlockConfig): number {
  return config.sandbox.maxTimeoutMs ?? Math.max(DEFAULT_MAX_TIMEOUT_MS, config.sandbox.timeoutMs);
}

export interface SessionManagerParts {
  readonly config: AirlockConfig;
  readonly maxSessions?: number | undefined;
  readonly sessionTtlMs?: number | undefined;
  readonly now: () => number;
  readonly metrics: AirlockMetrics;
  readonly logger: Logger;
  readonly redactors: Redactors;
  readonly store: Store;
  readonly drivers: Drivers;
  readonly snapshots: SnapshotStore;
  readonly monitor: ResourceMonitor;
  readonly rateLimiter: RateLimiter;
  readonly egress: ControlPlaneEgress;
  /** With a cluster: its admission check holds the session limits cluster-wide. */
  readonly cluster: ClusterNode | null;
}

export function controlPlaneSessions(parts: SessionManagerParts): SessionManager {
  const { config, metrics, logger, monitor } = parts;
  const { sandbox } = config;
  const manager: SessionManager = createSessionManager({
    store: parts.store,
    driverFor: parts.drivers.driverFor,
    snapshots: parts.snapshots,
    owner: currentOwner(),
    ...(parts.cluster?.admit === undefined ? {} : { admit: parts.cluster.admit }),
    maxSessions: parts.maxSessions ?? config.sessions.maxSessions,
    now: parts.now,
    attach: (sessionId, input) => parts.egress.attach(sessionId, input),
    defaults: {
      driver: sandbox.driver,
      sandbox: {
        image: sandbox.image,
        memoryBytes: sandbox.memoryBytes,
        cpus: sandbox.cpus,
        pids: sandbox.pids,
        scratchBytes: sandbox.scratchBytes,
        env: { ...sandbox.env },
        timeoutMs: sandbox.timeoutMs,
      },
      idleTimeoutMs: sandbox.idleTimeoutMs,
      ttlMs: parts.sessionTtlMs ?? config.sessions.lifetimeMs,
      // A caller's own shorter default (tests, one-shot runs) never raises the configured maximum.
      maxTtlMs: Math.max(config.sessions.maxLifetimeMs, parts.sessionTtlMs ?? 0),
      maxTimeoutMs: maxCommandTimeoutMs(config),
    },
    onCreated: (session, createMs) => {
      metrics.sessionCreated(session.settings.driver);
      metrics.sandboxCreateDuration(session.settings.driver, createMs);
      metrics.sessionsActive(manager.live().length);
      monitor.watch(session.id, {
        stats: () => session.sandbox.stats(),
        cpus: session.settings.sandbox.cpus,
      });
      // Egress events of the session are redacted like everything else about it.
      parts.egress.bindRedactor(session.id, (text) => parts.redactors.redactorFor(session).redact(text).text);
      logger.info({ sessionId: session.id, driver: session.settings.driver }, 'session created');
    },
    onEnded: (session) => {
      monitor.unwatch(session.id);
      metrics.sessionEnded(
        session.endCode === 'crashed' || session.endCode === null ? 'error' : session.endCode,
      );
      metrics.sessionsActive(manager.live().length);
      parts.rateLimiter.forget(session.id);
      logger.info({ sessionId: session.id, reason: session.endCode }, 'session ended');
    },
  });
  // Hosts a person granted at the proxy reach the policy too: it judges the command naming one as
  // it judges a command naming a host on the list, instead of asking a person a second time.
  parts.egress.onGrantsChanged((sessionId, granted) => manager.setEgressGrants(sessionId, granted));
  return manager;
}
