/**
 * `airlock approvals watch`: a person at a terminal sees each new request in full and answers it, or a
 * feed (stdin not a terminal) prints requests and what became of them. It polls the control plane, so
 * it answers requests of any router sharing the store file, or of the server `--url` names.
 */
import { isAirlockError } from '../errors/index.ts';
import type { ApprovalDecision } from '../router/index.ts';
import type { ApprovalRecord, GrantScope } from '../store/index.ts';
import { describeDecision, renderRequest, shown } from './approvals-view.ts';
import type { CliContext } from './context.ts';
import { cliDecider, unavailableHelp } from './store-access.ts';
import type { AccessFlags, ControlPlaneAccess } from './store-access.ts';
import {
  interruptExitCodes,
  lineWriter,
  listenForInterrupts,
  paintFor,
  readLines,
  shortDuration,
  sleep,
  terminalOf,
} from './terminal.ts';
import type { LineReader, Paint } from './terminal.ts';

export interface WatchFlags extends AccessFlags {
  session?: string;
  /** Ask even when stdin is not a terminal (answers from a pipe); false never asks. Default: stdin is a TTY. */
  interactive?: boolean;
}

export const watchHelp = `
On a terminal, each new request is shown in full, with what it could be approved for the rest of
its session instead of once, and answered with:
  y  approve        r  approve, and this exact command for the rest of its session
  n  deny           p  approve, and this program for the rest of its session
  s  skip           h  approve, and these hosts for the rest of its session
  n <reason>  deny, telling the model why       (r, p and h only where the request offers them)
Skipping leaves the request for another decider.
Lines typed before a request is shown are discarded, so nothing is approved unseen.
When stdin is not a terminal, watch only prints (a feed of requests and their outcomes);
--interactive asks anyway and reads one answer per line from stdin, in order, and the watch
ends once stdin has ended and every answer was used.

A server that restarts, stops, rate-limits or times out is asked again a few times (for about
half a minute) before the watch gives up.

Exit status: 0 when the answers on stdin ran out; 130 on Ctrl-C; 141 when stdout was closed;
2 for a bad flag or config; ${unavailableHelp}.
`;

/** The question, with the grants this request offers. */
function promptFor(record: ApprovalRecord): string {
  const offered = new Set(record.grants.map((grant) => grant.scope));
  const remember = [
    offered.has('command') ? '[r]emember command' : null,
    offered.has('program') ? '[p]rogram' : null,
    offered.has('host') ? '[h]ost' : null,
  ].filter((part) => part !== null);
  return `approve? [y]es / [n]o [reason] / ${remember.length === 0 ? '' : `${remember.join(' / ')} / `}[s]kip: `;
}

type Outcome = 'answered' | 'skipped' | 'closed' | 'end-of-input' | 'interrupted';

/**
 * Pauses before asking again after a failure that may pass by itself (the server restarting, a rate
 * limit, a timeout): five tries in about half a minute, then the failure ends the watch. Bounded, so
 * a server that is gone for good is reported rather than waited for in silence.
 */
const RETRY_DELAYS_MS = [1000, 2000, 4000, 8000, 16_000] as const;
/** A server's own "retry after" is followed, but never for longer than this. */
const MAX_RETRY_DELAY_MS = 60_000;

export async function runWatch(
  access: ControlPlaneAccess,
  flags: WatchFlags,
  context: CliContext,
): Promise<number> {
  const stdinIsTerminal = terminalOf(context.stdin).isTTY;
  const interactive = flags.interactive ?? stdinIsTerminal;
  const paint = paintFor(context.stdout, context.env);
  const interrupts = listenForInterrupts(context);
  const write = lineWriter(context.stdout, interrupts.signal);
  const reader = interactive ? readLines(context.stdin) : null;
  const session = flags.session === undefined ? {} : { sessionId: flags.session };
  /** Every request shown (or skipped because it was overdue when first seen): never shown twice. */
  const seen = new Set<string>();
  /** Shown and not decided here: their outcome is reported when someone else decides them. */
  const open = new Map<string, ApprovalRecord>();
  const signal = interrupts.signal;
  const ask: Asker = {
    access,
    reader,
    write,
    paint,
    stdinIsTerminal,
    signal,
    read: (work) => retrying(work, access, signal, (message) => context.stderr.warn(message)),
    interruptedBySignal: () => interrupts.reason() === 'signal',
    endLine: () => void context.stdout.write('\n'),
  };

  context.stderr.write(
    `watching ${access.location}${access.hasState() ? '' : ' (no store yet)'} for approval requests` +
      `${interactive ? '' : ' (a feed: not asking)'}; Ctrl-C stops\n`,
  );
  try {
    while (!signal.aborted) {
      const pending = await ask.read(() =>
        access.approvals.list({ status: 'pending', ...session }, { signal }),
      );
      if (!(await reportOutcomes(open, pending, ask))) break;
      for (const record of pending) {
        if (seen.has(record.id)) continue;
        seen.add(record.id);
        // Answering earlier requests may have taken a while: someone else may have decided this one.
        const current =
          reader === null ? record : await ask.read(() => access.approvals.get(record.id, { signal }));
        // Already past its deadline (its router is gone or about to expire it): nothing to decide.
        if (current.status !== 'pending' || Date.parse(current.expiresAt) <= Date.now()) continue;
        if (!(await write(renderRequest(current, Date.now(), paint)))) break;
        if (reader === null) {
          open.set(record.id, record);
          continue;
        }
        const outcome = await askFor(current, ask);
        if (outcome === 'skipped') open.set(current.id, current);
        if (outcome === 'end-of-input') return 0;
        if (outcome === 'interrupted') break;
      }
      if (reader?.exhausted()) return 0;
      await sleep(access.pollIntervalMs, signal);
    }
    return interruptExitCodes[interrupts.reason() ?? 'signal'];
  } catch (error) {
    // A request stopped by Ctrl-C (or by stdout closing) ends the watch as the interruption it is.
    if (signal.aborted) return interruptExitCodes[interrupts.reason() ?? 'signal'];
    throw error;
  } finally {
    reader?.close();
    interrupts.dispose();
  }
}

interface Asker {
  readonly access: ControlPlaneAccess;
  readonly reader: LineReader | null;
  readonly write: (text: string) => Promise<boolean>;
  readonly paint: Paint;
  readonly stdinIsTerminal: boolean;
  /** Aborted on Ctrl-C or when stdout closed; goes with every request. */
  readonly signal: AbortSignal;
  /** Runs a read of the control plane, trying again while it fails in a way that may pass. */
  read<T>(work: () => Promise<T>): Promise<T>;
  interruptedBySignal(): boolean;
  /** Writes a newline whether or not output was stopped. */
  endLine(): void;
}

/** Prints what became of requests shown earlier that are no longer pending; false once output stopped. */
async function reportOutcomes(
  open: Map<string, ApprovalRecord>,
  pending: readonly ApprovalRecord[],
  ask: Asker,
): Promise<boolean> {
  const stillPending = new Map(pending.map((record) => [record.id, record]));
  for (const [id, shownRecord] of open) {
    const current = stillPending.get(id);
    if (current !== undefined) {
      if (Date.parse(current.expiresAt) > Date.now()) continue;
      open.delete(id);
      const line = `${id} passed its deadline undecided: it counts as denied (${shown(shownRecord.subject)})\n`;
      if (!(await ask.write(ask.paint.red(line)))) return false;
      continue;
    }
    open.delete(id);
    const decided = await ask.access.approvals.get(id, { signal: ask.signal }).catch(() => null);
    if (decided !== null && !(await ask.write(outcomeLine(decided, ask.paint)))) return false;
  }
  return true;
}

function outcomeLine(record: ApprovalRecord, paint: Paint): string {
  const line = describeDecision(record);
  return `${record.status === 'approved' ? paint.green(line) : paint.red(line)}\n`;
}

async function askFor(record: ApprovalRecord, ask: Asker): Promise<Outcome> {
  const { reader, write } = ask;
  if (reader === null) return 'skipped';
  // On a terminal, a line typed before this request was on screen must not answer it.
  if (ask.stdinIsTerminal) reader.discardBuffered();
  for (;;) {
    if (!(await write(ask.paint.bold(promptFor(record))))) return 'interrupted';
    const answer = await answerOrClosed(record, reader, ask);
    if (answer.kind === 'closed') {
      await write(`\n${outcomeLine(answer.record, ask.paint)}`);
      return 'closed';
    }
    if (answer.line === null) {
      // Ends the prompt's line even after Ctrl-C, so the shell's prompt does not follow ours.
      if (!ask.signal.aborted || ask.interruptedBySignal()) ask.endLine();
      return ask.signal.aborted ? 'interrupted' : 'end-of-input';
    }
    // A terminal echoes what was typed; a pipe does not, so the transcript shows the answer itself.
    if (!ask.stdinIsTerminal) await write(`${shown(answer.line)}\n`);
    const choice = parseAnswer(answer.line);
    // A grant the request does not offer (p for a command with no program…) is asked again.
    const unoffered =
      choice?.kind === 'decide' &&
      choice.scope !== undefined &&
      !record.grants.some((grant) => grant.scope === choice.scope);
    if (choice === null || unoffered) {
      await write('answer y, n, n <reason>, r or s\n');
      continue;
    }
    if (choice.kind === 'skip') return 'skipped';
    try {
      // Not retried: a decision that reached the server before the failure would be sent twice.
      const decided = await ask.access.approvals.decide(
        record.id,
        choice.decision,
        { reason: choice.reason, scope: choice.scope, decidedBy: cliDecider() },
        { signal: ask.signal },
      );
      await write(outcomeLine(decided, ask.paint));
    } catch (error) {
      if (!isAirlockError(error) || (error.code !== 'APPROVAL_CLOSED' && error.code !== 'NOT_FOUND')) {
        throw error;
      }
      await write(ask.paint.red(`${shown(error.message)}; that decision stands\n`));
    }
    return 'answered';
  }
}

type Answer =
  | { readonly kind: 'skip' }
  | {
      readonly kind: 'decide';
      readonly decision: ApprovalDecision;
      /** Approved for the rest of the session: which of the request's grants. */
      readonly scope: GrantScope | undefined;
      readonly reason: string | undefined;
    };

function approveFor(scope: GrantScope | undefined): Answer {
  return { kind: 'decide', decision: 'approve', scope, reason: undefined };
}

export function parseAnswer(line: string): Answer | null {
  const trimmed = line.trim();
  const [word = '', ...rest] = trimmed.split(/\s+/);
  const reasonText = trimmed.slice(word.length).trim();
  switch (word.toLowerCase()) {
    case 'y':
    case 'yes':
      return rest.length === 0 ? approveFor(undefined) : null;
    case 'r':
    case 'remember':
      return rest.length === 0 ? approveFor('command') : null;
    case 'p':
    case 'program':
      return rest.length === 0 ? approveFor('program') : null;
    case 'h':
    case 'host':
      return rest.length === 0 ? approveFor('host') : null;
    case 'n':
    case 'no':
      return {
        kind: 'decide',
        decision: 'deny',
        scope: undefined,
        reason: reasonText === '' ? undefined : reasonText,
      };
    case 's':
    case 'skip':
      return rest.length === 0 ? { kind: 'skip' } : null;
    default:
      return null;
  }
}

/**
 * Waits for a line while re-reading the request: when someone else decides it (or it expires) the
 * prompt is abandoned, and the next line typed belongs to the next request.
 */
async function answerOrClosed(
  record: ApprovalRecord,
  reader: LineReader,
  ask: Asker,
): Promise<{ kind: 'line'; line: string | null } | { kind: 'closed'; record: ApprovalRecord }> {
  const done = new AbortController();
  const signal = AbortSignal.any([ask.signal, done.signal]);
  const line = reader.next(signal).then((text) => ({ kind: 'line' as const, line: text }));
  try {
    for (;;) {
      const tick = sleep(ask.access.pollIntervalMs, signal).then(() => ({ kind: 'tick' as const }));
      const first = await Promise.race([line, tick]);
      if (first.kind === 'line') return first;
      if (ask.signal.aborted) return { kind: 'line', line: null };
      const current = await ask.read(() => ask.access.approvals.get(record.id, { signal: ask.signal }));
      if (current.status !== 'pending') return { kind: 'closed', record: current };
      if (Date.parse(current.expiresAt) <= Date.now()) {
        return { kind: 'closed', record: { ...current, status: 'expired' } };
      }
    }
  } finally {
    done.abort();
  }
}

/**
 * `work`, tried again after RETRY_DELAYS_MS while it fails in a way the access calls transient. Each
 * pause says so on stderr and ends at once on Ctrl-C (the caller then sees its aborted signal).
 */
async function retrying<T>(
  work: () => Promise<T>,
  access: ControlPlaneAccess,
  signal: AbortSignal,
  warn: (message: string) => void,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      const backoffMs = RETRY_DELAYS_MS[attempt];
      if (backoffMs === undefined || signal.aborted || !access.isTransient(error)) throw error;
      const delayMs = Math.min(Math.max(backoffMs, retryAfterMsOf(error)), MAX_RETRY_DELAY_MS);
      const message = error instanceof Error ? error.message : String(error);
      warn(`${message}; asking again in ${shortDuration(delayMs)} (Ctrl-C stops)`);
      if (!(await sleep(delayMs, signal))) throw error;
    }
  }
}

/** The wait a rate-limiting server (or proxy) asked for, else 0. */
function retryAfterMsOf(error: unknown): number {
  const retryAfterMs = isAirlockError(error) ? error.details['retryAfterMs'] : undefined;
  return typeof retryAfterMs === 'number' && Number.isFinite(retryAfterMs) ? retryAfterMs : 0;
}
