/**
 * A tree on its way out of a sandbox, read as the tar stream the sandbox's own `tar` writes and
 * checked entry by entry (export checks), since every byte of it is the sandbox's to choose: a name
 * must be a clean relative path; a symlink must stay inside the exported tree, a hard link name an
 * entry already exported; device files, FIFOs and sockets and files with a setuid or setgid bit are
 * left out with a note; a path the caller's judge holds back (a protected path changed) is left out
 * with its reason. Going over the byte or entry limit stops the whole export: a partial tree would
 * pass for the whole one.
 */
import { hash } from 'node:crypto';
import { AirlockError } from '../../errors/index.ts';
import { TarReader } from '../../local-tree/index.ts';
import type { TarEntry } from '../../local-tree/index.ts';
import type { OutputSink } from '../../sandbox/index.ts';
import { entryPath, linkStaysInside } from './entry-path.ts';
import { createEntryQueue } from './entry-queue.ts';
import type { ArchiveLimits } from './limits.ts';

export type OutgoingKind = 'file' | 'directory' | 'symlink' | 'hardlink';

export interface OutgoingEntry {
  readonly path: string;
  readonly kind: OutgoingKind;
  /** Permission bits only (no setuid, setgid or sticky bit). */
  readonly mode: number;
  readonly mtime: Date;
  /** A symlink's target as written, or the exported path a hard link shares content with. */
  readonly linkTarget: string | null;
  /** A file's content; empty for the other kinds. */
  readonly content: Buffer;
  /**
   * sha256 of a file's content; '' for the other kinds. Worked out when first read, once: by the check
   * comparing a file copied in with what it was, or for the audit manifest.
   */
  readonly sha256: string;
}

/** A file entry whose content hash is computed on first use, once. */
function fileEntry(base: Omit<OutgoingEntry, 'kind' | 'content' | 'sha256'>, content: Buffer): OutgoingEntry {
  let sha256: string | undefined;
  return {
    ...base,
    kind: 'file',
    content,
    get sha256(): string {
      // One call, no Hash object: a tree is thousands of files.
      sha256 ??= hash('sha256', content);
      return sha256;
    },
  };
}

export interface LeftOut {
  readonly path: string;
  readonly why: string;
}

export interface ExportSummary {
  readonly files: number;
  readonly bytes: number;
  readonly leftOut: readonly LeftOut[];
}

/** Why the caller holds back an entry (a protected path changed), or null to let it out. */
export type ExportJudge = (entry: OutgoingEntry) => string | null;

export interface ExportReader {
  /** Where the sandbox's `tar -c` writes (its stdout). */
  readonly sink: OutputSink;
  /** Called when the tar stream has ended (the command exited). */
  end(): void;
  /** Settles once every entry is handled: the summary, or the error that stopped the export. */
  readonly done: Promise<ExportSummary>;
  /** Aborted when the export must stop (the caller kills the sandbox's `tar`). */
  readonly stop: AbortSignal;
}

/** Most notes kept: a tree of a million FIFOs must not grow the answer without bound. */
export const MAX_LEFT_OUT_NOTES = 1000;
const PERMISSION_BITS = 0o777;
const SETID_BITS = 0o6000;

const specialKinds: Readonly<Record<string, string>> = {
  'character-device': 'a character device',
  'block-device': 'a block device',
  fifo: 'a FIFO',
};

/** The sandbox's tar stream failed: our own refusal as it is, anything else as an unreadable stream. */
function unreadable(error: Error): AirlockError {
  return error instanceof AirlockError
    ? error
    : new AirlockError('SANDBOX_UNAVAILABLE', `the sandbox's tar stream is unreadable: ${error.message}`);
}

function tooManyEntries(limits: ArchiveLimits): AirlockError {
  return new AirlockError(
    'LIMIT_REACHED',
    `the tree has more than ${limits.maxEntries} entries; copy a subdirectory`,
    {
      limit: 'entries',
      maxEntries: limits.maxEntries,
    },
  );
}

function tooManyBytes(limits: ArchiveLimits): AirlockError {
  return new AirlockError(
    'FILE_TOO_LARGE',
    `the tree holds more than ${limits.maxBytes} bytes; copy a subdirectory`,
    {
      limit: 'bytes',
      maxBytes: limits.maxBytes,
    },
  );
}

export interface ExportReaderOptions {
  /**
   * True: a file's content may be a view of the sandbox's output chunk it came in rather than a copy
   * (the queue bounds what is held by the stream bytes entries take, so views cannot hold more). For an
   * `onEntry` that keeps no content past its handling, or copies what it keeps.
   */
  readonly viewContent?: boolean;
}

export function createExportReader(
  limits: ArchiveLimits,
  judge: ExportJudge,
  onEntry: (entry: OutgoingEntry) => Promise<void> | void,
  options: ExportReaderOptions = {},
): ExportReader {
  const stopper = new AbortController();
  const leftOut: LeftOut[] = [];
  const exported = new Set<string>();
  let files = 0;
  let bytes = 0;
  let readBytes = 0;
  let entries = 0;
  const note = (path: string, why: string): void => {
    if (leftOut.length < MAX_LEFT_OUT_NOTES) leftOut.push({ path, why });
  };
  const parser = new TarReader({
    ...(options.viewContent === true ? { viewContent: true } : {}),
    // Refused at the header, before the content is held: the size is the tar's own promise.
    maxContentBytes: () => limits.maxBytes - readBytes,
    tooLarge: () => tooManyBytes(limits),
  });
  let settle: { resolve: (summary: ExportSummary) => void; reject: (error: Error) => void } | null = null;
  const done = new Promise<ExportSummary>((resolve, reject) => {
    settle = { resolve, reject };
  });
  // Settled by whoever awaits `done`; this only keeps an early failure from being unhandled.
  done.catch(() => undefined);

  async function handle({ header, content }: TarEntry): Promise<void> {
    const named = entryPath(header.name);
    if (!named.ok) {
      note(header.name, named.why);
      return;
    }
    const path = named.path;
    if (path === '') return;
    entries += 1;
    if (entries > limits.maxEntries) {
      throw tooManyEntries(limits);
    }
    const mode = (header.mode ?? 0) & PERMISSION_BITS;
    const mtime = header.mtime ?? new Date(0);
    const base = { path, mode, mtime, linkTarget: null, content: Buffer.alloc(0), sha256: '' };
    let entry: OutgoingEntry;
    switch (header.type) {
      case 'file':
      case 'contiguous-file': {
        // The parser may run ahead of what was handled; this is the exact count.
        if (content.length > limits.maxBytes - readBytes) throw tooManyBytes(limits);
        if (((header.mode ?? 0) & SETID_BITS) !== 0) {
          note(path, 'it has a setuid or setgid bit');
          return;
        }
        readBytes += content.length;
        entry = fileEntry(base, content);
        break;
      }
      case 'directory':
        entry = { ...base, kind: 'directory', mode: mode | 0o700 };
        break;
      case 'symlink': {
        const target = header.linkname ?? '';
        if (!linkStaysInside(path, target)) {
          note(path, `a symbolic link to ${JSON.stringify(target)}, outside the exported tree`);
          return;
        }
        entry = { ...base, kind: 'symlink', linkTarget: target };
        break;
      }
      case 'link': {
        const target = entryPath(header.linkname ?? '');
        if (!target.ok || !exported.has(target.path)) {
          note(path, `a hard link to ${JSON.stringify(header.linkname)}, which is not in the exported tree`);
          return;
        }
        entry = { ...base, kind: 'hardlink', linkTarget: target.path };
        break;
      }
      default:
        note(
          path,
          `${specialKinds[header.type ?? ''] ?? `a ${header.type ?? 'special'} entry`}, not a file or directory`,
        );
        return;
    }
    const held = judge(entry);
    if (held !== null) {
      note(path, held);
      return;
    }
    exported.add(path);
    if (entry.kind === 'file') {
      files += 1;
      bytes += entry.content.length;
    }
    await onEntry(entry);
  }

  const queue = createEntryQueue(parser, {
    handle,
    fail: (error) => {
      stopper.abort();
      // A writer waiting for room must not wait for ever on a reader that stopped.
      queue.release();
      settle?.reject(unreadable(error));
    },
    finished: () => settle?.resolve({ files, bytes, leftOut }),
  });
  return {
    sink: queue.sink,
    end: () => queue.end(),
    done,
    stop: stopper.signal,
  };
}
