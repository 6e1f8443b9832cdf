/**
 * Trees in and out of a session, through the same stages as single files, each streamed so the host
 * never holds an archive whole: a copy in (import-archive.ts) is checked entry by entry as it arrives,
 * staged in the sandbox, may need a person (when `router.approvalRequiredFor` lists `write_file`), is
 * unpacked inside the sandbox and recorded; a copy out (export-archive.ts) passes the export checks
 * (outgoing.ts), has each file redacted like any other output, is recorded with what was given, and
 * is either spooled to a private host file first (its summary then comes before it) or streamed as it
 * is checked (its summary at its end).
 */
import { loadPolicy } from '../../policy/index.ts';
import { resolveSandboxPath } from '../../sandbox/index.ts';
import type { LiveSession, SessionManager } from '../../sessions/index.ts';
import type { Store } from '../../store/index.ts';
import type { ChangeApprovalDeps } from '../change-approval.ts';
import { importArchive } from './import-archive.ts';
import type { Baseline } from './baseline.ts';
import type { WorkspaceChanges } from './changes.ts';
import type { ArchiveLimits } from './limits.ts';
import { askToExport } from './export-approval.ts';
import type { ExportVerdict, HeldEntry } from './export-approval.ts';
import { exportArchive, streamArchive } from './export-archive.ts';
import type { ArchiveOutStream, ArchiveOutStreaming, ArchiveOutSummary } from './export-archive.ts';
import type { LeftOut } from './outgoing.ts';
import { listChanges } from './list-changes.ts';
import type { SnapshotArchives } from './snapshot-baseline.ts';
import { protectedPathJudge } from './protected-paths.ts';

export interface ArchiveOpsOptions extends ChangeApprovalDeps {
  readonly store: Store;
  readonly limits: ArchiveLimits;
  /** `sandbox.refuseSecretsInWorkspace`: an archive holding a secret-looking file is refused whole. */
  readonly refuseSecrets: boolean;
  readonly sessions: Pick<SessionManager, 'beginWork' | 'addSecretFile'>;
  /** Snapshot archives, for changes since a snapshot; absent: only changes since the copy in. */
  readonly snapshots?: SnapshotArchives;
}

export interface ArchiveInOptions {
  readonly signal?: AbortSignal;
  /** The host's own copy (see FileWriteOptions.operator); library callers only. */
  readonly operator?: boolean;
}

export interface ArchiveInResult {
  readonly status: 'completed' | 'denied';
  readonly path: string;
  readonly files: number;
  readonly directories: number;
  readonly bytes: number;
  /** Files that look like secrets (.env, keys, credentials): their values are redacted from now on. */
  readonly secretFiles: readonly string[];
  readonly approvalId: string | null;
  readonly reasons: readonly string[];
}

export interface ArchiveOutResult {
  /** An uncompressed tar of what passed the export checks. */
  readonly tar: Buffer;
  readonly files: number;
  readonly bytes: number;
  readonly leftOut: readonly LeftOut[];
}

export interface ArchiveOutOptions {
  /**
   * Changed protected paths (agent and editor configuration, CI workflows, build scripts): `leave-out`
   * (the default) leaves them out with a note; `ask` asks a person once for all of them, through the
   * approval queue, and adds them when approved. Git hooks and repository config always stay out.
   */
  readonly protectedPaths?: 'leave-out' | 'ask';
  /** Withdraws the question when the caller gives up. */
  readonly signal?: AbortSignal;
}

export interface ChangesOptions {
  /** Also the unified diff. */
  readonly patch?: boolean;
  /** Compare with this snapshot of the session (or the one it was made from), not the last copy in. */
  readonly since?: string;
}

export interface ChangesResult extends WorkspaceChanges {
  /** Whether a tree was copied in (or a snapshot compared with): without one, every file counts as added. */
  readonly baseline: boolean;
  /** The snapshot compared with, when one was asked for. */
  readonly since?: string;
  /** The unified diff, when asked for. */
  readonly patch?: string;
}

export interface ArchiveOps {
  /** `body`: the tar (or gzip) bytes, or a stream of them, read and checked as they come. */
  put(
    session: LiveSession,
    path: string,
    body: Uint8Array | AsyncIterable<Uint8Array>,
    options?: ArchiveInOptions,
  ): Promise<ArchiveInResult>;
  /** The tree as one buffer (library callers; `open` streams it). */
  get(session: LiveSession, path: string, options?: ArchiveOutOptions): Promise<ArchiveOutResult>;
  /** The tree through the export checks, spooled and streamed: the host never holds it whole. */
  open(session: LiveSession, path: string, options?: ArchiveOutOptions): Promise<ArchiveOutStream>;
  /**
   * The tree through the export checks, sent as it is checked, its summary at the end (a pax global
   * header before the end marker); an export stopped part way ends the stream with an error.
   */
  stream(session: LiveSession, path: string, options?: ArchiveOutOptions): ArchiveOutStreaming;
  changes(session: LiveSession, options?: ChangesOptions): Promise<ChangesResult>;
}

export function createArchiveOps(options: ArchiveOpsOptions): ArchiveOps {
  const { store } = options;
  const baselines = new WeakMap<LiveSession, Baseline>();
  const protectedList = loadPolicy({ preset: 'coding-agent' });
  const shown = (session: LiveSession, path: string): string =>
    options.redactorFor(session).redact(path).text;

  /** The checks of an export (protected paths, a question when asked for) and its audit record. */
  function exportOf(session: LiveSession, path: string, outOptions: ArchiveOutOptions) {
    const dir = resolveSandboxPath(path, { allowRoot: true });
    const judge = protectedPathJudge(
      { policyFor: options.policyFor, protectedList, baselines },
      session,
      dir,
    );
    // Set by the question, if one was asked (a holder: assigned inside the callback).
    const asked: { verdict: ExportVerdict | null } = { verdict: null };
    const ask =
      outOptions.protectedPaths === 'ask'
        ? async (held: readonly HeldEntry[]) =>
            (asked.verdict = await askToExport(options, session, dir, held, outOptions.signal))
        : undefined;
    const record = async (out: ArchiveOutSummary): Promise<void> => {
      await store.commit({
        events: [
          {
            type: 'file.archive_read',
            sessionId: session.id,
            commandId: null,
            data: {
              path: shown(session, dir),
              files: out.files,
              bytes: out.bytes,
              sha256: out.sha256,
              leftOut: out.leftOut.length,
              ...(asked.verdict === null
                ? {}
                : {
                    protectedApprovalId: asked.verdict.approvalId,
                    protectedApproved: asked.verdict.approved,
                  }),
            },
          },
        ],
      });
    };
    return { dir, judge, ask, record };
  }

  async function open(
    session: LiveSession,
    path: string,
    outOptions: ArchiveOutOptions = {},
  ): Promise<ArchiveOutStream> {
    const { dir, judge, ask, record } = exportOf(session, path, outOptions);
    const out = await exportArchive(options, session, dir, judge, ask);
    try {
      await record(out);
    } catch (error) {
      await out.discard();
      throw error;
    }
    return out;
  }

  function stream(
    session: LiveSession,
    path: string,
    outOptions: ArchiveOutOptions = {},
  ): ArchiveOutStreaming {
    const { dir, judge, ask, record } = exportOf(session, path, outOptions);
    return streamArchive(options, session, dir, judge, ask, record);
  }

  async function get(
    session: LiveSession,
    path: string,
    outOptions?: ArchiveOutOptions,
  ): Promise<ArchiveOutResult> {
    const out = await open(session, path, outOptions);
    const chunks: Buffer[] = [];
    for await (const chunk of out.stream()) chunks.push(chunk as Buffer);
    return { tar: Buffer.concat(chunks), files: out.files, bytes: out.bytes, leftOut: out.leftOut };
  }

  return {
    put: (session, path, body, putOptions) =>
      importArchive({ ...options, baselines }, session, path, body, putOptions),
    get,
    open,
    stream,
    changes: (session, changeOptions) => listChanges({ ...options, baselines }, session, changeOptions),
  };
}
