/**
 * The composition root: the one place where configuration becomes a store, drivers, a policy engine,
 * a router and a session manager. Everything is an instance; two control planes in one process share
 * nothing (but may share a store file, which SQLite serializes).
 */
import { join } from 'node:path';
import pino from 'pino';
import type { Logger } from 'pino';
import { createAgents } from '../agent/index.ts';
import type { Agents } from '../agent/index.ts';
import {
  isValidatedConfig,
  parseConfigObject,
  processEnvironment,
  readAirlockEnvironment,
  readModelEnvironment,
} from '../config/index.ts';
import type { AirlockConfig, EnvironmentVariables, ModelEnvironment } from '../config/index.ts';
import type { ClusterNode } from '../cluster/index.ts';
import { createMetrics } from '../metrics/index.ts';
import type { AirlockMetrics, ResourceMonitor } from '../metrics/index.ts';
import type { Policy } from '../policy/index.ts';
import { createApprovals, createRateLimiter, createReviewer, createRouter } from '../router/index.ts';
import type { Approvals, Router } from '../router/index.ts';
import type { Driver, DriverName, DriverOptions } from '../sandbox/index.ts';
import { createSnapshotStore, currentOwner } from '../sessions/index.ts';
import type { RecoveryReport, SessionManager, SnapshotStore } from '../sessions/index.ts';
import type { Store } from '../store/index.ts';
import type { AuditProtection } from './audit-protection.ts';
import { attachCluster, clusterNodeFor } from './cluster-wiring.ts';
import { openProtectedStore } from './store-wiring.ts';
import { alertMonitor } from './session-wiring.ts';
import { createDrivers } from './drivers.ts';
import { controlPlaneSessions } from './session-manager.ts';
import { createControlPlaneEgress } from './egress.ts';
import type { ControlPlaneEgress } from './egress.ts';
import type { AirlockEgress } from './egress-grants.ts';
import type { EgressResolver, RegistryResolver } from '../egress/index.ts';
import type { Drivers } from './drivers.ts';
import { createPolicies } from './policies.ts';
import type { Policies } from './policies.ts';
import { createRedactors } from './secrets.ts';
import type { Redactors } from './secrets.ts';
import { createAccessTokens } from './access-tokens.ts';
import type { AccessTokens } from './access-tokens.ts';
import { createAuditView, createSessionsView } from './views.ts';
import type { AirlockApprovals, AirlockAudit, AirlockCommands, AirlockSessions } from './views.ts';

export interface CreateAirlockOptions {
  /** A parsed airlock.yaml, or a plain object in its shape (validated here). Default: safe defaults. */
  readonly config?: AirlockConfig | unknown;
  /** A policy to use instead of the configuration's `policy:` section (e.g. from `--policy`). */
  readonly policy?: Policy;
  /** Host environment: `AIRLOCK_HOME` and the values of `router.secretEnv`. Default: the process's. */
  readonly env?: EnvironmentVariables;
  /** State directory; default from `AIRLOCK_HOME` (see config/environment.ts). */
  readonly home?: string;
  /** Where a relative store path is resolved. Default: the process's working directory. */
  readonly cwd?: string;
  /** Cross-check every command with tree-sitter-bash as well as unbash. Default true. */
  readonly crossCheck?: boolean;
  /** Overrides `sessions.max` of the configuration. */
  readonly maxSessions?: number;
  /** Overrides `sessions.lifetime`: longest a session lives, busy or not. */
  readonly sessionTtlMs?: number;
  /** How often a waiting router looks for decisions made by other processes. Default 250 ms. */
  readonly approvalPollIntervalMs?: number;
  /** How often sessions are sampled for resource alerts. Default 5 s. */
  readonly monitorIntervalMs?: number;
  /** How long stored outputs of ended sessions stay pageable (pruned at start-up). Default 24 h. */
  readonly outputRetentionMs?: number;
  readonly driverOptions?: Omit<DriverOptions, 'stateDir'>;
  /**
   * Drivers to use instead of making them from the configuration, by name: the seam unit tests plug an
   * in-memory test double into. Closed with the control plane like the ones it makes.
   */
  readonly drivers?: Partial<Readonly<Record<DriverName, Driver>>>;
  /**
   * Where `registry:*` allow-list entries lead; default the host's own npm and pip configuration
   * (tests give fixed answers).
   */
  readonly registries?: RegistryResolver;
  /**
   * The egress proxy's view of the world outside: the roots it verifies upstreams it opens TLS to
   * (default the system's; a private CA for on-premise hosts), and how it resolves names (default the
   * host's resolver; tests answer as an attacker's DNS would).
   */
  readonly egress?: { readonly upstreamCa?: string | readonly string[]; readonly resolve?: EgressResolver };
  readonly logger?: Logger;
  readonly metrics?: AirlockMetrics;
  readonly now?: () => number;
}

export interface Airlock {
  readonly sessions: AirlockSessions;
  readonly commands: AirlockCommands;
  readonly approvals: AirlockApprovals;
  readonly audit: AirlockAudit;
  /** People's tokens (viewer, approver) for the dashboard and the API. */
  readonly accessTokens: AccessTokens;
  readonly snapshots: Pick<SnapshotStore, 'list' | 'get' | 'remove'>;
  /** Tasks run by a model through this control plane's tools (`agents.run({ task, model })`). */
  readonly agents: Agents;
  readonly metrics: AirlockMetrics;
  readonly policy: Policy;
  readonly config: AirlockConfig;
  readonly home: string;
  /** What start-up found and closed from a control plane that crashed. */
  readonly recovery: RecoveryReport;
  /** This control plane as a node of a cluster (`cluster:` in the configuration), else null. */
  readonly cluster: ClusterNode | null;
  /** The egress proxy sessions reach the network through. */
  readonly egress: AirlockEgress;
  /** Ends every session (killing its commands), then closes the store. Idempotent. */
  close(): Promise<void>;
}

const DEFAULT_OUTPUT_RETENTION_MS = 24 * 60 * 60 * 1000;

/** What start-up settles before anything is opened: a bad policy or secret stops it here. */
interface Prepared {
  readonly options: CreateAirlockOptions;
  readonly config: AirlockConfig;
  readonly home: string;
  readonly now: () => number;
  readonly logger: Logger;
  readonly metrics: AirlockMetrics;
  readonly policies: Policies;
  readonly redactors: Redactors;
  readonly env: EnvironmentVariables;
  /** Model providers' keys and endpoints, from the host environment. */
  readonly modelEnvironment: ModelEnvironment;
}

/** What is open, for closing it again in order. */
interface Opened {
  readonly store: Store;
  readonly audit: AuditProtection;
  readonly drivers: Drivers;
  readonly cluster: ClusterNode | null;
  monitor?: ResourceMonitor;
  manager?: SessionManager;
  approvals?: Approvals;
  egress?: ControlPlaneEgress;
}

export async function createAirlock(options: CreateAirlockOptions = {}): Promise<Airlock> {
  const config = isValidatedConfig(options.config) ? options.config : parseConfigObject(options.config ?? {});
  const env = options.env ?? processEnvironment();
  const home = options.home ?? readAirlockEnvironment(env).home;
  const prepared: Prepared = {
    options,
    config,
    home,
    now: options.now ?? Date.now,
    logger: options.logger ?? pino({ level: 'silent' }),
    metrics: options.metrics ?? createMetrics(),
    policies: await createPolicies(config, options),
    redactors: createRedactors(config, env),
    env,
    modelEnvironment: readModelEnvironment(env),
  };
  const { audit, location, auditKey } = await openProtectedStore(prepared, env);
  let cluster: ClusterNode | null;
  try {
    cluster = clusterNodeFor({
      config,
      location,
      store: audit.store,
      home,
      owner: currentOwner(),
      maxSessions: options.maxSessions ?? config.sessions.maxSessions,
      auditKey,
      logger: prepared.logger,
      metrics: prepared.metrics,
    });
  } catch (error) {
    await audit.store.close();
    throw error;
  }
  const opened: Opened = {
    store: audit.store,
    audit,
    cluster,
    drivers: createDrivers(config, { home, driverOptions: options.driverOptions, given: options.drivers }),
  };
  try {
    return await start(prepared, opened);
  } catch (error) {
    opened.monitor?.close();
    opened.approvals?.close();
    await opened.manager?.close();
    await opened.egress?.close();
    await opened.cluster?.close();
    await opened.drivers.closeAll();
    await opened.store.close();
    throw error;
  }
}

/** Opens the stages on the store, closes what a crashed predecessor left, and assembles the Airlock. */
async function start(prepared: Prepared, opened: Opened): Promise<Airlock> {
  const { options, config, now } = prepared;
  const { store, drivers, audit } = opened;
  const snapshots = createSnapshotStore({ dir: join(prepared.home, 'snapshots'), now });
  const monitor = alertMonitor(prepared, store);
  opened.monitor = monitor;
  const rateLimiter = createRateLimiter({ rate: config.router.rateLimit, now });
  const { cluster } = opened;
  const approvals = createApprovals({
    store,
    now,
    ...(cluster === null
      ? {}
      : { decisions: (wake: (id: string | null) => void) => cluster.decisions(wake) }),
    ...(options.approvalPollIntervalMs === undefined
      ? {}
      : { pollIntervalMs: options.approvalPollIntervalMs }),
  });
  opened.approvals = approvals;
  const egress = createControlPlaneEgress({
    config,
    env: prepared.env,
    home: prepared.home,
    store,
    approvals,
    metrics: prepared.metrics,
    logger: prepared.logger,
    ...(options.registries === undefined ? {} : { registries: options.registries }),
    ...(options.egress === undefined ? {} : { world: options.egress }),
    ...(options.driverOptions?.helperPath === undefined
      ? {}
      : { relayHelperPath: options.driverOptions.helperPath }),
  });
  opened.egress = egress;
  const manager = controlPlaneSessions({
    config,
    maxSessions: options.maxSessions,
    sessionTtlMs: options.sessionTtlMs,
    now,
    metrics: prepared.metrics,
    logger: prepared.logger,
    redactors: prepared.redactors,
    store,
    drivers,
    snapshots,
    monitor,
    rateLimiter,
    egress,
    cluster,
  });
  opened.manager = manager;
  if (cluster !== null) attachCluster(cluster, manager, store, now);
  const router = createRouter({
    store,
    sessions: manager,
    approvals,
    policyFor: prepared.policies.policyFor,
    approvalTimeoutMs: config.router.approvalTimeoutMs,
    approvalWaitMs: config.router.approvalWaitMs,
    reviewer: createReviewer(config.router.reviewer),
    rateLimiter,
    maxChars: config.router.output.maxChars,
    redactorFor: prepared.redactors.redactorFor,
    archiveLimits: config.router.archive,
    refuseSecretsInWorkspace: config.sandbox.refuseSecretsInWorkspace,
    snapshots,
    metrics: prepared.metrics,
    logger: prepared.logger,
    now,
    egress,
  });
  // The person asked about a host sees the command that wants it.
  egress.setCommandText(async (commandId) => (await router.getCommand(commandId).catch(() => null))?.command);
  const recovery = await manager.recover(async () => {
    const removed = await drivers.sweepLeftovers(prepared.logger);
    // Sessions of a crashed control plane: their sockets answer no one, their CA keys must go.
    return removed + (await egress.sweep());
  });
  await approvals.expireOverdue();
  // Outputs of sessions long over are only disk: the audit log keeps what happened.
  const retentionMs = options.outputRetentionMs ?? DEFAULT_OUTPUT_RETENTION_MS;
  await store.pruneOutputs(new Date(now() - retentionMs).toISOString());
  return assemble(prepared, {
    store,
    audit,
    cluster,
    drivers,
    monitor,
    manager,
    approvals,
    egress,
    router,
    snapshots,
    recovery,
  });
}

function assemble(
  prepared: Prepared,
  parts: {
    readonly store: Store;
    readonly audit: AuditProtection;
    readonly cluster: ClusterNode | null;
    readonly drivers: Drivers;
    readonly monitor: ResourceMonitor;
    readonly manager: SessionManager;
    readonly approvals: Approvals;
    readonly egress: ControlPlaneEgress;
    readonly router: Router;
    readonly snapshots: SnapshotStore;
    readonly recovery: RecoveryReport;
  },
): Airlock {
  const { store, drivers, monitor, manager, approvals, egress, router, snapshots, cluster } = parts;
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      monitor.close();
      // Sessions first: ending them aborts their commands, including those waiting for a person,
      // which then record how they ended while the store is still open.
      await manager.close();
      await router.drain();
      approvals.close();
      // After the sessions: their proxy sides are closed, the last connections' events written.
      await egress.close();
      // After the sessions: this node leaves the cluster only once it runs none of them.
      await cluster?.close();
      await drivers.closeAll();
      await store.close();
    })();
    return closing;
  };
  const airlock: Airlock = {
    sessions: createSessionsView({
      manager,
      router,
      routerConfig: prepared.config.router,
      monitor,
      policyFor: prepared.policies.policyFor,
      preparePolicy: prepared.policies.preparePolicy,
      checkSecrets: prepared.redactors.checkSecrets,
      updateNetwork: (session, network) => egress.update(session, network),
    }),
    commands: {
      list: (query) => store.queryCommands(query),
      get: router.getCommand,
      wait: router.waitCommand,
      kill: router.killCommand,
      running: router.listCommands,
      sendInput: router.sendInput,
      resize: router.resizeTerminal,
      watch: router.watchCommand,
      readOutput: router.readOutput,
    },
    approvals: {
      list: (query) => approvals.list(query),
      get: (id) => approvals.get(id),
      approve: (id, decideOptions) => approvals.decide(id, 'approve', decideOptions),
      deny: (id, decideOptions) => approvals.decide(id, 'deny', decideOptions),
      waitFor: (id, waitOptions) => approvals.waitFor(id, waitOptions),
    },
    // A cluster's chain is signed by every node: each node's registered key is trusted too.
    audit: createAuditView(store, async () =>
      parts.audit.verify(cluster === null ? [] : await cluster.trustedKeys()),
    ),
    accessTokens: createAccessTokens({ store, now: prepared.now }),
    snapshots: { list: snapshots.list, get: snapshots.get, remove: snapshots.remove },
    agents: createAgents({
      airlock: () => airlock,
      commit: async (events) => {
        await store.commit({ events });
      },
      redact: (text) => prepared.redactors.host.redact(text).text,
      modelEnvironment: prepared.modelEnvironment,
      logger: prepared.logger,
      now: prepared.now,
    }),
    metrics: prepared.metrics,
    policy: prepared.policies.engine.policy,
    config: prepared.config,
    home: prepared.home,
    recovery: parts.recovery,
    cluster,
    egress: {
      restart: () => egress.restart(),
      sessions: () => egress.overview(),
      grant: (sessionId, target, { decidedBy }) => egress.grant(sessionId, target, decidedBy),
      revokeGrant: (sessionId, target, { decidedBy }) => egress.revokeGrant(sessionId, target, decidedBy),
    },
    close,
  };
  return airlock;
}
