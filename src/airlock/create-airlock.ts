/**
 * The composition root: the one place where configuration becomes a store, drivers, a policy engine,
 * a router and a session manager. Everything is an instance; two control planes in one process share
 * nothing (but may share a store file, which SQLite serializes).
 */
import { join } from 'node:path';
import pino from 'pino';
import type { Logger } from 'pino';
import { parseConfigObject, processEnvironment, readAirlockEnvironment } from '../config/index.ts';
import type { AirlockConfig, EnvironmentVariables } from '../config/index.ts';
import { AirlockError } from '../errors/index.ts';
import { createMetrics, createResourceMonitor } from '../metrics/index.ts';
import type { AirlockMetrics, ResourceMonitor } from '../metrics/index.ts';
import { createPolicyEngine, loadPolicy, PolicyLoadError } from '../policy/index.ts';
import type { Policy, PolicyEngine, PresetName } from '../policy/index.ts';
import { createApprovals, createRateLimiter, createRedactor, createRouter } from '../router/index.ts';
import type { Approvals, Redactor, Router } from '../router/index.ts';
import { createDriver, MAX_TIMEOUT_MS, sweepLeftovers } from '../sandbox/index.ts';
import type { Driver, DriverName, DriverOptions } from '../sandbox/index.ts';
import { createSessionManager, createSnapshotStore, currentOwner, presetOf } from '../sessions/index.ts';
import type { LiveSession, RecoveryReport, SessionManager, SnapshotStore } from '../sessions/index.ts';
import { openStore } from '../store/index.ts';
import type { Store } from '../store/index.ts';
import { createAuditView, createSessionsView } from './views.ts';
import type { AirlockApprovals, AirlockAudit, AirlockCommands, AirlockSessions } from './views.ts';
import { loadTreeSitterWasm } from './tree-sitter-wasm.ts';

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

function isParsedConfig(value: unknown): value is AirlockConfig {
  return typeof value === 'object' && value !== null && Object.isFrozen(value) && 'sandbox' in value;
}

/** `approvalRequiredFor` commands become ask rules of their own policy, checked beside the main one. */
function approvalGateFor(entries: readonly string[]): Policy | null {
  const commands = entries.filter((entry) => entry !== 'write_file');
  if (commands.length === 0) return null;
  try {
    return loadPolicy({
      origin: 'router.approvalRequiredFor',
      document: {
        default: 'allow',
        rules: commands.map((entry, index) => ({
          id: `approval-required-${index}`,
          match: entry,
          decision: 'ask',
          reason: `router.approvalRequiredFor lists "${entry}": a person approves it first.`,
        })),
      },
    });
  } catch (error) {
    if (!(error instanceof PolicyLoadError)) throw error;
    throw new AirlockError(
      'INVALID_CONFIG',
      `router.approvalRequiredFor: ${error.issues.map((issue) => issue.message).join('; ')}`,
      { key: 'router.approvalRequiredFor' },
    );
  }
}

export async function createAirlock(options: CreateAirlockOptions = {}): Promise<Airlock> {
  const config = isParsedConfig(options.config) ? options.config : parseConfigObject(options.config ?? {});
  const env = options.env ?? processEnvironment();
  const home = options.home ?? readAirlockEnvironment(env).home;
  const now = options.now ?? Date.now;
  const logger = options.logger ?? pino({ level: 'silent' });
  const metrics = options.metrics ?? createMetrics();

  const policy =
    options.policy ?? loadPolicy({ document: config.policy, origin: `preset:${config.policy.preset}` });
  const treeSitter = options.crossCheck === false ? undefined : await loadTreeSitterWasm();
  const engineOf = (source: Policy): Promise<PolicyEngine> =>
    createPolicyEngine(treeSitter === undefined ? { policy: source } : { policy: source, treeSitter });
  const policyEngine = await engineOf(policy);
  /** Engines of presets sessions chose instead of the configured policy, made on first use. */
  const presetEngines = new Map<PresetName, Promise<PolicyEngine>>();
  const presetEnginesReady = new Map<PresetName, PolicyEngine>();
  const preparePolicy = async (requested: PresetName | undefined): Promise<void> => {
    const preset = presetOf(requested);
    if (preset === undefined || presetEnginesReady.has(preset)) return;
    let pending = presetEngines.get(preset);
    if (pending === undefined) {
      pending = engineOf(loadPolicy({ preset }));
      presetEngines.set(preset, pending);
    }
    presetEnginesReady.set(preset, await pending);
  };
  const policyFor = (session: LiveSession): PolicyEngine =>
    session.settings.policy === null
      ? policyEngine
      : (presetEnginesReady.get(session.settings.policy) ?? policyEngine);
  const approvalGate = approvalGateFor(config.router.approvalRequiredFor);

  // Secret values from the host environment are read once, here; a listed variable that is unset is
  // no error (nothing to hide), but a value too short to redact safely is.
  const hostSecrets = config.router.secretEnv.flatMap((name) => {
    const value = env[name];
    return value === undefined || value === '' ? [] : [{ name, value }];
  });
  createRedactor({ secrets: hostSecrets });

  const store: Store = openStore(config.store ?? { kind: 'sqlite', path: join(home, 'airlock.db') }, {
    baseDir: options.cwd ?? process.cwd(),
  });
  const drivers = new Map<DriverName, Driver>();
  function driverFor(name: DriverName): Driver {
    let driver = drivers.get(name);
    if (driver === undefined) {
      driver = createDriver(name, {
        ...options.driverOptions,
        stateDir: home,
        // Swept once for every driver at start-up (below), not again at each driver's first sandbox.
        sweepOnFirstCreate: false,
        ...(config.sandbox.cgroupParent === undefined ? {} : { cgroupParent: config.sandbox.cgroupParent }),
        ...(config.sandbox.runtime === undefined ? {} : { runtime: config.sandbox.runtime }),
      });
      drivers.set(name, driver);
    }
    return driver;
  }

  const redactors = new WeakMap<LiveSession, Redactor>();
  const redactorFor = (session: LiveSession): Redactor => {
    let redactor = redactors.get(session);
    if (redactor === undefined) {
      redactor = createRedactor({ secrets: [...hostSecrets, ...session.secrets] });
      redactors.set(session, redactor);
    }
    return redactor;
  };

  let monitor: ResourceMonitor | null = null;
  let sessions: SessionManager | null = null;
  let approvals: Approvals | null = null;
  try {
    const snapshots = createSnapshotStore({ dir: join(home, 'snapshots'), now });
    monitor = createResourceMonitor({
      intervalMs: options.monitorIntervalMs ?? 5000,
      onAlert: (alert) => {
        metrics.resourceAlert(alert.resource);
        logger.warn(
          { sessionId: alert.sessionId, resource: alert.resource, fraction: alert.fraction },
          'resource alert',
        );
        void store
          .commit({
            events: [
              {
                type: 'resource.alert',
                sessionId: alert.sessionId,
                commandId: null,
                data: {
                  resource: alert.resource,
                  usage: alert.usage,
                  limit: alert.limit,
                  fraction: alert.fraction,
                },
              },
            ],
          })
          .catch((error: unknown) => logger.error({ err: error }, 'could not record a resource alert'));
      },
      onError: () => undefined,
    });
    const activeMonitor = monitor;
    const manager = createSessionManager({
      store,
      driverFor,
      snapshots,
      owner: currentOwner(),
      maxSessions: options.maxSessions ?? config.sessions.maxSessions,
      now,
      defaults: {
        driver: config.sandbox.driver,
        sandbox: {
          image: config.sandbox.image,
          memoryBytes: config.sandbox.memoryBytes,
          cpus: config.sandbox.cpus,
          pids: config.sandbox.pids,
          scratchBytes: config.sandbox.scratchBytes,
          env: { ...config.sandbox.env },
          timeoutMs: config.sandbox.timeoutMs,
        },
        idleTimeoutMs: config.sandbox.idleTimeoutMs,
        ttlMs: options.sessionTtlMs ?? config.sessions.lifetimeMs,
        maxTimeoutMs: config.sandbox.maxTimeoutMs ?? MAX_TIMEOUT_MS,
      },
      onCreated: (session, createMs) => {
        metrics.sessionCreated(session.settings.driver);
        metrics.sandboxCreateDuration(session.settings.driver, createMs);
        metrics.sessionsActive(manager.live().length);
        activeMonitor.watch(session.id, {
          stats: () => session.sandbox.stats(),
          cpus: session.settings.sandbox.cpus,
        });
        logger.info({ sessionId: session.id, driver: session.settings.driver }, 'session created');
      },
      onEnded: (session) => {
        activeMonitor.unwatch(session.id);
        metrics.sessionEnded(
          session.endCode === 'crashed' || session.endCode === null ? 'error' : session.endCode,
        );
        metrics.sessionsActive(manager.live().length);
        rateLimiter.forget(session.id);
        logger.info({ sessionId: session.id, reason: session.endCode }, 'session ended');
      },
    });
    sessions = manager;
    const rateLimiter = createRateLimiter({ rate: config.router.rateLimit, now });
    approvals = createApprovals({
      store,
      now,
      ...(options.approvalPollIntervalMs === undefined
        ? {}
        : { pollIntervalMs: options.approvalPollIntervalMs }),
    });
    const router: Router = createRouter({
      store,
      sessions: manager,
      approvals,
      policyFor,
      approvalGate,
      writeFileNeedsApproval: config.router.approvalRequiredFor.includes('write_file'),
      approvalTimeoutMs: config.router.approvalTimeoutMs,
      rateLimiter,
      maxChars: config.router.output.maxChars,
      redactorFor,
      metrics,
      logger,
      now,
    });

    // Every driver's leftovers, not only the configured driver's: a crashed control plane's
    // containers or gVisor sandboxes would otherwise wait for a later session of their own driver.
    const recovery = await manager.recover(async () => {
      const swept = await sweepLeftovers({
        stateDir: home,
        ...(config.sandbox.cgroupParent === undefined ? {} : { cgroupParent: config.sandbox.cgroupParent }),
        ...pick(options.driverOptions, ['dockerSocket', 'runscPath', 'helperPath']),
      });
      for (const entry of swept.drivers) {
        if ('skipped' in entry)
          logger.debug({ driver: entry.driver, reason: entry.skipped }, 'leftovers not swept');
      }
      return swept.removed;
    });
    await approvals.expireOverdue();
    // Outputs of sessions long over are only disk: the audit log keeps what happened.
    await store.pruneOutputs(
      new Date(now() - (options.outputRetentionMs ?? DEFAULT_OUTPUT_RETENTION_MS)).toISOString(),
    );

    let closing: Promise<void> | null = null;
    const activeApprovals = approvals;
    const close = (): Promise<void> => {
      closing ??= (async () => {
        activeMonitor.close();
        // Sessions first: ending them aborts their commands, including those waiting for a person,
        // which then record how they ended while the store is still open.
        await manager.close();
        await router.drain();
        activeApprovals.close();
        await Promise.allSettled([...drivers.values()].map((driver) => driver.close()));
        await store.close();
      })();
      return closing;
    };

    return {
      sessions: createSessionsView({
        manager,
        router,
        monitor: activeMonitor,
        redactorFor,
        policyFor,
        preparePolicy,
        checkSecrets: (secretEnv) => {
          createRedactor({
            secrets: [
              ...hostSecrets,
              ...Object.entries(secretEnv ?? {}).map(([name, value]) => ({ name, value })),
            ],
          });
        },
      }),
      commands: {
        get: (id) => router.getCommand(id),
        wait: (id, waitOptions) => router.waitCommand(id, waitOptions),
        kill: (id) => router.killCommand(id),
        watch: (id, watchOptions) => router.watchCommand(id, watchOptions),
        readOutput: (id, page) => router.readOutput(id, page),
      },
      approvals: {
        list: (query) => activeApprovals.list(query),
        get: (id) => activeApprovals.get(id),
        approve: (id, decideOptions) => activeApprovals.decide(id, 'approve', decideOptions),
        deny: (id, decideOptions) => activeApprovals.decide(id, 'deny', decideOptions),
        waitFor: (id, waitOptions) => activeApprovals.waitFor(id, waitOptions),
      },
      audit: createAuditView(store),
      snapshots: { list: snapshots.list, get: snapshots.get, remove: snapshots.remove },
      metrics,
      policy: policyEngine.policy,
      config,
      home,
      recovery,
      close,
    };
  } catch (error) {
    monitor?.close();
    approvals?.close();
    await sessions?.close();
    await Promise.allSettled([...drivers.values()].map((driver) => driver.close()));
    await store.close();
    throw error;
  }
}

/** The options among `keys` that are set, so absent ones stay absent (exactOptionalPropertyTypes). */
function pick<T extends object, K extends keyof T>(
  from: T | undefined,
  keys: readonly K[],
): Partial<Pick<T, K>> {
  const picked: Partial<Pick<T, K>> = {};
  for (const key of keys) {
    if (from?.[key] !== undefined) picked[key] = from[key];
  }
  return picked;
}
