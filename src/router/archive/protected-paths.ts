/**
 * The export check that holds back, on the way out of a session, what would change a protected path on
 * the host: agent/editor configuration, git hooks and repository config, CI workflows.
 */
import { evaluateFileAccess } from '../../policy/index.ts';
import type { loadPolicy } from '../../policy/index.ts';
import type { LiveSession } from '../../sessions/index.ts';
import type { ChangeApprovalDeps } from '../change-approval.ts';
import type { Baseline } from './baseline.ts';
import type { ExportJudge } from './outgoing.ts';
import { underWorkspace } from './workspace-path.ts';

export interface ProtectedPathDeps {
  readonly policyFor: ChangeApprovalDeps['policyFor'];
  /** The coding-agent preset's list, applied whatever policy the session runs under. */
  readonly protectedList: ReturnType<typeof loadPolicy>;
  /** What was copied in: a file exported unchanged from it is given back without a check. */
  readonly baselines: WeakMap<LiveSession, Baseline>;
}

/** Holds back what would change a protected path (agent/editor configuration, hooks, CI) on the way out. */
export function protectedPathJudge(deps: ProtectedPathDeps, session: LiveSession, root: string): ExportJudge {
  return (entry) => {
    if (entry.kind === 'directory') return null;
    const absolute = `${root}/${entry.path}`;
    const rel = underWorkspace(absolute);
    const before = rel === null ? undefined : deps.baselines.get(session)?.files.get(rel);
    if (before !== undefined && entry.kind === 'file' && before.sha256 === entry.sha256) return null;
    // Hooks and repository config (core.hooksPath, core.fsmonitor) run code on the host's next git command.
    if (rel !== null && (rel.startsWith('.git/hooks/') || rel === '.git/config')) {
      return 'git hooks and repository config run code on the host; copy it by hand after review';
    }
    // The session's policy, and the coding-agent list whatever the session runs under: a permissive
    // session may edit CI workflows freely inside, but the host gets them only after a person looked.
    const own = evaluateFileAccess(deps.policyFor(session).policy, 'write', absolute);
    const decision =
      own.decision === 'allow' ? evaluateFileAccess(deps.protectedList, 'write', absolute) : own;
    if (decision.decision === 'allow') return null;
    return `a protected path (the policy would ${decision.decision === 'ask' ? 'ask a person before' : 'refuse'} writing it: ${decision.reasons.join('; ')}); copy it by hand after review`;
  };
}
