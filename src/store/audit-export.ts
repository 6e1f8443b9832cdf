import { AirlockError } from '../errors/index.ts';
import { escapeForDisplay } from '../shell/index.ts';
import type { AuditEvent, EventQuery, JsonValue, Store } from './types.ts';

/** Events fetched per page while exporting: memory stays bounded whatever the length of the log. */
export const EXPORT_PAGE_SIZE = 1000;

export interface AuditExportQuery extends Omit<EventQuery, 'limit'> {
  /** Stop after this many events; every matching event when absent. */
  readonly maxEvents?: number;
}

/**
 * Writes events as JSON lines, oldest first, one page at a time, awaiting `write` so a slow consumer
 * (a pipe, a socket) pushes back instead of the export buffering the whole log. Each line carries the
 * hashes, so an export can be re-verified away from the store. Returns how many lines were written.
 */
export async function exportAuditJsonl(
  store: Store,
  write: (line: string) => void | Promise<void>,
  query: AuditExportQuery = {},
): Promise<number> {
  const { maxEvents, ...filter } = query;
  if (maxEvents !== undefined && (!Number.isSafeInteger(maxEvents) || maxEvents < 0)) {
    throw new AirlockError('INVALID_ARGUMENT', 'maxEvents must be a non-negative integer', {
      field: 'maxEvents',
      value: String(maxEvents),
    });
  }
  let afterSeq = filter.afterSeq ?? 0;
  let written = 0;
  for (;;) {
    const remaining =
      maxEvents === undefined ? EXPORT_PAGE_SIZE : Math.min(EXPORT_PAGE_SIZE, maxEvents - written);
    if (remaining <= 0) return written;
    const page = await store.listEvents({ ...filter, afterSeq, limit: remaining });
    for (const event of page) {
      await write(auditEventJson(event));
      written++;
    }
    const last = page.at(-1);
    if (last === undefined || page.length < remaining) return written;
    afterSeq = last.seq;
  }
}

/** One event as a JSON line (no newline), fields in a fixed, readable order. */
export function auditEventJson(event: AuditEvent): string {
  return JSON.stringify({
    seq: event.seq,
    at: event.at,
    type: event.type,
    sessionId: event.sessionId,
    commandId: event.commandId,
    data: event.data,
    prevHash: event.prevHash,
    hash: event.hash,
  });
}

/** Longest rendering of one data value, in characters, before it is cut with "…". */
const MAX_VALUE_CHARS = 80;
/** Longest data summary on a tail line. */
const MAX_SUMMARY_CHARS = 240;

/**
 * One line for `airlock audit tail`: time, seq, type, session, command and a short summary of the data.
 * Event data holds agent-chosen text (commands, paths), so every part is JSON-quoted (newlines, tabs and
 * C0 controls escaped) and then passed through escapeForDisplay (C1, bidi and zero-width characters):
 * a command cannot rewrite the terminal line or hide what it was.
 */
export function formatAuditEvent(event: AuditEvent): string {
  const parts = [
    safe(event.at),
    `#${event.seq}`,
    safe(event.type),
    `session=${event.sessionId === null ? '-' : safe(event.sessionId)}`,
    `command=${event.commandId === null ? '-' : safe(event.commandId)}`,
  ];
  const summary = Object.keys(event.data)
    .sort()
    .map((key) => `${safe(key)}=${renderValue(event.data[key] ?? null)}`)
    .join(' ');
  if (summary !== '') parts.push(truncate(summary, MAX_SUMMARY_CHARS));
  return parts.join(' ');
}

function renderValue(value: JsonValue): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return escapeForDisplay(JSON.stringify(truncate(text, MAX_VALUE_CHARS)));
}

/** Identifiers shown bare when they are plain, quoted and escaped otherwise. */
function safe(text: string): string {
  return /^[\w.:@/-]{1,128}$/.test(text)
    ? text
    : escapeForDisplay(JSON.stringify(truncate(text, MAX_VALUE_CHARS)));
}

/** Cuts at a code-point boundary so no half of a surrogate pair is printed. */
function truncate(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  let end = maxChars - 1;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}

// Security limitations:
// - formatAuditEvent is for a terminal: it escapes what could mislead a reader, it does not make text
//   safe for HTML or a shell. The JSON lines carry the raw (already redacted) data.
