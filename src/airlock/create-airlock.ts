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
import type { AirlockConfig, EnvironmentVariables, ModelEnvironment } from '../config/index.ts';
import { createMetrics, createResourceMonitor } from '../metrics/index.ts';
import type { AirlockMetrics, ResourceMonitor } from '../metrics/index.ts';
import type { Policy } from '../policy/index.ts';
import { createApprovalGate, createApprovals, createRateLimiter, createRouter } from '../router/index.ts';
import type { ApprovalGate, Approvals, RateLimiter, Router } from '../router/index.ts';
import { MAX_TIMEOUT_MS } from '../sandbox/index.ts';
import type { Driver, DriverName, DriverOptions } from '../sandbox/index.ts';
import { createSessionManager, createSnapshotStore, currentOwner } from '../sessions/index.ts';
import type { RecoveryReport, SessionManager, SnapshotStore } from '../sessions/index.ts';
import { connectStore, loadOrCreateAuditKey, resolveStorePath } from '../store/index.ts';
import type { Store } from '../store/index.ts';
import { auditKeyPath, protectAuditLog } from './audit-protection.ts';
import type { AuditProtection } from './audit-protection.ts';
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
  const audit = await openProtectedStore(prepared, env);
  const opened: Opened = {
    store: audit.store,
    audit,
    drivers: createDrivers(config, { home, driverOptions: options.driverOptions, given: options.drivers }),
  };
  try {
    return await start(prepared, opened);
  } catch (error) {
    opened.monitor?.close();
    opened.approvals?.close();
    await opened.manager?.close();
    await opened.drivers.closeAll();
    await opened.store.close();
    throw error;
  }
}

/**
 * The store, wrapped so that the chain's head is signed with a key kept outside it. The key is read
 * (or made) before the store opens: a key file others can read stops start-up here.
 */
async function openProtectedStore(prepared: Prepared, env: EnvironmentVariables): Promise<AuditProtection> {
  const { config, home, options } = prepared;
  const auditKey = loadOrCreateAuditKey(auditKeyPath(config.audit, home));
  const fromEnvironment = storeFromEnvironment(env);
  const storeLocation = storeLocationFor(config.store, {
    home,
    ...(fromEnvironment === undefined ? {} : { store: fromEnvironment }),
  });
  const baseDir = options.cwd ?? process.cwd();
  return protectAuditLog({
    store: await connectStore(storeLocation, { baseDir }),
    storePath: resolveStorePath(storeLocation, baseDir),
    config: config.audit,
    home,
    key: auditKey,
    logger: prepared.logger,
    metrics: prepared.metrics,
  });
}

/** Opens the stages on the store, closes what a crashed predecessor left, and assembles the Airlock. */
async function start(prepared: Prepared, opened: Opened): Promise<Airlock> {
  const { options, config, now } = prepared;
  const { store, drivers, audit } = opened;
  const snapshots = createSnapshotStore({ dir: join(prepared.home, 'snapshots'), now });
  const monitor = alertMonitor(prepared, store);
  opened.monitor = monitor;
  const rateLimiter = createRateLimiter({ rate: config.router.rateLimit, now });
  const manager = sessionManager(prepared, { store, drivers, snapshots, monitor, rateLimiter });
  opened.manager = manager;
  const approvals = createApprovals({
    store,
    now,
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
    readonly drivers: Drivers;
    readonly monitor: ResourceMonitor;
    readonly manager: SessionManager;
    readonly approvals: Approvals;
    readonly router: Router;
    readonly snapshots: SnapshotStore;
    readonly recovery: RecoveryReport;
  },
): Airlock {
  const { store, drivers, monitor, manager, approvals, router, snapshots } = parts;
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      monitor.close();
      // Sessions first: ending them aborts their commands, including those waiting for a person,
      // which then record how they ended while the store is still open.
      await manager.close();
      await router.drain();
      approvals.close();
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
    audit: createAuditView(store, parts.audit.verify),
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
    close,
  };
  return airlock;
}

/** Samples sessions' resource use; an alert is counted, logged and recorded in the audit log. */
function alertMonitor(prepared: Prepared, store: Store): ResourceMonitor {
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

function sessionManager(
  prepared: Prepared,
  parts: {
    readonly store: Store;
    readonly drivers: Drivers;
    readonly snapshots: SnapshotStore;
    readonly monitor: ResourceMonitor;
    readonly rateLimiter: RateLimiter;
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
