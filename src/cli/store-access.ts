/**
 * What `airlock approvals` and `airlock audit` need from a control plane, behind one small interface.
 * The local implementation opens the store file a running router shares (SQLite serializes the two
 * processes, and the router polls the store for decisions made here); a remote implementation over the
 * HTTP API (`--url`) can implement the same interface without the commands changing.
 *
 * The CLI never builds a whole control plane here: createAirlock would start drivers and run crash
 * recovery, which could end the sessions of the server this command is meant to serve.
 */
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { resolveConfig } from '../config/index.ts';
import type { StoreLocation } from '../config/index.ts';
import { AirlockError } from '../errors/index.ts';
import { createApprovals } from '../router/index.ts';
import type { ApprovalDecision, Approvals, DecideOptions } from '../router/index.ts';
import { exportAuditJsonl, openStore } from '../store/index.ts';
import type {
  ApprovalRecord,
  ApprovalStatus,
  AuditEvent,
  AuditExportQuery,
  EventQuery,
  Store,
  VerifyResult,
} from '../store/index.ts';
import type { CliContext } from './context.ts';

export interface ApprovalQuery {
  readonly status?: ApprovalStatus;
  readonly sessionId?: string;
}

export interface ControlPlaneAccess {
  /** Where the state is, for messages: the store file (a URL for a remote control plane). */
  readonly location: string;
  /** False while nothing was ever recorded there (the store file does not exist yet). */
  hasState(): boolean;
  readonly approvals: {
    list(query?: ApprovalQuery): Promise<ApprovalRecord[]>;
    /** Throws NOT_FOUND for an unknown id. */
    get(id: string): Promise<ApprovalRecord>;
    /** Throws NOT_FOUND, or APPROVAL_CLOSED when it was already decided or expired. */
    decide(id: string, decision: ApprovalDecision, options: DecideOptions): Promise<ApprovalRecord>;
  };
  readonly audit: {
    list(query: EventQuery): Promise<AuditEvent[]>;
    verify(): Promise<VerifyResult>;
    exportJsonl(write: (line: string) => Promise<void>, query: AuditExportQuery): Promise<number>;
  };
  close(): Promise<void>;
}

export interface AccessFlags {
  config?: string;
}

/** Finds the store the way `airlock serve` (createAirlock) does: airlock.yaml's `store:`, else AIRLOCK_HOME. */
export async function openControlPlaneAccess(
  flags: AccessFlags,
  context: CliContext,
): Promise<ControlPlaneAccess> {
  const resolved = await resolveConfig({ cwd: context.cwd, env: context.env, explicitPath: flags.config });
  const location: StoreLocation = resolved.config.store ?? {
    kind: 'sqlite',
    path: join(resolved.environment.home, 'airlock.db'),
  };
  if (location.path === ':memory:') {
    throw new AirlockError(
      'INVALID_CONFIG',
      'store: sqlite::memory: lives inside the process that made it; the CLI cannot reach it: use a file store',
      { key: 'store' },
    );
  }
  return localAccess(location, context.cwd);
}

/**
 * The store is opened on first use, and only once its file exists: a read-only command pointed at a
 * state directory that has no store yet answers "nothing yet" instead of creating an empty database,
 * and a watching command picks the store up as soon as a router creates it.
 */
function localAccess(location: StoreLocation, cwd: string): ControlPlaneAccess {
  let opened: { store: Store; approvals: Approvals } | null = null;
  // Resolved the way openStore resolves it, so the existence check looks at the same file.
  const path = isAbsolute(location.path) ? location.path : resolve(cwd, location.path);
  const current = (): { store: Store; approvals: Approvals } | null => {
    if (opened === null && existsSync(path)) {
      const store = openStore(location, { baseDir: cwd });
      opened = { store, approvals: createApprovals({ store }) };
    }
    return opened;
  };
  const notFound = (id: string): AirlockError =>
    new AirlockError('NOT_FOUND', `no approval request ${JSON.stringify(id)}`, { approvalId: id });

  return {
    location: path,
    hasState: () => current() !== null,
    approvals: {
      list: async (query = {}) => (await current()?.approvals.list(query)) ?? [],
      get: async (id) => {
        const open = current();
        if (open === null) throw notFound(id);
        return open.approvals.get(id);
      },
      decide: async (id, decision, options) => {
        const open = current();
        if (open === null) throw notFound(id);
        return open.approvals.decide(id, decision, options);
      },
    },
    audit: {
      list: async (query) => (await current()?.store.listEvents(query)) ?? [],
      verify: async () => {
        const open = current();
        return open === null ? { ok: true, checked: 0, lastHash: '' } : open.store.verify();
      },
      exportJsonl: async (write, query) => {
        const open = current();
        return open === null ? 0 : exportAuditJsonl(open.store, write, query);
      },
    },
    async close() {
      if (opened === null) return;
      opened.approvals.close();
      await opened.store.close();
      opened = null;
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
