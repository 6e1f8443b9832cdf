/**
 * The shell scripts the sandbox runs for staged-parts.ts: POSIX sh, `tar`, `mv`, `rm`, `rmdir`,
 * `mkdir`, `dirname`, present in every driver's sandbox (the host's /usr under bwrap, the Debian image
 * under docker and gVisor). Each runs as the sandbox's user: a path the agent swaps meanwhile can only
 * send a file somewhere the sandbox could write anyway.
 */
import { quoted as q } from './sandbox-tar.ts';

export interface StagedPaths {
  /** Where the archive goes. */
  readonly dir: string;
  /** The copy's directory in /tmp: its directories' headers, the destination's mtime, a small archive. */
  readonly temp: string;
  /** The staging directory inside `dir` the parts are unpacked into. */
  readonly staging: string;
}

/**
 * Before the first part: makes `dir` (printing the first directory of it this copy made, if any: a
 * refused copy removes it again; or noting the mtime of `dir` as it was, which a refused copy puts
 * back) and the staging directory inside it.
 */
export const prepareScript = (paths: StagedPaths): string =>
  `D=${q(paths.dir)}; d=$D; top=; while [ ! -e "$d" ] && [ ! -L "$d" ]; do top=$d; d=$(dirname -- "$d"); done; ` +
  `printf '%s' "$top"; mkdir -p -- ${q(paths.temp)} && ` +
  `if [ -z "$top" ]; then touch -r "$D" ${q(`${paths.temp}/mtime`)}; fi && mkdir -p -- ${q(paths.staging)}`;

/** The archive's parts, as they come on stdin, into the staging directory: one tar for all of them. */
export const streamScript = (paths: StagedPaths): string => `exec tar -xf - -C ${q(paths.staging)}`;

/** An archive of one part: unpacked straight into place by one tar, as a whole archive always was. */
export const wholeScript = (paths: StagedPaths, file: string): string =>
  `t=${q(paths.temp)}; trap 'rm -rf -- "$t"' EXIT; mkdir -p -- ${q(paths.dir)} && tar -xf ${q(file)} -C ${q(paths.dir)}`;

/**
 * The staged tree into place: each top-level name moved with `mv -n` (a rename on the same
 * filesystem; never over a name already there, which an agent's command may have made meanwhile),
 * what is left (names `dir` already held) with tar's own semantics, as one tar into `dir` always did:
 * files replaced, directories merged. Then `directories`, every directory's header again, so that
 * their modes and mtimes, changed by later entries and the moves, are set last. Few processes in all:
 * each costs the sandbox's CPU quota.
 */
export function finalScript(paths: StagedPaths, directories: string): string {
  // What staging holds, as the positional parameters (`./name`: no name can pass for an option).
  const stagedNames =
    'set --; for p in * .[!.]* ..?*; do if [ -e "$p" ] || [ -L "$p" ]; then set -- "$@" "./$p"; fi; done';
  return [
    `S=${q(paths.staging)}; D=${q(paths.dir)}; T=${q(paths.temp)}`,
    `trap 'rm -rf -- "$S" "$T"' EXIT`,
    'cd "$S" || exit 1',
    stagedNames,
    'if [ $# -gt 0 ]; then mv -n -- "$@" "$D/" 2>/dev/null; fi',
    stagedNames,
    'if [ $# -gt 0 ]; then',
    '  { tar -cf - "$@" || : > "$T/pack-failed"; } | tar -xf - -C "$D" || exit 1',
    '  if [ -e "$T/pack-failed" ]; then exit 1; fi',
    'fi',
    `tar -xf ${q(directories)} -C "$D"`,
  ].join('\n');
}

/**
 * A refused or failed copy: the staging directory and the copy's files in /tmp removed, and `dir` too
 * when this copy made it (`top`, the first directory it made) as far as it is empty, or its mtime put
 * back when it was there before: the tree is as it was.
 */
export function discardScript(paths: StagedPaths, top: string | null): string {
  const mtime = q(`${paths.temp}/mtime`);
  const restore =
    top === null
      ? `if [ -e ${mtime} ]; then touch -r ${mtime} ${q(paths.dir)}; fi`
      : `d=${q(paths.dir)}; while rmdir -- "$d" 2>/dev/null && [ "$d" != ${q(top)} ]; do d=$(dirname -- "$d"); done`;
  return `rm -rf -- ${q(paths.staging)}; ${restore}; rm -rf -- ${q(paths.temp)}`;
}
