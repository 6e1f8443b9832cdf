/**
 * The summary of a streamed export (what was copied and what was left out), sent at the archive's end
 * as a pax global header, since it is known only once every entry passed the export checks. Airlock's
 * server writes it just before the end marker; its clients read it once the archive ended whole.
 */
import { MAX_META_BYTES } from './tar-reader.ts';
import { tarGlobalHeader } from './tar-writer.ts';

/** The pax keyword (vendor-prefixed, as pax asks of keywords it does not define). */
export const EXPORT_SUMMARY_KEY = 'AIRLOCK.summary';

/** Most bytes of the summary's JSON: well under what a reader accepts of one pax header. */
const MAX_SUMMARY_BYTES = MAX_META_BYTES / 2;

export interface ExportSummaryNote {
  readonly path: string;
  readonly why: string;
}

export interface ExportSummary {
  readonly files: number;
  readonly bytes: number;
  readonly leftOut: readonly ExportSummaryNote[];
}

/** The summary as a pax global header; past MAX_SUMMARY_BYTES, the last notes are counted instead. */
export function exportSummaryHeader(summary: ExportSummary): Buffer {
  const { files, bytes } = summary;
  let notes = [...summary.leftOut];
  let json = JSON.stringify({ files, bytes, leftOut: notes });
  while (Buffer.byteLength(json) > MAX_SUMMARY_BYTES && notes.length > 0) {
    notes = notes.slice(0, Math.floor(notes.length / 2));
    const more = { path: '…', why: `${summary.leftOut.length - notes.length} more left out` };
    json = JSON.stringify({ files, bytes, leftOut: [...notes, more] });
  }
  return tarGlobalHeader({ [EXPORT_SUMMARY_KEY]: json });
}

const isNote = (value: unknown): value is ExportSummaryNote =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as { path?: unknown }).path === 'string' &&
  typeof (value as { why?: unknown }).why === 'string';

/** The summary among an archive's global records, or null when there is none (or it is not one). */
export function readExportSummary(globals: ReadonlyMap<string, string>): ExportSummary | null {
  const text = globals.get(EXPORT_SUMMARY_KEY);
  if (text === undefined) return null;
  try {
    const parsed = JSON.parse(text) as { files?: unknown; bytes?: unknown; leftOut?: unknown };
    const { files, bytes, leftOut } = parsed;
    if (!Number.isSafeInteger(files) || !Number.isSafeInteger(bytes) || !Array.isArray(leftOut)) return null;
    if (!leftOut.every(isNote)) return null;
    return { files: files as number, bytes: bytes as number, leftOut };
  } catch {
    return null;
  }
}
