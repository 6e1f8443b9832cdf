import type { Command } from 'commander';
import { AirlockError } from '../errors/index.ts';
import { formatAuditEvent, MAX_EVENT_LIMIT } from '../store/index.ts';
import type { AuditEvent } from '../store/index.ts';
import { registerAuditThreadCommands } from './audit-thread-command.ts';
import { registerAuditVerifyCommands } from './audit-verify-command.ts';
import type { CliContext } from './context.ts';
import { controlPlaneOptions, unavailableHelp, withControlPlane } from './store-access.ts';
import type { AccessFlags, AccessOptions, ControlPlaneAccess } from './store-access.ts';
import { interruptExitCodes, lineWriter, listenForInterrupts, sleep } from './terminal.ts';
import type { Interrupts } from './terminal.ts';

/** Exit statuses of `airlock audit …` (also in their --help; verify's are in audit-verify-command.ts). */
export const auditExitCodes = { ok: 0, usage: 2 } as const;

const commonStatusHelp = `2 for a bad flag or config; ${unavailableHelp};
130 on Ctrl-C; 141 when the reader of stdout went away (airlock audit export --jsonl | head).`;

interface TailFlags extends AccessFlags {
  lines: string;
  follow?: boolean;
  session?: string;
}

interface ExportFlags extends AccessFlags {
  jsonl?: boolean;
  session?: string;
  since?: string;
}

const DEFAULT_TAIL_LINES = 10;
/** Events read per page while tailing or following; memory holds at most one page and the tail. */
const PAGE_SIZE = 1000;

export function registerAuditCommand(program: Command, context: CliContext): void {
  const audit = program
    .command('audit')
    .description('Read and check the tamper-evident audit log (every command, decision and result).');

  controlPlaneOptions(
    audit
      .command('tail')
      .description('Print the newest audit events, one line each; --follow keeps printing new ones.')
      .option(
        '-n, --lines <n>',
        `how many of the newest events (0 to ${MAX_EVENT_LIMIT})`,
        String(DEFAULT_TAIL_LINES),
      )
      .option('-f, --follow', 'keep printing events as they are recorded, until Ctrl-C')
      .option('--session <id>', 'only events of this session'),
  )
    .addHelpText('after', `\nExit status: 0 done; ${commonStatusHelp}\n`)
    .action((flags: TailFlags) => withControlPlane(flags, context, (access) => tail(access, flags, context)));

  controlPlaneOptions(
    audit
      .command('export')
      .description(
        'Write every event as one JSON line (seq, at, type, ids, data, prevHash, hash), oldest first.',
      )
      .option('--jsonl', 'JSON lines (the only format, and the default)')
      .option('--session <id>', 'only events of this session')
      .option('--since <seq>', 'only events after this seq: pass the last seq an earlier export ended with'),
  )
    .addHelpText(
      'after',
      `
The lines carry the hashes, so an export can be checked again away from the store.
Exit status: 0 done; ${commonStatusHelp}
125 also when the server (--url) broke the export off midway: the lines printed are incomplete.
`,
    )
    .action((flags: ExportFlags) =>
      withControlPlane(flags, context, (access) => exportJsonl(access, flags, context)),
    );

  registerAuditVerifyCommands(audit, context);
  registerAuditThreadCommands(audit, context);
}

function parseWholeNumber(flag: string, value: string, max: number): number {
  const number = /^\d{1,16}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(number) || number > max) {
    throw new AirlockError(
      'INVALID_ARGUMENT',
      `${flag} ${JSON.stringify(value)} is not a whole number from 0 to ${max}`,
      { field: flag, value },
    );
  }
  return number;
}

async function tail(access: ControlPlaneAccess, flags: TailFlags, context: CliContext): Promise<number> {
  const count = parseWholeNumber('--lines', flags.lines, MAX_EVENT_LIMIT);
  const session = flags.session === undefined ? {} : { sessionId: flags.session };
  const interrupts = listenForInterrupts(context);
  const options = { signal: interrupts.signal };
  const write = lineWriter(context.stdout, interrupts.signal);
  try {
    const head = await lastSeq(access, options);
    for (const event of await newest(access, count, head, session.sessionId, options)) {
      if (!(await write(`${formatAuditEvent(event)}\n`))) return stopped(interrupts);
    }
    if (!flags.follow) return auditExitCodes.ok;
    let cursor = head;
    while (!interrupts.signal.aborted) {
      const page = await access.audit.list({ ...session, afterSeq: cursor, limit: PAGE_SIZE }, options);
      for (const event of page) {
        if (!(await write(`${formatAuditEvent(event)}\n`))) return stopped(interrupts);
        cursor = event.seq;
      }
      if (page.length < PAGE_SIZE) await sleep(access.pollIntervalMs, interrupts.signal);
    }
    return stopped(interrupts);
  } catch (error) {
    // A read stopped by Ctrl-C (or by stdout closing) ends the command as the interruption it is.
    if (interrupts.signal.aborted) return stopped(interrupts);
    throw error;
  } finally {
    interrupts.dispose();
  }
}

function stopped(interrupts: Interrupts): number {
  return interruptExitCodes[interrupts.reason() ?? 'signal'];
}

/**
 * The highest seq in the log, found with O(log n) indexed reads instead of a scan: the port reads
 * forwards only (`afterSeq`), so this searches for the last point after which an event still exists.
 */
async function lastSeq(access: ControlPlaneAccess, options: AccessOptions): Promise<number> {
  const next = async (afterSeq: number): Promise<number | null> =>
    (await access.audit.list({ afterSeq, limit: 1 }, options))[0]?.seq ?? null;
  let found = await next(0);
  if (found === null) return 0;
  // Invariant: an event exists after `low`, none after `high`.
  let low = 0;
  let high = Math.max(1, found);
  while ((await next(high)) !== null) {
    low = high;
    high *= 2;
  }
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if ((await next(middle)) === null) high = middle;
    else low = middle;
  }
  found = await next(low);
  return found ?? low;
}

/**
 * The newest `count` events up to `head`. Without a session filter seq has no gaps, so one read does;
 * with one, windows ending at the head grow until they hold enough of the session's events, keeping
 * only the last `count` in memory.
 */
async function newest(
  access: ControlPlaneAccess,
  count: number,
  head: number,
  sessionId: string | undefined,
  options: AccessOptions,
): Promise<AuditEvent[]> {
  if (count === 0 || head === 0) return [];
  let window = count;
  for (;;) {
    const from = Math.max(0, head - window);
    const kept: AuditEvent[] = [];
    let afterSeq = from;
    for (;;) {
      const page = await access.audit.list(
        { afterSeq, limit: PAGE_SIZE, ...(sessionId === undefined ? {} : { sessionId }) },
        options,
      );
      for (const event of page) {
        if (event.seq > head) break;
        kept.push(event);
        // Trimmed in batches: shifting one at a time would copy the array on every event.
        if (kept.length >= 2 * count) kept.splice(0, kept.length - count);
      }
      const last = page.at(-1);
      if (last === undefined || page.length < PAGE_SIZE || last.seq >= head) break;
      afterSeq = last.seq;
    }
    if (kept.length >= count || from === 0) return kept.slice(-count);
    window *= 4;
  }
}

async function exportJsonl(
  access: ControlPlaneAccess,
  flags: ExportFlags,
  context: CliContext,
): Promise<number> {
  const afterSeq =
    flags.since === undefined ? 0 : parseWholeNumber('--since', flags.since, Number.MAX_SAFE_INTEGER);
  const interrupts = listenForInterrupts(context);
  const write = lineWriter(context.stdout, interrupts.signal);
  try {
    await access.audit.exportJsonl(
      async (line) => {
        // Stops the export between lines; caught below as the interruption it is.
        if (!(await write(`${line}\n`))) interrupts.signal.throwIfAborted();
      },
      { afterSeq, ...(flags.session === undefined ? {} : { sessionId: flags.session }) },
      { signal: interrupts.signal },
    );
    return interrupts.signal.aborted ? stopped(interrupts) : auditExitCodes.ok;
  } catch (error) {
    if (interrupts.signal.aborted) return stopped(interrupts);
    throw error;
  } finally {
    interrupts.dispose();
  }
}
