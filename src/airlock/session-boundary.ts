/**
 * What will ask in a session, for the model to read before it acts: the network it may reach, the
 * secrets it was given, what `router.approvalRequiredFor` lists, who reviews requests and how long a
 * call waits, and what a person already granted for the rest of the session.
 */
import type { RouterConfig } from '../config/index.ts';
import type { LiveSession } from '../sessions/index.ts';

export interface SessionBoundary {
  readonly network: { readonly mode: 'none' | 'allowlist' | 'ask'; readonly allow: readonly string[] };
  /** Names of secret variables and paths of secret files the session holds: reading them asks. */
  readonly secrets: { readonly envNames: readonly string[]; readonly files: readonly string[] };
  /** Commands' HOME (outside /workspace). */
  readonly home: string;
  readonly approvalRequiredFor: readonly string[];
  /** `router.reviewer`'s name, asked before a person; null when there is none. */
  readonly reviewer: string | null;
  /** How long a call waits for a person before answering `pending_approval`. */
  readonly approvalWaitMs: number;
  /** Undecided by then means denied. */
  readonly approvalTimeoutMs: number;
  /** What a person approved for the rest of this session. */
  readonly granted: {
    readonly commands: number;
    readonly programs: readonly string[];
    readonly hosts: readonly string[];
  };
}

export function boundaryOf(session: LiveSession, router: RouterConfig): SessionBoundary {
  const { capabilities } = session;
  return {
    network: { mode: capabilities.network.mode, allow: [...capabilities.network.allow] },
    secrets: { envNames: [...capabilities.secrets.envNames], files: [...capabilities.secrets.files] },
    home: capabilities.home,
    approvalRequiredFor: [...router.approvalRequiredFor],
    reviewer: router.reviewer?.name ?? null,
    approvalWaitMs: router.approvalWaitMs,
    approvalTimeoutMs: router.approvalTimeoutMs,
    granted: {
      commands: [...session.remembered].filter((key) => !key.startsWith('write_file ')).length,
      programs: [...session.grantedPrograms],
      hosts: [...session.grantedHosts],
    },
  };
}
