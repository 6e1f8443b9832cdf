/**
 * What a session's /workspace held when a tree was copied in: each file's hash, and the text of small
 * text files so that changes can be shown as a patch. Bounded: past the budget only hashes are kept
 * (such a file's change is reported, its patch says the old text was not kept).
 */
export const MAX_BASELINE_TEXT_BYTES = 32 * 1024 * 1024;
export const MAX_BASELINE_FILE_TEXT_BYTES = 1024 * 1024;

export interface BaselineFile {
  readonly sha256: string;
  /** The file's text, when it is small, text, and within the session's budget. */
  readonly text: string | null;
}

export interface Baseline {
  /** By path relative to /workspace. */
  readonly files: Map<string, BaselineFile>;
  textBytes: number;
}

export function emptyBaseline(): Baseline {
  return { files: new Map(), textBytes: 0 };
}

/** Text as a patch can show it: no NUL in the first 8 KiB, valid UTF-8 as far as a round trip goes. */
export function asText(content: Buffer): string | null {
  if (content.subarray(0, 8192).includes(0)) return null;
  const text = content.toString('utf8');
  return Buffer.byteLength(text) === content.length ? text : null;
}

/** Whether a file of `sizeBytes` may still have its text kept (see `remember`). */
export function mayKeepText(baseline: Baseline, sizeBytes: number): boolean {
  return (
    sizeBytes <= MAX_BASELINE_FILE_TEXT_BYTES && baseline.textBytes + sizeBytes <= MAX_BASELINE_TEXT_BYTES
  );
}

/** Records a file copied in; `content` is null when it was not kept (only its hash is known then). */
export function remember(baseline: Baseline, path: string, sha256: string, content: Buffer | null): void {
  const previous = baseline.files.get(path);
  if (previous?.text != null) baseline.textBytes -= previous.text.length;
  let text: string | null = null;
  if (
    content !== null &&
    content.length <= MAX_BASELINE_FILE_TEXT_BYTES &&
    baseline.textBytes + content.length <= MAX_BASELINE_TEXT_BYTES
  ) {
    text = asText(content);
    if (text !== null) baseline.textBytes += text.length;
  }
  baseline.files.set(path, { sha256, text });
}
