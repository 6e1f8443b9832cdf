/**
 * A directory on this machine as a tar archive and back: what `airlock cp`, `airlock exec --workspace`
 * and `airlock agent run --workspace` copy in and write back. Never follows a symlink on this machine.
 */
export { linkStaysInside, packDirectoryStream, sendDirectory, unpackInto } from './local-tree.ts';
export type {
  LeftOutLocal,
  PackedDirectory,
  PackFilter,
  SkipPath,
  UnpackFilter,
  UnpackOptions,
  UnpackResult,
} from './local-tree.ts';
export { unpackWhole } from './staged-unpack.ts';
export type { StagedUnpackResult } from './staged-unpack.ts';
export { EXPORT_SUMMARY_KEY, exportSummaryHeader, readExportSummary } from './export-summary.ts';
export type { ExportSummary, ExportSummaryNote } from './export-summary.ts';
export { MAX_META_BYTES, TarFormatError, TarReader } from './tar-reader.ts';
export type { TarEntry, TarEntryType, TarHeader, TarReaderOptions } from './tar-reader.ts';
export { TAR_END, tarEntry, tarEntryParts, tarGlobalHeader } from './tar-writer.ts';
export type { TarWriteHeader } from './tar-writer.ts';
