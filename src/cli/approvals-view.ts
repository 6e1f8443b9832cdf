/**
 * How approval requests look to a person: the `ls` table, the full request `watch` shows before asking,
 * and the one line that says what was decided. Stored subjects and parsed commands are escaped by the
 * store's writer; session ids, decider names and reasons are escaped here, since they may come from
 * other surfaces.
 */
import type { ApprovalGrant, ApprovalRecord } from '../store/index.ts';
import { escapeForDisplay } from '../shell/index.ts';
import type { Paint } from './terminal.ts';
import { oneLine, shortDuration, truncate } from './terminal.ts';

/** Narrowest a subject column gets on a narrow terminal before it is cut. */
const MIN_SUBJECT_CHARS = 16;
/** Longest subject in a one-line decision summary; the full text is in `ls --json` and the audit log. */
const MAX_SUMMARY_SUBJECT_CHARS = 120;

/** Untrusted text for one line of a terminal. */
export function shown(text: string): string {
  return oneLine(escapeForDisplay(text));
}

/** A table for people; the subject is cut to the terminal's width only when there is a terminal. */
export function renderTable(
  records: readonly ApprovalRecord[],
  nowMs: number,
  withStatus: boolean,
  terminal: { isTTY: boolean; columns: number | undefined },
): string {
  const header = ['ID', 'SESSION', ...(withStatus ? ['STATUS'] : []), 'AGE', 'EXPIRES', 'SUBJECT'];
  const rows = records.map((record) => {
    const overdue = record.status === 'pending' && Date.parse(record.expiresAt) <= nowMs;
    const expires =
      record.status !== 'pending'
        ? '-'
        : overdue
          ? 'overdue'
          : `in ${shortDuration(Date.parse(record.expiresAt) - nowMs)}`;
    const subject = `${record.action === 'command' ? '' : `[${record.action}] `}${oneLine(record.subject)}`;
    return [
      record.id,
      shown(record.sessionId),
      ...(withStatus ? [record.status] : []),
      shortDuration(nowMs - Date.parse(record.createdAt)),
      expires,
      subject,
    ];
  });
  const fixed = header.length - 1;
  const widths = header
    .slice(0, fixed)
    .map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const prefixWidth = widths.reduce((sum, width) => sum + width + 2, 0);
  const subjectWidth =
    terminal.isTTY && terminal.columns !== undefined
      ? Math.max(MIN_SUBJECT_CHARS, terminal.columns - prefixWidth)
      : Infinity;
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) =>
        column < fixed ? cell.padEnd(widths[column] ?? 0) : truncate(cell, subjectWidth),
      )
      .join('  ');
  return [header, ...rows].map((row) => `${line(row)}\n`).join('');
}

/** The keys a person answers with in `watch`, per grant scope. */
export const grantKeys = { command: 'r', program: 'p', host: 'h' } as const;

const grantWords = { command: 'this exact command', program: 'program', host: 'host' } as const;

/** One grant, as a person reads it: `program: npm, pip`. */
export function describeGrant(grant: ApprovalGrant, action: ApprovalRecord['action']): string {
  const what =
    grant.scope === 'command' && action === 'write_file' ? 'this exact write' : grantWords[grant.scope];
  return `${what}: ${grant.covers.map(oneLine).join(', ')}`;
}

/** "approved apr_… (touch x) in session s_… by cli:ana, remembered for the rest of the session: why" */
export function describeDecision(record: ApprovalRecord): string {
  const subject = truncate(oneLine(record.subject), MAX_SUMMARY_SUBJECT_CHARS);
  const by = record.decidedBy === null ? '' : ` by ${shown(record.decidedBy)}`;
  const grant = record.grants.find((offered) => offered.scope === record.scope);
  const remembered = !record.remember
    ? ''
    : `, remembered for the rest of the session${grant === undefined ? '' : ` (${describeGrant(grant, record.action)})`}`;
  const reason = record.decisionReason === null ? '' : `: ${shown(record.decisionReason)}`;
  return `${record.status} ${record.id} (${subject}) in session ${shown(record.sessionId)}${by}${remembered}${reason}`;
}

/** Everything a person needs to decide, one fact per line. */
export function renderRequest(record: ApprovalRecord, nowMs: number, paint: Paint): string {
  const remainingMs = Date.parse(record.expiresAt) - nowMs;
  const expiry =
    remainingMs > 0
      ? `expires in ${shortDuration(remainingMs)} (${record.expiresAt})`
      : `overdue since ${record.expiresAt}`;
  const lines = [
    `${paint.yellow(paint.bold('approval requested'))} ${record.id}`,
    `  session:  ${shown(record.sessionId)}`,
    record.action === 'write_file'
      ? `  write to: ${oneLine(record.subject)}`
      : record.action === 'egress'
        ? `  connect to: ${oneLine(record.subject)} (not on the session's allow-list)`
        : `  command:  ${oneLine(record.subject)}`,
  ];
  if (record.action === 'egress') {
    for (const command of record.parsed) lines.push(`  from command: ${oneLine(command)}`);
  } else if (record.parsed.length > 0) {
    lines.push(`  parsed commands (${record.parsed.length}):`);
    for (const parsed of record.parsed) lines.push(`    ${oneLine(parsed)}`);
  }
  if (record.reasons.length > 0) {
    lines.push('  reasons:');
    for (const reason of record.reasons) lines.push(`    - ${shown(reason)}`);
  }
  if (record.grants.length > 0) {
    lines.push('  or approve for the rest of the session:');
    for (const grant of record.grants) {
      lines.push(`    ${grantKeys[grant.scope]}  ${describeGrant(grant, record.action)}`);
    }
  }
  lines.push(`  ${expiry}`);
  return lines.map((line) => `${line}\n`).join('');
}
