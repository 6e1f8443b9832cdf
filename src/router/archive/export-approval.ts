/**
 * Protected paths on the way out, given back when a person agrees. A copy out that asks for it
 * (`protectedPaths: 'ask'`) holds the changed protected files it met (agent and editor configuration,
 * CI workflows, build scripts) instead of only leaving them out, and once the rest of the tree is
 * through, asks one approval for all of them through the same queue as every other request: approved,
 * they are added to the archive; denied or undecided, they stay out with the note and the reason.
 * Git hooks and repository config are never asked about: they run code on the host's next git command.
 */
import type { LiveSession } from '../../sessions/index.ts';
import { awaitDecision, newApprovalId, refusalReason, requestApproval } from '../approve/index.ts';
import type { ChangeApprovalDeps } from '../change-approval.ts';
import type { ExportJudge, OutgoingEntry } from './outgoing.ts';

/** Most bytes of protected files held for a person's answer: such files are small configuration. */
export const MAX_HELD_PROTECTED_BYTES = 16 * 1024 * 1024;
/** Paths named in the request a person sees; the rest are counted. */
const MAX_SHOWN_PATHS = 20;

export interface HeldEntry {
  readonly entry: OutgoingEntry;
  readonly why: string;
}

export interface ProtectedHolder {
  /** The judge to export with: what it holds back is also kept here, when it may be asked about. */
  readonly judge: ExportJudge;
  readonly held: readonly HeldEntry[];
}

/** Wraps `judge` so that a held-back protected file is kept to be asked about (within the budget). */
export function holdProtected(judge: ExportJudge): ProtectedHolder {
  const held: HeldEntry[] = [];
  let heldBytes = 0;
  return {
    held,
    judge(entry) {
      const why = judge(entry);
      if (why === null || entry.kind !== 'file') return why;
      if (/(^|\/)\.git\/(hooks\/|config$)/.test(entry.path)) return why;
      if (heldBytes + entry.content.length > MAX_HELD_PROTECTED_BYTES) return why;
      heldBytes += entry.content.length;
      // A copy: the content may be a view of a larger chunk of the sandbox's output, which holding it
      // for a person's answer must not keep alive (the budget counts content, not chunks).
      held.push({ entry: { ...entry, content: Buffer.from(entry.content) }, why });
      return why;
    },
  };
}

export type ExportVerdict =
  | { readonly approved: true; readonly approvalId: string }
  | { readonly approved: false; readonly approvalId: string; readonly reason: string };

/** One approval for every held protected file; the paths a person sees are redacted. */
export async function askToExport(
  deps: ChangeApprovalDeps,
  session: LiveSession,
  dir: string,
  held: readonly HeldEntry[],
  signal?: AbortSignal,
): Promise<ExportVerdict> {
  const redactor = deps.redactorFor(session);
  const shown = (text: string): string => redactor.redact(text).text;
  const paths = held.map((item) => shown(`${dir}/${item.entry.path}`));
  const more = paths.length > MAX_SHOWN_PATHS ? ` and ${paths.length - MAX_SHOWN_PATHS} more` : '';
  const approvalId = newApprovalId();
  const waitSignal = AbortSignal.any([session.ending.signal, ...(signal ? [signal] : [])]);
  await requestApproval(
    { approvals: deps.approvals, reviewer: deps.reviewer },
    {
      id: approvalId,
      sessionId: session.id,
      commandId: null,
      // A copy out writes these files on the host: asked as a write, like every file change.
      action: 'write_file',
      subject: `copy ${paths.length} protected ${paths.length === 1 ? 'file' : 'files'} out of the sandbox to the host: ${paths.slice(0, MAX_SHOWN_PATHS).join(', ')}${more}`,
      parsed: paths.slice(0, MAX_SHOWN_PATHS),
      reasons: held.slice(0, MAX_SHOWN_PATHS).map((item) => `${shown(item.entry.path)}: ${shown(item.why)}`),
      ruleIds: [],
      timeoutMs: deps.approvalTimeoutMs,
      capabilities: session.capabilities,
    },
    waitSignal,
  );
  const outcome = await awaitDecision(deps.approvals, approvalId, waitSignal, 'write');
  if (outcome.approved) return { approved: true, approvalId };
  return { approved: false, approvalId, reason: refusalReason(outcome, 'write', deps.approvalTimeoutMs) };
}

// Security limitations:
// - What a person approves is the list of paths and the policy's reasons, not the files' content; the
//   content is in the archive they receive, to review before they use it.
