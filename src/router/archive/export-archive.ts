/**
 * A directory of a session on its way out as a tar archive: packed by the sandbox's own tar, read
 * entry by entry through the export checks (outgoing.ts), each file redacted like any other output,
 * packed again and spooled to a private file on the host as it goes. The host holds one file of the
 * tree at a time (a file must be whole to be redacted, and its tar header says its length first),
 * never the archive; the caller streams the spooled archive out once its summary is known, since the
 * summary (what was left out) is sent before the archive itself.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { TAR_END, TarPieces } from '../../local-tree/index.ts';
import type { TarWriteHeader } from '../../local-tree/index.ts';
import { resolveSandboxPath } from '../../sandbox/index.ts';
import type { LiveSession } from '../../sessions/index.ts';
import type { ChangeApprovalDeps } from '../change-approval.ts';
import { redactBytes } from '../shape/index.ts';
import type { ArchiveLimits } from './limits.ts';
import { holdProtected } from './export-approval.ts';
import type { ExportVerdict, HeldEntry } from './export-approval.ts';
import { createExportReader } from './outgoing.ts';
import type { ExportJudge, LeftOut, OutgoingEntry } from './outgoing.ts';
import { packInSandbox } from './sandbox-tar.ts';
import type { Work } from './sandbox-tar.ts';

export interface ArchiveOutStream {
  readonly files: number;
  readonly bytes: number;
  readonly leftOut: readonly LeftOut[];
  /** Length of the uncompressed tar. */
  readonly sizeBytes: number;
  /** sha256 of the tar, for the audit record. */
  readonly sha256: string;
  /** The tar, once; the spooled copy is removed when the stream closes (or on `discard`). */
  stream(): Readable;
  /** Removes the spooled copy without reading it. */
  discard(): Promise<void>;
}

export interface ExportDeps {
  readonly limits: ArchiveLimits;
  readonly sessions: Work;
  readonly redactorFor: ChangeApprovalDeps['redactorFor'];
}

/** Asks a person about the protected files held back (export-approval.ts); absent: they stay out. */
export type AskToExport = (held: readonly HeldEntry[]) => Promise<ExportVerdict>;

export async function exportArchive(
  deps: ExportDeps,
  session: LiveSession,
  path: string,
  judge: ExportJudge,
  ask?: AskToExport,
): Promise<ArchiveOutStream> {
  const dir = resolveSandboxPath(path, { allowRoot: true });
  const redactor = deps.redactorFor(session);
  // A private directory: the spooled archive is the session's output, readable by this user only.
  const spoolDir = await mkdtemp(join(tmpdir(), 'airlock-export-'));
  const spool = join(spoolDir, 'archive.tar');
  const removeSpool = (): Promise<void> => rm(spoolDir, { recursive: true, force: true });
  let file: WriteStream | undefined;
  try {
    const hash = createHash('sha256');
    file = createWriteStream(spool, { mode: 0o600 });
    const spooling = file;
    const failed = new Promise<never>((_resolve, reject) => spooling.once('error', reject));
    failed.catch(() => undefined);
    const pieces = new TarPieces();
    // Each piece waits until the spool has room again: a slow disk holds the sandbox's tar back.
    const write = async (piece: Buffer | null): Promise<void> => {
      if (piece === null || piece.length === 0) return;
      hash.update(piece);
      if (!spooling.write(piece)) await Promise.race([once(spooling, 'drain'), failed]);
    };
    const add = (header: TarWriteHeader, content?: Buffer): Promise<void> =>
      write(pieces.add(header, content));
    const addEntry = (entry: OutgoingEntry): Promise<void> => {
      // A file is output too: an agent could write a secret into one and export it.
      const name = redactor.redact(entry.path).text;
      const header = { name, mode: entry.mode, mtime: entry.mtime };
      if (entry.kind === 'file')
        return add({ ...header, type: 'file' }, redactBytes(redactor, entry.content).data);
      if (entry.kind === 'directory') return add({ ...header, type: 'directory' });
      return add({
        ...header,
        type: entry.kind === 'symlink' ? 'symlink' : 'link',
        linkname: entry.linkTarget ?? '',
      });
    };
    const holder = ask === undefined ? null : holdProtected(judge);
    const reader = createExportReader(deps.limits, holder?.judge ?? judge, addEntry);
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
          asked.has(note.path)
            ? { ...note, why: `${note.why}; a person was asked: ${verdict.reason}` }
            : note,
        );
      }
    }
    await write(pieces.take());
    await write(TAR_END);
    spooling.end();
    await Promise.race([finished(spooling), failed]);
    const leftOut = notes.map((note) => ({ path: redactor.redact(note.path).text, why: note.why }));
    const { size } = await stat(spool);
    let opened = false;
    return {
      files,
      bytes,
      leftOut,
      sizeBytes: size,
      sha256: hash.digest('hex'),
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

// Security limitations:
// - The spooled archive sits in the host's temporary directory (mode 0600, in a 0700 directory) until
//   it is streamed or discarded; a control plane killed meanwhile leaves it behind there.
