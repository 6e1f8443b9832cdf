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
  storeFromEnvironment,
  storeLocationFor,
  readModelEnvironment,
} from '../config/index.ts';
import type {
  AirlockConfig,
  EnvironmentVariables,
  ModelEnvironment,
  StoreLocation,
} from '../config/index.ts';
import type { ClusterNode } from '../cluster/index.ts';
import { createMetrics } from '../metrics/index.ts';
import type { AirlockMetrics, ResourceMonitor } from '../metrics/index.ts';
import type { Policy } from '../policy/index.ts';
import { createApprovalGate, createApprovals, createRateLimiter, createRouter } from '../router/index.ts';
import type { ApprovalGate, Approvals, Router } from '../router/index.ts';
import type { Driver, DriverName, DriverOptions } from '../sandbox/index.ts';
import { createSnapshotStore, currentOwner } from '../sessions/index.ts';
import type { RecoveryReport, SessionManager, SnapshotStore } from '../sessions/index.ts';
import { connectStore, loadOrCreateAuditKey, resolveStorePath } from '../store/index.ts';
import type { AuditSigningKey, Store } from '../store/index.ts';
import { auditKeyPath, protectAuditLog } from './audit-protection.ts';
import type { AuditProtection } from './audit-protection.ts';
import { attachCluster, clusterNodeFor } from './cluster-wiring.ts';
import { alertMonitor, sessionManager } from './session-wiring.ts';
import { createDrivers } from './drivers.ts';
import type { Drivers } from './drivers.ts';
import { createPolicies } from './policies.ts';
import type { Policies } from './policies.ts';
import { createRedactors } from './secrets.ts';
import type { Redactors } from './secrets.ts';
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
  readonly logger?: Logger;
  readonly metrics?: AirlockMetrics;
  readonly now?: () => number;
}

export interface Airlock {
  readonly sessions: AirlockSessions;
  readonly commands: AirlockCommands;
  readonly approvals: AirlockApprovals;
  readonly audit: AirlockAudit;
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
  readonly approvalGate: ApprovalGate | null;
  readonly redactors: Redactors;
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
    // Compiled now, so a bad entry stops start-up before anything is opened.
    approvalGate: createApprovalGate(config.router.approvalRequiredFor),
    redactors: createRedactors(config, env),
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
    await opened.cluster?.close();
    await opened.drivers.closeAll();
    await opened.store.close();
    throw error;
  }
}

/**
 * The store, wrapped so that the chain's head is signed with a key kept outside it. The key is read
 * (or made) before the store opens: a key file others can read stops start-up here.
 */
async function openProtectedStore(
  prepared: Prepared,
  env: EnvironmentVariables,
): Promise<{ audit: AuditProtection; location: StoreLocation; auditKey: AuditSigningKey }> {
  const { config, home, options } = prepared;
  const auditKey = loadOrCreateAuditKey(auditKeyPath(config.audit, home));
  const fromEnvironment = storeFromEnvironment(env);
  const storeLocation = storeLocationFor(config.store, {
    home,
    ...(fromEnvironment === undefined ? {} : { store: fromEnvironment }),
  });
  const baseDir = options.cwd ?? process.cwd();
  const audit = protectAuditLog({
    store: await connectStore(storeLocation, { baseDir }),
    storePath: resolveStorePath(storeLocation, baseDir),
    config: config.audit,
    home,
    key: auditKey,
    logger: prepared.logger,
    metrics: prepared.metrics,
  });
  return { audit, location: storeLocation, auditKey };
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
  const manager = sessionManager(prepared, { store, drivers, snapshots, monitor, rateLimiter, cluster });
  opened.manager = manager;
  if (cluster !== null) attachCluster(cluster, manager, store, now);
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
  const router = createRouter({
    store,
    sessions: manager,
    approvals,
    policyFor: prepared.policies.policyFor,
    approvalGate: prepared.approvalGate,
    writeFileNeedsApproval: config.router.approvalRequiredFor.includes('write_file'),
    approvalTimeoutMs: config.router.approvalTimeoutMs,
    rateLimiter,
    maxChars: config.router.output.maxChars,
    redactorFor: prepared.redactors.redactorFor,
    metrics: prepared.metrics,
    logger: prepared.logger,
    now,
  });
  const recovery = await manager.recover(() => drivers.sweepLeftovers(prepared.logger));
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
    readonly router: Router;
    readonly snapshots: SnapshotStore;
    readonly recovery: RecoveryReport;
  },
): Airlock {
  const { store, drivers, monitor, manager, approvals, router, snapshots, cluster } = parts;
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      monitor.close();
      // Sessions first: ending them aborts their commands, including those waiting for a person,
      // which then record how they ended while the store is still open.
      await manager.close();
      await router.drain();
      approvals.close();
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
      monitor,
      policyFor: prepared.policies.policyFor,
      preparePolicy: prepared.policies.preparePolicy,
      checkSecrets: prepared.redactors.checkSecrets,
    }),
    commands: {
      get: router.getCommand,
      wait: router.waitCommand,
      kill: router.killCommand,
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
    close,
  };
  return airlock;
}
