/**
 * A directory on this machine as a tar archive and back: what `airlock cp`, `airlock exec --workspace`
 * and `airlock agent run --workspace` copy in and write back. Never follows a symlink on this machine.
 */
export { linkStaysInside, packDirectoryStream, sendDirectory, unpackInto } from './local-tree.ts';
export type { LeftOutLocal, PackedDirectory, PackFilter, SkipPath } from './local-tree.ts';
export { MAX_META_BYTES, TarFormatError, TarReader } from './tar-reader.ts';
export type { TarEntry, TarEntryType, TarHeader, TarReaderOptions } from './tar-reader.ts';
export { TAR_END, TarPieces, tarEntry, tarEntryParts } from './tar-writer.ts';
export type { TarWriteHeader } from './tar-writer.ts';
