/** Trees in and out of a session: tar archives checked both ways, unpacked and packed inside the sandbox. */
export { createArchiveOps } from './archive-ops.ts';
export type {
  ArchiveInOptions,
  ArchiveInResult,
  ArchiveOps,
  ArchiveOpsOptions,
  ArchiveOutOptions,
  ArchiveOutResult,
  ChangesOptions,
  ChangesResult,
} from './archive-ops.ts';
export type { ArchiveOutStream, ArchiveOutStreaming, ArchiveOutSummary } from './export-archive.ts';
export { DEFAULT_ARCHIVE_LIMITS } from './limits.ts';
export type { ArchiveLimits } from './limits.ts';
export type { LeftOut } from './outgoing.ts';
