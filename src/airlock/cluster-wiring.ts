/**
 * The cluster node of a control plane whose configuration has a `cluster:` section: made before the
 * session manager and approvals (which take its hooks), attached to them once they exist. Without the
 * section, or with an SQLite store, a control plane is on its own and this returns null.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { createClusterNode } from '../cluster/index.ts';
import type { ClusterNode } from '../cluster/index.ts';
import type { AirlockConfig, StoreLocation } from '../config/index.ts';
import { AirlockError } from '../errors/index.ts';
import type { AirlockMetrics } from '../metrics/index.ts';
import { endSessionsOwnedBy } from '../sessions/index.ts';
import type { SessionManager } from '../sessions/index.ts';
import { asPostgresStore } from '../store/index.ts';
import type { AuditSigningKey, Store } from '../store/index.ts';

/** The file the cluster secret is read from when `cluster.secretFile` names none. */
export const CLUSTER_SECRET_FILE = 'cluster-secret';

export interface ClusterWiringOptions {
  readonly config: AirlockConfig;
  readonly location: StoreLocation;
  readonly store: Store;
  readonly home: string;
  readonly owner: string;
  readonly maxSessions: number;
  readonly auditKey: AuditSigningKey;
  readonly logger: Logger;
  readonly metrics: AirlockMetrics;
}

export function clusterNodeFor(options: ClusterWiringOptions): ClusterNode | null {
  const { config, location } = options;
  if (config.cluster === undefined) return null;
  const store = asPostgresStore(options.store);
  if (store === null || location.kind !== 'postgres') {
    // Control planes share sessions, approvals and the audit chain through the database: an SQLite
    // file on one machine cannot be that database, so a cluster on it would split silently.
    throw new AirlockError(
      'INVALID_CONFIG',
      'cluster: needs a PostgreSQL store (store: postgres://… or AIRLOCK_STORE); SQLite is one machine’s file',
      { key: 'cluster' },
    );
  }
  return createClusterNode({
    store,
    url: location.url,
    config: config.cluster,
    defaultSecretFile: join(options.home, CLUSTER_SECRET_FILE),
    owner: options.owner,
    maxSessions: options.maxSessions,
    maxTotalSessions: config.sessions.maxTotalSessions,
    auditKey: options.auditKey,
    defaultMemoryBytes: config.sandbox.memoryBytes,
    logger: options.logger,
    onEvent: (event) => {
      if (event.kind === 'heartbeat') options.metrics.clusterHeartbeat(event.ok, event.lost);
      else options.metrics.clusterForward(event.outcome);
    },
  });
}

/** Hands the node the session manager, and how to end a lost node's sessions in the store. */
export function attachCluster(
  cluster: ClusterNode,
  manager: SessionManager,
  store: Store,
  now: () => number,
): void {
  cluster.attach(
    {
      live: () => manager.live(),
      isLive: (id) => manager.isLive(id),
      endAll: (code, detail) => manager.endAll(code, detail),
    },
    (owner, reason) =>
      endSessionsOwnedBy(store, owner, { code: 'node_lost', reason, endedAt: new Date(now()).toISOString() }),
  );
}
