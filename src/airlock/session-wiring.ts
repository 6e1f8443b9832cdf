/**
 * The session manager and the resource monitor of a control plane, wired to its metrics, logger and
 * (in a cluster) its node's session limit.
 */
import type { Logger } from 'pino';
import type { ClusterNode } from '../cluster/index.ts';
import type { AirlockConfig } from '../config/index.ts';
import { createResourceMonitor } from '../metrics/index.ts';
import type { AirlockMetrics, ResourceMonitor } from '../metrics/index.ts';
import type { RateLimiter } from '../router/index.ts';
import { MAX_TIMEOUT_MS } from '../sandbox/index.ts';
import { createSessionManager, currentOwner } from '../sessions/index.ts';
import type { SessionManager, SnapshotStore } from '../sessions/index.ts';
import type { Store } from '../store/index.ts';
import type { Drivers } from './drivers.ts';

/** What of start-up's settled state the wiring reads. */
export interface WiringInput {
  readonly options: {
    readonly maxSessions?: number;
    readonly sessionTtlMs?: number;
    readonly monitorIntervalMs?: number;
  };
  readonly config: AirlockConfig;
  readonly now: () => number;
  readonly logger: Logger;
  readonly metrics: AirlockMetrics;
}

/** Samples sessions' resource use; an alert is counted, logged and recorded in the audit log. */
export function alertMonitor(prepared: WiringInput, store: Store): ResourceMonitor {
  const { metrics, logger } = prepared;
  return createResourceMonitor({
    intervalMs: prepared.options.monitorIntervalMs ?? 5000,
    onAlert: (alert) => {
      metrics.resourceAlert(alert.resource);
      logger.warn(
        { sessionId: alert.sessionId, resource: alert.resource, fraction: alert.fraction },
        'resource alert',
      );
      const data = {
        resource: alert.resource,
        usage: alert.usage,
        limit: alert.limit,
        fraction: alert.fraction,
      };
      void store
        .commit({ events: [{ type: 'resource.alert', sessionId: alert.sessionId, commandId: null, data }] })
        .catch((error: unknown) => logger.error({ err: error }, 'could not record a resource alert'));
    },
    onError: () => undefined,
  });
}

export function sessionManager(
  prepared: WiringInput,
  parts: {
    readonly store: Store;
    readonly drivers: Drivers;
    readonly snapshots: SnapshotStore;
    readonly monitor: ResourceMonitor;
    readonly rateLimiter: RateLimiter;
    readonly cluster: ClusterNode | null;
  },
): SessionManager {
  const { config, options, metrics, logger } = prepared;
  const { monitor } = parts;
  const { sandbox } = config;
  const manager: SessionManager = createSessionManager({
    store: parts.store,
    driverFor: parts.drivers.driverFor,
    snapshots: parts.snapshots,
    owner: currentOwner(),
    ...(parts.cluster?.admit === undefined ? {} : { admit: parts.cluster.admit }),
    maxSessions: options.maxSessions ?? config.sessions.maxSessions,
    now: prepared.now,
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
      ttlMs: options.sessionTtlMs ?? config.sessions.lifetimeMs,
      maxTimeoutMs: sandbox.maxTimeoutMs ?? MAX_TIMEOUT_MS,
    },
    onCreated: (session, createMs) => {
      metrics.sessionCreated(session.settings.driver);
      metrics.sandboxCreateDuration(session.settings.driver, createMs);
      metrics.sessionsActive(manager.live().length);
      monitor.watch(session.id, {
        stats: () => session.sandbox.stats(),
        cpus: session.settings.sandbox.cpus,
      });
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
  return manager;
}
