/**
 * How much an archive may hold, on the way in and on the way out. Both bounds are checked while the
 * archive is read, before anything is written: a tar bomb (a small gzip that inflates to gigabytes,
 * or millions of empty entries) is refused once it passes them, never unpacked whole.
 */
export interface ArchiveLimits {
  /** Most bytes of file content, all entries together (after decompression). */
  readonly maxBytes: number;
  /** Most entries (files and directories). */
  readonly maxEntries: number;
}

export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = Object.freeze({
  maxBytes: 256 * 1024 * 1024,
  maxEntries: 50_000,
});

/** Longest path inside an archive (PATH_MAX): a longer one is not a real project's. */
export const MAX_ENTRY_PATH_BYTES = 4096;
/** Deepest directory nesting accepted: a deeper tree is a bomb, not a project. */
export const MAX_ENTRY_DEPTH = 64;
