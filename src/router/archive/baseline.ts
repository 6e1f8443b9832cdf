/**
 * What a session's /workspace held when a tree was copied in: each file's hash, and the text of small
 * text files so that changes can be shown as a patch. Bounded: past the budget only hashes are kept
 * (such a file's change is reported, its patch says the old text was not kept). Text is kept as its
 * UTF-8 bytes, outside the JavaScript heap, and decoded only for a patch: held as strings, a 32 MiB
 * budget was 32 MiB more for every full garbage collection to mark, while a large tree was copied.
 */
import { isUtf8 } from 'node:buffer';
export const MAX_BASELINE_TEXT_BYTES = 32 * 1024 * 1024;
export const MAX_BASELINE_FILE_TEXT_BYTES = 1024 * 1024;

export interface BaselineFile {
  readonly sha256: string;
  /** The file's bytes, when it is small, UTF-8 text, and within the session's budget. */
  readonly keptText: Buffer | null;
}

export interface Baseline {
  /** By path relative to /workspace. */
  readonly files: Map<string, BaselineFile>;
  textBytes: number;
}

export function emptyBaseline(): Baseline {
  return { files: new Map(), textBytes: 0 };
}

/** Whether a patch can show `content` as text: no NUL in the first 8 KiB, and valid UTF-8. */
export function isText(content: Buffer): boolean {
  return !content.subarray(0, 8192).includes(0) && isUtf8(content);
}

/** Text as a patch can show it (see isText), or null. */
export function asText(content: Buffer): string | null {
  return isText(content) ? content.toString('utf8') : null;
}

/** Whether a file of `sizeBytes` may still have its text kept (see `remember`). */
export function mayKeepText(baseline: Baseline, sizeBytes: number): boolean {
  return (
    sizeBytes <= MAX_BASELINE_FILE_TEXT_BYTES && baseline.textBytes + sizeBytes <= MAX_BASELINE_TEXT_BYTES
  );
}

/**
 * Records a file copied in; `content` is null when it was not kept (only its hash is known then). A
 * kept content must be the caller's own copy: it is held as it is.
 */
export function remember(baseline: Baseline, path: string, sha256: string, content: Buffer | null): void {
  const previous = baseline.files.get(path);
  if (previous?.keptText != null) baseline.textBytes -= previous.keptText.length;
  let keptText: Buffer | null = null;
  if (
    content !== null &&
    content.length <= MAX_BASELINE_FILE_TEXT_BYTES &&
    baseline.textBytes + content.length <= MAX_BASELINE_TEXT_BYTES &&
    isText(content)
  ) {
    keptText = content;
    baseline.textBytes += content.length;
  }
  baseline.files.set(path, { sha256, keptText });
}
