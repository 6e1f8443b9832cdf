import type { Command } from 'commander';
import { AirlockError, isAirlockError } from '../errors/index.ts';
import type { ApprovalDecision } from '../router/index.ts';
import { grantScopes } from '../store/index.ts';
import type { GrantScope } from '../store/index.ts';
import { describeDecision, renderTable, shown } from './approvals-view.ts';
import { runWatch, watchHelp } from './approvals-watch.ts';
import type { WatchFlags } from './approvals-watch.ts';
import type { CliContext } from './context.ts';
import { cliDecider, controlPlaneOptions, unavailableHelp, withControlPlane } from './store-access.ts';
import type { AccessFlags, ControlPlaneAccess } from './store-access.ts';
import { terminalOf } from './terminal.ts';

/** Exit statuses of `airlock approvals …` (also in their --help). */
export const approvalsExitCodes = {
  ok: 0,
  notFound: 1,
  usage: 2,
  /** Already approved, denied or expired: the first decision stands. */
  closed: 3,
} as const;

const exitStatusHelp = `
Exit status: 0 done; ${approvalsExitCodes.notFound} no such approval request; ${approvalsExitCodes.closed} it was already decided or expired
(the first decision stands); ${approvalsExitCodes.usage} for a bad flag or config; ${unavailableHelp}.
`;

interface ListFlags extends AccessFlags {
  all?: boolean;
  session?: string;
  json?: boolean;
}

interface DecideFlags extends AccessFlags {
  reason?: string;
  remember?: boolean;
  scope?: string;
}

export function registerApprovalsCommand(program: Command, context: CliContext): void {
  const approvals = program
    .command('approvals')
    .description(
      'List and decide the commands waiting for a person: in the store a router shares, or (--url) on a running airlock serve.',
    );

  controlPlaneOptions(
    approvals
      .command('ls')
      .description('List pending approval requests (every request with --all).')
      .option('--all', 'include approved, denied and expired requests')
      .option('--session <id>', 'only requests of this session')
      .option('--json', 'one JSON object per line, the stored record'),
  )
    .addHelpText('after', exitStatusHelp)
    .action((flags: ListFlags) => withAccess(flags, context, (access) => list(access, flags, context)));

  const decideCommand = (decision: ApprovalDecision): Command => {
    const command = approvals
      .command(decision)
      .description(
        decision === 'approve'
          ? 'Approve a pending request: the waiting command runs.'
          : 'Deny a pending request: the command does not run and the model reads the reason.',
      )
      .argument('<id>', 'the approval id (apr_…), from airlock approvals ls')
      .option('--reason <text>', 'why; recorded in the audit log and shown to the model');
    if (decision === 'approve') {
      command
        .option('--remember', 'also approve this exact command for the rest of its session (--scope command)')
        .option(
          '--scope <scope>',
          'also approve for the rest of its session: command (this exact command), program (these ' +
            'programs) or host (these hosts), as the request offers (airlock approvals ls --json, or watch, shows them)',
        );
    }
    return controlPlaneOptions(command)
      .addHelpText('after', exitStatusHelp)
      .action((id: string, flags: DecideFlags) =>
        withAccess(flags, context, (access) => decide(access, id, decision, flags, context)),
      );
  };
  decideCommand('approve');
  decideCommand('deny');

  controlPlaneOptions(
    approvals
      .command('watch')
      .description('Show each new request as it arrives and, on a terminal, ask for a decision.')
      .option('--session <id>', 'only requests of this session')
      .option('--interactive', 'ask even when stdin is not a terminal, reading one answer per line')
      .option('--no-interactive', 'only print, even on a terminal'),
  )
    .addHelpText('after', watchHelp)
    .action((flags: WatchFlags) => withAccess(flags, context, (access) => runWatch(access, flags, context)));
}

/** A missing id or a request already closed is an exit status with one line saying what to do. */
function approvalFailure(context: CliContext) {
  return (error: unknown, access: ControlPlaneAccess): number => {
    if (!isAirlockError(error)) throw error;
    if (error.code === 'NOT_FOUND') {
      const where = access.hasState() ? access.location : `${access.location} (no store there yet)`;
      context.stderr.error(
        `${shown(error.message)} in ${where}: check the id with airlock approvals ls (or --config/--url for another control plane)`,
      );
      return approvalsExitCodes.notFound;
    }
    if (error.code === 'APPROVAL_CLOSED') {
      context.stderr.error(`${shown(error.message)}; that decision stands (see airlock approvals ls --all)`);
      return approvalsExitCodes.closed;
    }
    throw error;
  };
}

/** Opens the control plane for one approvals command and always closes it. */
function withAccess(
  flags: AccessFlags,
  context: CliContext,
  work: (access: ControlPlaneAccess) => Promise<number>,
): Promise<void> {
  return withControlPlane(flags, context, work, approvalFailure(context));
}

async function list(access: ControlPlaneAccess, flags: ListFlags, context: CliContext): Promise<number> {
  const records = await access.approvals.list({
    ...(flags.all ? {} : { status: 'pending' as const }),
    ...(flags.session === undefined ? {} : { sessionId: flags.session }),
  });
  if (flags.json) {
    for (const record of records) context.stdout.write(`${JSON.stringify(record)}\n`);
    return approvalsExitCodes.ok;
  }
  if (records.length === 0) {
    const what = flags.all ? 'no approval requests' : 'no pending approvals';
    const session = flags.session === undefined ? '' : ` in session ${shown(flags.session)}`;
    context.stdout.write(`${what}${session}\n`);
    return approvalsExitCodes.ok;
  }
  context.stdout.write(renderTable(records, Date.now(), flags.all === true, terminalOf(context.stdout)));
  return approvalsExitCodes.ok;
}

async function decide(
  access: ControlPlaneAccess,
  id: string,
  decision: ApprovalDecision,
  flags: DecideFlags,
  context: CliContext,
): Promise<number> {
  const scope = scopeOf(flags);
  const record = await access.approvals.decide(id, decision, {
    reason: flags.reason,
    ...(scope === undefined ? {} : { scope }),
    decidedBy: cliDecider(),
  });
  context.stdout.write(`${describeDecision(record)}\n`);
  return approvalsExitCodes.ok;
}

/** `--scope`, or `--remember` (this exact command); INVALID_ARGUMENT for another word. */
function scopeOf(flags: DecideFlags): GrantScope | undefined {
  if (flags.scope === undefined) return flags.remember === true ? 'command' : undefined;
  const scope = grantScopes.find((candidate) => candidate === flags.scope);
  if (scope === undefined) {
    throw new AirlockError('INVALID_ARGUMENT', `--scope must be one of ${grantScopes.join(', ')}`, {
      field: 'scope',
    });
  }
  return scope;
}
