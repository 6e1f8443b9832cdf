/**
 * What `airlock approvals`, `airlock audit` and `airlock sessions` need from a control plane, behind one
 * small interface. The local implementation opens the store file a running router shares (SQLite
 * serializes the two processes, and the router polls the store for decisions made here); the remote one
 * (remote-access.ts, chosen by `--url`) calls a running `airlock serve` over the HTTP API.
 *
 * The CLI never builds a whole control plane here: createAirlock would start drivers and run crash
 * recovery, which could end the sessions of the server this command is meant to serve.
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { resolveConfig, storeLocationFor } from '../config/index.ts';
import type { ResolvedConfig, StoreLocation } from '../config/index.ts';
import { AirlockError } from '../errors/index.ts';
import { createApprovals } from '../router/index.ts';
import type { ApprovalDecision, Approvals, DecideOptions } from '../router/index.ts';
import { createNodeTable, readClusterSecret, trustedClusterKeys } from '../cluster/index.ts';
import { CLUSTER_SECRET_FILE } from '../airlock/index.ts';
import { asPostgresStore, connectStore, exportAuditJsonl, resolveStorePath } from '../store/index.ts';
import type {
  ApprovalRecord,
  ApprovalStatus,
  AuditEvent,
  AuditExportQuery,
  AuditPublicKey,
  EventQuery,
  SessionState,
  Store,
} from '../store/index.ts';
import type { CliContext } from './context.ts';
import { verifyLocally } from './local-audit.ts';
import type { LocalAuditSettings, VerifyOutcome, VerifyRequest } from './local-audit.ts';
import { remoteAccess } from './remote-access.ts';
import { sessionSummaryOf } from './session-summary.ts';
import type { SessionSummary } from './session-summary.ts';
import { POLL_INTERVAL_MS } from './terminal.ts';

export interface ApprovalQuery {
  readonly status?: ApprovalStatus;
  readonly sessionId?: string;
}

export interface SessionQuery {
  readonly state?: SessionState;
  /** The newest this many, listed oldest first. */
  readonly limit: number;
}

/** What every call of a ControlPlaneAccess takes last. */
export interface AccessOptions {
  /**
   * Stops the call (Ctrl-C): it rejects with the signal's reason, and the caller, who owns the signal,
   * tells that from a failure by `signal.aborted`. A call that needs no waiting (a local read) may
   * finish anyway.
   */
  readonly signal?: AbortSignal;
}

export interface ControlPlaneAccess {
  /** Where the state is, for messages: the store file (a URL for a remote control plane). */
  readonly location: string;
  /** How often a watching command re-reads this control plane. */
  readonly pollIntervalMs: number;
  /** False while nothing was ever recorded there (the store file does not exist yet). */
  hasState(): boolean;
  /**
   * Whether a failure of this access may pass by itself, so a watching command may retry it: a server
   * restarting or stopping, a rate limit, a timeout, a connection that broke.
   */
  isTransient(error: unknown): boolean;
  readonly approvals: {
    list(query?: ApprovalQuery, options?: AccessOptions): Promise<ApprovalRecord[]>;
    /** Throws NOT_FOUND for an unknown id. */
    get(id: string, options?: AccessOptions): Promise<ApprovalRecord>;
    /** Throws NOT_FOUND, or APPROVAL_CLOSED when it was already decided or expired. */
    decide(
      id: string,
      decision: ApprovalDecision,
      decideOptions: DecideOptions,
      options?: AccessOptions,
    ): Promise<ApprovalRecord>;
  };
  readonly audit: {
    list(query: EventQuery, options?: AccessOptions): Promise<AuditEvent[]>;
    /** The chain, the signed checkpoints, the anchor and a witness (see local-audit.ts). */
    verify(request: VerifyRequest, options?: AccessOptions): Promise<VerifyOutcome>;
    /** Throws STORE_UNAVAILABLE when a remote export breaks off midway: what was written is incomplete. */
    exportJsonl(
      write: (line: string) => Promise<void>,
      query: AuditExportQuery,
      options?: AccessOptions,
    ): Promise<number>;
  };
  readonly sessions: {
    list(query: SessionQuery, options?: AccessOptions): Promise<SessionSummary[]>;
    /**
     * Ends the session and destroys its sandbox; ending an ended session is fine. Throws NOT_FOUND for
     * an unknown id, and INVALID_ARGUMENT locally: only the process running the sandbox can end it.
     */
    destroy(id: string, options?: AccessOptions): Promise<SessionSummary>;
  };
  close(): Promise<void>;
}

export interface AccessFlags {
  config?: string;
  url?: string;
}

/** Exit status 125, in the words of every command's --help. */
export const unavailableHelp =
  '125 when the store cannot be read, or the server (--url) cannot be reached or refuses the token';

/** The two flags that choose a control plane, with the same help on every command. */
export function controlPlaneOptions(command: Command): Command {
  return command
    .option(
      '--url <url>',
      'a running airlock serve to ask instead of the store, e.g. http://127.0.0.1:7400 ' +
        '(admin token: AIRLOCK_TOKEN, else $AIRLOCK_HOME/admin-token for a server on this machine)',
    )
    .option('--config <path>', 'airlock.yaml naming the store (default: ./airlock.yaml if present)');
}

/**
 * `--url`: the server at that URL. Otherwise the store found the way `airlock serve` (createAirlock)
 * finds it: airlock.yaml's `store:`, else AIRLOCK_HOME.
 */
export async function openControlPlaneAccess(
  flags: AccessFlags,
  context: CliContext,
): Promise<ControlPlaneAccess> {
  if (flags.url !== undefined) {
    if (flags.config !== undefined) {
      throw new AirlockError(
        'INVALID_ARGUMENT',
        '--url and --config name two different control planes: pass one of them',
        { field: '--config' },
      );
    }
    return remoteAccess(flags.url, context);
  }
  const resolved = await resolveConfig({ cwd: context.cwd, env: context.env, explicitPath: flags.config });
  const location = configuredStore(resolved);
  if (location.kind === 'sqlite' && location.path === ':memory:') {
    throw new AirlockError(
      'INVALID_CONFIG',
      'store: sqlite::memory: lives inside the process that made it; the CLI cannot reach it: use a file store',
      { key: 'store' },
    );
  }
  return localAccess(
    location,
    context.cwd,
    serverUrlOf(resolved.config.server),
    {
      home: resolved.environment.home,
      config: resolved.config.audit,
      storePath: resolveStorePath(location, context.cwd),
    },
    clusterKeysOf(resolved),
  );
}

/** With a `cluster:` section: every node's audit key the cluster secret vouches for, read from the store. */
function clusterKeysOf(resolved: ResolvedConfig): ((store: Store) => Promise<AuditPublicKey[]>) | undefined {
  const { cluster } = resolved.config;
  if (cluster === undefined) return undefined;
  return async (store) => {
    const postgres = asPostgresStore(store);
    if (postgres === null) return [];
    const secret = readClusterSecret(
      cluster.secretFile ?? join(resolved.environment.home, CLUSTER_SECRET_FILE),
    );
    return (await trustedClusterKeys(createNodeTable(postgres), secret)).keys;
  };
}

/** The store a configuration names: AIRLOCK_STORE, airlock.yaml's `store:`, else AIRLOCK_HOME/airlock.db. */
export function configuredStore(resolved: ResolvedConfig): StoreLocation {
  return storeLocationFor(resolved.config.store, resolved.environment);
}

/** The URL `airlock serve` prints under this configuration, for hints (a wildcard address via loopback). */
function serverUrlOf(server: { readonly host: string; readonly port: number }): string {
  const host = server.host === '0.0.0.0' ? '127.0.0.1' : server.host === '::' ? '::1' : server.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${server.port}`;
}

/**
 * The store is opened on first use, and only once its file exists: a read-only command pointed at a
 * state directory that has no store yet answers "nothing yet" instead of creating an empty database,
 * and a watching command picks the store up as soon as a router creates it.
 */
function localAccess(
  location: StoreLocation,
  cwd: string,
  serverUrl: string,
  audit: LocalAuditSettings,
  clusterKeys?: (store: Store) => Promise<AuditPublicKey[]>,
): ControlPlaneAccess {
  let opened: Promise<{ store: Store; approvals: Approvals }> | null = null;
  // Resolved the way connectStore resolves it, so the existence check looks at the same file.
  const path = audit.storePath;
  // A database server holds state whether or not this machine has a file for it.
  const hasState = (): boolean => location.kind === 'postgres' || existsSync(path);
  const current = async (): Promise<{ store: Store; approvals: Approvals } | null> => {
    if (opened === null && hasState()) {
      opened = connectStore(location, { baseDir: cwd }).then((store) => ({
        store,
        approvals: createApprovals({ store }),
      }));
      // A failed open is reported to this caller and tried again by the next one.
      opened.catch(() => {
        opened = null;
      });
    }
    return opened;
  };
  const notFound = (id: string): AirlockError =>
    new AirlockError('NOT_FOUND', `no approval request ${JSON.stringify(id)}`, { approvalId: id });

  return {
    location: path,
    pollIntervalMs: POLL_INTERVAL_MS,
    hasState,
    // A store file that cannot be read does not start working by waiting.
    isTransient: () => false,
    approvals: {
      list: async (query = {}) => (await (await current())?.approvals.list(query)) ?? [],
      get: async (id) => {
        const open = await current();
        if (open === null) throw notFound(id);
        return open.approvals.get(id);
      },
      decide: async (id, decision, options) => {
        const open = await current();
        if (open === null) throw notFound(id);
        return open.approvals.decide(id, decision, options);
      },
    },
    audit: {
      list: async (query) => (await (await current())?.store.listEvents(query)) ?? [],
      verify: async (request) => verifyLocally((await current())?.store ?? null, audit, request, clusterKeys),
      exportJsonl: async (write, query, options = {}) => {
        const open = await current();
        if (open === null) return 0;
        // A large log takes a while: the signal stops it between lines, whatever `write` does.
        return exportAuditJsonl(
          open.store,
          async (line) => {
            options.signal?.throwIfAborted();
            await write(line);
          },
          query,
        );
      },
    },
    sessions: {
      list: async (query) =>
        ((await (await current())?.store.listSessions(query)) ?? []).map(sessionSummaryOf),
      destroy: async (id) => {
        // The sandbox is a process tree of the server that created it; ending it from here would
        // leave that server holding a session the store calls ended.
        throw new AirlockError(
          'INVALID_ARGUMENT',
          `cannot end session ${JSON.stringify(id)} from the store: only the airlock serve running its ` +
            `sandbox can; pass the URL it printed, e.g. --url ${serverUrl}`,
          { sessionId: id, field: '--url' },
        );
      },
    },
    async close() {
      const open = await opened?.catch(() => null);
      opened = null;
      if (open === null || open === undefined) return;
      open.approvals.close();
      await open.store.close();
    },
  };
}

/** Who decided, for the audit log: the local account, which is who can open the store file. */
export function cliDecider(): string {
  try {
    const { username } = userInfo();
    if (username !== '') return `cli:${username}`;
  } catch {
    // No passwd entry for this uid (common in containers): the uid still names the account.
  }
  return `cli:${process.getuid?.() ?? 'unknown'}`;
}

/**
 * Opens the control plane for one command, sets the exit status the work returns, and always closes
 * it; `onError` may turn an expected failure (an unknown id) into a status, or rethrow.
 */
export async function withControlPlane(
  flags: AccessFlags,
  context: CliContext,
  work: (access: ControlPlaneAccess) => Promise<number>,
  onError?: (error: unknown, access: ControlPlaneAccess) => number,
): Promise<void> {
  const access = await openControlPlaneAccess(flags, context);
  try {
    context.setExitCode(await work(access));
  } catch (error) {
    if (onError === undefined) throw error;
    context.setExitCode(onError(error, access));
  } finally {
    await access.close();
  }
}
