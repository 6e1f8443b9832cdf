import type { Command } from 'commander';
import { Option } from 'commander';
import { isAirlockError } from '../errors/index.ts';
import type { SessionState } from '../store/index.ts';
import { shown } from './approvals-view.ts';
import type { CliContext } from './context.ts';
import { controlPlaneOptions, unavailableHelp, withControlPlane } from './store-access.ts';
import type { SessionSummary } from './session-summary.ts';
import type { AccessFlags, ControlPlaneAccess } from './store-access.ts';
import { shortDuration } from './terminal.ts';
import { textTable } from './text-table.ts';

/** Exit statuses of `airlock sessions …` (also in their --help). */
export const sessionsExitCodes = {
  ok: 0,
  /** `rm`: at least one id named no session (the others were still ended). */
  notFound: 1,
  /** A bad flag, or `rm` without --url. */
  usage: 2,
} as const;

/**
 * Sessions `ls` shows: the newest this many. The API answers at most this many by default, so the list
 * is the same locally and over --url.
 */
export const SESSION_LIST_LIMIT = 100;

interface ListFlags extends AccessFlags {
  state?: SessionState;
  json?: boolean;
}

export function registerSessionsCommand(program: Command, context: CliContext): void {
  const sessions = program
    .command('sessions')
    .description('List sessions and end them (each session is one sandbox run by airlock serve).');

  controlPlaneOptions(
    sessions
      .command('ls')
      .description(`List the newest ${SESSION_LIST_LIMIT} sessions, oldest first.`)
      .addOption(
        new Option('--state <state>', 'only active (running) or ended sessions').choices(['active', 'ended']),
      )
      .option(
        '--json',
        'one JSON object per line: id, state, driver, createdAt, lastActiveAt, expiresAt, endedAt, endReason',
      ),
  )
    .addHelpText(
      'after',
      `
Without --url the store is read: a session of a server that crashed shows as active until that
server starts again and ends it.
Exit status: 0 done; 2 for a bad flag or config; ${unavailableHelp}.
`,
    )
    .action((flags: ListFlags) => withControlPlane(flags, context, (access) => list(access, flags, context)));

  sessions
    .command('rm')
    .description('End sessions: kill their commands and destroy their sandboxes (needs --url).')
    .argument('<id...>', 'session ids (ses_…), from airlock sessions ls')
    .option(
      '--url <url>',
      'the airlock serve running the sessions, e.g. http://127.0.0.1:7400 ' +
        '(admin token: AIRLOCK_TOKEN, else $AIRLOCK_HOME/admin-token for a server on this machine)',
    )
    .addHelpText(
      'after',
      `
A sandbox is a process tree of the airlock serve that created it, so only that server can end it:
pass the URL it printed. Ending a session that already ended is fine.
Exit status: 0 every session ended; ${sessionsExitCodes.notFound} some id named no session (the others were ended);
${sessionsExitCodes.usage} without --url or for a bad flag; ${unavailableHelp}.
`,
    )
    .action((ids: string[], flags: AccessFlags) =>
      withControlPlane(flags, context, (access) => remove(access, ids, context)),
    );
}

async function list(access: ControlPlaneAccess, flags: ListFlags, context: CliContext): Promise<number> {
  const records = await access.sessions.list({
    limit: SESSION_LIST_LIMIT,
    ...(flags.state === undefined ? {} : { state: flags.state }),
  });
  if (records.length >= SESSION_LIST_LIMIT) {
    context.stderr.warn(`showing the newest ${SESSION_LIST_LIMIT} sessions; --state narrows the list`);
  }
  if (flags.json) {
    for (const record of records) context.stdout.write(`${JSON.stringify(record)}\n`);
    return sessionsExitCodes.ok;
  }
  if (records.length === 0) {
    context.stdout.write(`no ${flags.state === undefined ? '' : `${flags.state} `}sessions\n`);
    return sessionsExitCodes.ok;
  }
  context.stdout.write(renderSessions(records, Date.now()));
  return sessionsExitCodes.ok;
}

/** A table for people: times as ages, since "4m ago" is what a person compares. */
export function renderSessions(records: readonly SessionSummary[], nowMs: number): string {
  const ago = (at: string): string => `${shortDuration(nowMs - Date.parse(at))} ago`;
  const header = ['ID', 'STATE', 'DRIVER', 'CREATED', 'LAST ACTIVE', 'END REASON'];
  const rows = records.map((record) => [
    shown(record.id),
    record.state,
    shown(record.driver),
    ago(record.createdAt),
    ago(record.lastActiveAt),
    record.endReason === null ? '-' : shown(record.endReason),
  ]);
  return textTable([header, ...rows]);
}

async function remove(
  access: ControlPlaneAccess,
  ids: readonly string[],
  context: CliContext,
): Promise<number> {
  let status: number = sessionsExitCodes.ok;
  for (const id of ids) {
    try {
      const ended = await access.sessions.destroy(id);
      const reason = ended.endReason === null ? '' : ` (${shown(ended.endReason)})`;
      context.stdout.write(`ended ${shown(ended.id)}${reason}\n`);
    } catch (error) {
      // One wrong id does not keep the others running; anything else (no --url, no server) stops here.
      if (!isAirlockError(error) || error.code !== 'NOT_FOUND') throw error;
      context.stderr.error(
        `${shown(error.message)} at ${access.location}: check the id with airlock sessions ls`,
      );
      status = sessionsExitCodes.notFound;
    }
  }
  return status;
}
