/**
 * A directory of a session on its way out as a tar archive: packed by the sandbox's own tar, read
 * entry by entry through the export checks (outgoing.ts), each file redacted like any other output,
 * and packed again. The host holds one file of the tree at a time (a file must be whole to be
 * redacted, and its tar header says its length first), never the archive. Two ways out:
 * - spooled (`exportArchive`): written to a private file on the host as it goes, and streamed once its
 *   summary is known, for callers that want the summary (what was left out) before the archive;
 * - streamed (`streamArchive`): sent as it is checked, the summary coming last, as a pax global header
 *   just before the end marker (local-tree/export-summary.ts). Every byte still passes every check before it is
 *   sent; an export stopped part way (a limit, a broken stream) ends the stream with an error and never
 *   with an end marker, so a reader can tell a whole archive from part of one.
 */
import { createHash, hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { TAR_END, exportSummaryHeader, tarEntryParts } from '../../local-tree/index.ts';
import type { TarWriteHeader } from '../../local-tree/index.ts';
import { resolveSandboxPath } from '../../sandbox/index.ts';
import type { LiveSession } from '../../sessions/index.ts';
import type { ChangeApprovalDeps } from '../change-approval.ts';
import { redactBytes } from '../shape/index.ts';
import type { ArchiveLimits } from './limits.ts';
import { holdProtected } from './export-approval.ts';
import { manifestLine } from './manifest.ts';
import type { ExportVerdict, HeldEntry } from './export-approval.ts';
import { createExportReader } from './outgoing.ts';
import type { ExportJudge, LeftOut, OutgoingEntry } from './outgoing.ts';
import { packInSandbox } from './sandbox-tar.ts';
import type { Work } from './sandbox-tar.ts';

/** What an export gave, once it is whole. */
export interface ArchiveOutSummary {
  readonly files: number;
  readonly bytes: number;
  readonly leftOut: readonly LeftOut[];
  /** Length of the uncompressed tar (for a streamed one: up to its summary header). */
  readonly sizeBytes: number;
  /**
   * For the audit record: sha256 of the tree as exported, as its manifest (manifest.ts: each entry in
   * order with its kind, permission bits, mtime, size, sha256 of the content as sent, name and link
   * target), the same form a copy in is recorded with.
   */
  readonly sha256: string;
}

export interface ArchiveOutStream extends ArchiveOutSummary {
  /** The tar, once; the spooled copy is removed when the stream closes (or on `discard`). */
  stream(): Readable;
  /** Removes the spooled copy without reading it. */
  discard(): Promise<void>;
}

/** A streamed export: the archive as it is checked, and its summary once all of it passed. */
export interface ArchiveOutStreaming {
  /**
   * The tar, ending with the summary header and the end marker; it ends with an error instead when the
   * export stops part way. Destroying it stops the export (the sandbox's tar is killed). Its chunks are
   * Buffers of any size, as made (object mode: `read(n)` gives the next chunk whatever `n`).
   */
  readonly stream: Readable;
  /** Settles once the export is whole and recorded, before the summary header is sent. */
  readonly summary: Promise<ArchiveOutSummary>;
}

export interface ExportDeps {
  readonly limits: ArchiveLimits;
  readonly sessions: Work;
  readonly redactorFor: ChangeApprovalDeps['redactorFor'];
}

/** Asks a person about the protected files held back (export-approval.ts); absent: they stay out. */
export type AskToExport = (held: readonly HeldEntry[]) => Promise<ExportVerdict>;

/** Takes the next checked bytes (an entry's parts: header, content, padding); resolves once there is room for more. */
type PieceSink = (parts: readonly Buffer[]) => Promise<void>;

/** A spooled archive is written in pieces of about this size: one write per piece, not per entry. */
const SPOOL_PIECE_BYTES = 1024 * 1024;

/** The archive's last bytes, made from its summary (counted in its size and hash, sent by the caller). */
type TailOf = (summary: Omit<ArchiveOutSummary, 'sizeBytes' | 'sha256'>) => Buffer[];

/**
 * Runs the export, writing every checked piece to `sink`, and returns its summary with the archive's
 * tail (`tailOf`), which the caller sends once it is ready to (after the audit record, when streamed).
 */
async function runExport(
  deps: ExportDeps,
  session: LiveSession,
  dir: string,
  judge: ExportJudge,
  ask: AskToExport | undefined,
  sink: PieceSink,
  tailOf: TailOf,
): Promise<{ summary: ArchiveOutSummary; tail: Buffer[] }> {
  const redactor = deps.redactorFor(session);
  // The audit digest is taken over the export's manifest (manifest.ts), not its bytes: each file's
  // content is hashed once, and that hash is usually the one the protected-path check worked out.
  const manifest = createHash('sha256');
  let sizeBytes = 0;
  // Each entry's parts go on as they are, its content never copied here (it may be a view of the
  // sandbox's output): the sink is what gathers them, if it wants pieces.
  const add = (header: TarWriteHeader, content?: Buffer, sha256 = ''): Promise<void> => {
    const parts = tarEntryParts(header, content);
    for (const part of parts) sizeBytes += part.length;
    manifest.update(manifestLine(header, content?.length ?? 0, sha256));
    return sink(parts);
  };
  const addEntry = (entry: OutgoingEntry): Promise<void> => {
    // A file is output too: an agent could write a secret into one and export it.
    const name = redactor.redact(entry.path).text;
    const header = { name, mode: entry.mode, mtime: entry.mtime };
    if (entry.kind === 'file') {
      const redacted = redactBytes(redactor, entry.content);
      // What is sent: the file as it was, or as redacted (then hashed as such).
      const sha256 = redacted.redactions === 0 ? entry.sha256 : hash('sha256', redacted.data);
      return add({ ...header, type: 'file' }, redacted.data, sha256);
    }
    if (entry.kind === 'directory') return add({ ...header, type: 'directory' });
    return add({
      ...header,
      type: entry.kind === 'symlink' ? 'symlink' : 'link',
      linkname: entry.linkTarget ?? '',
    });
  };
  const holder = ask === undefined ? null : holdProtected(judge);
  // Views of the sandbox's output, not copies: each content is written out (or, held for a person,
  // copied) before it is let go, and the queue bounds the output chunks entries keep alive.
  const reader = createExportReader(deps.limits, holder?.judge ?? judge, addEntry, { viewContent: true });
  await packInSandbox(deps.sessions, session, dir, reader);
  const summary = await reader.done;
  let { files, bytes } = summary;
  let notes = summary.leftOut;
  if (holder !== null && ask !== undefined && holder.held.length > 0) {
    const verdict = await ask(holder.held);
    const asked = new Set(holder.held.map((item) => item.entry.path));
    if (verdict.approved) {
      for (const { entry } of holder.held) await addEntry(entry);
      files += holder.held.length;
      bytes += holder.held.reduce((sum, item) => sum + item.entry.content.length, 0);
      notes = notes.filter((note) => !asked.has(note.path));
    } else {
      notes = notes.map((note) =>
        asked.has(note.path) ? { ...note, why: `${note.why}; a person was asked: ${verdict.reason}` } : note,
      );
    }
  }
  const leftOut = notes.map((note) => ({ path: redactor.redact(note.path).text, why: note.why }));
  const tail = tailOf({ files, bytes, leftOut });
  for (const piece of tail) sizeBytes += piece.length;
  return { summary: { files, bytes, leftOut, sizeBytes, sha256: manifest.digest('hex') }, tail };
}

export async function exportArchive(
  deps: ExportDeps,
  session: LiveSession,
  path: string,
  judge: ExportJudge,
  ask?: AskToExport,
): Promise<ArchiveOutStream> {
  const dir = resolveSandboxPath(path, { allowRoot: true });
  // A private directory: the spooled archive is the session's output, readable by this user only.
  const spoolDir = await mkdtemp(join(tmpdir(), 'airlock-export-'));
  const spool = join(spoolDir, 'archive.tar');
  const removeSpool = (): Promise<void> => rm(spoolDir, { recursive: true, force: true });
  let file: WriteStream | undefined;
  try {
    file = createWriteStream(spool, { mode: 0o600 });
    const spooling = file;
    const failed = new Promise<never>((_resolve, reject) => spooling.once('error', reject));
    failed.catch(() => undefined);
    let held: Buffer[] = [];
    let heldBytes = 0;
    // Each piece waits until the spool has room again: a slow disk holds the sandbox's tar back.
    const flush = async (): Promise<void> => {
      if (heldBytes === 0) return;
      const piece = Buffer.concat(held, heldBytes);
      held = [];
      heldBytes = 0;
      if (!spooling.write(piece)) await Promise.race([once(spooling, 'drain'), failed]);
    };
    const sink: PieceSink = async (parts) => {
      for (const part of parts) {
        held.push(part);
        heldBytes += part.length;
      }
      if (heldBytes >= SPOOL_PIECE_BYTES) await flush();
    };
    const { summary } = await runExport(deps, session, dir, judge, ask, sink, () => [TAR_END]);
    await flush();
    spooling.end(TAR_END);
    await Promise.race([finished(spooling), failed]);
    const { size } = await stat(spool);
    if (size !== summary.sizeBytes) throw new Error('the spooled archive is not the size written');
    let opened = false;
    return {
      ...summary,
      stream() {
        if (opened) throw new Error('the archive was already streamed');
        opened = true;
        const stream = createReadStream(spool);
        stream.once('close', () => void removeSpool());
        return stream;
      },
      discard: removeSpool,
    };
  } catch (error) {
    file?.destroy();
    await removeSpool();
    throw error;
  }
}

/**
 * Streams the export as it is checked. `record` is called once the export is whole (the audit record);
 * only after it succeeded are the summary header and end marker sent, so a reader never sees a whole
 * archive that was not recorded.
 */
export function streamArchive(
  deps: ExportDeps,
  session: LiveSession,
  path: string,
  judge: ExportJudge,
  ask: AskToExport | undefined,
  record: (summary: ArchiveOutSummary) => Promise<void>,
): ArchiveOutStreaming {
  const dir = resolveSandboxPath(path, { allowRoot: true });
  let wake: (() => void) | null = null;
  const wakeUp = (): void => {
    const waiting = wake;
    wake = null;
    waiting?.();
  };
  // Each piece is read as it was pushed (object mode): a byte stream read by an async iterator joins
  // every piece waiting into a new buffer, a copy of the whole archive on the event loop.
  const stream = new Readable({
    objectMode: true,
    read: wakeUp,
    destroy: (error, callback) => (wakeUp(), callback(error)),
  });
  // The export's error reaches whoever reads the stream, and `summary`; a stream nobody reads (an
  // export refused before its first byte, answered as an error instead) must not crash the process.
  stream.on('error', () => undefined);
  const gone = (): Error => new Error('the archive stream was closed before the export ended');
  // The reader's pace holds the export back: a piece waits until the reader asked for more, so a slow
  // client pauses the sandbox's tar instead of growing a buffer here.
  const sink: PieceSink = async (parts) => {
    if (stream.destroyed) throw gone();
    let room = true;
    for (const part of parts) room = stream.push(part);
    if (room) return;
    await new Promise<void>((resolve) => (wake = resolve));
    if (stream.destroyed) throw gone();
  };
  const summary = (async () => {
    const { summary: result, tail } = await runExport(deps, session, dir, judge, ask, sink, (done) => [
      exportSummaryHeader(done),
      TAR_END,
    ]);
    await record(result);
    await sink(tail);
    stream.push(null);
    return result;
  })();
  summary.catch((error: unknown) => {
    if (!stream.destroyed) stream.destroy(error as Error);
  });
  return { stream, summary };
}

// Security limitations:
// - The spooled archive sits in the host's temporary directory (mode 0600, in a 0700 directory) until
//   it is streamed or discarded; a control plane killed meanwhile leaves it behind there.
// - A streamed archive reaches its reader before the export is whole: a reader that does not wait for
//   the end marker (plain `tar -x`) may keep part of a tree whose export stopped part way. Airlock's own
//   clients unpack it into a staging directory and move it into place only once it ended whole.
