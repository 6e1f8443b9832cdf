import { posix } from 'node:path';
import { AirlockError } from '../errors/index.ts';

/** The only places host-initiated copies may touch: the sized, writable scratch mounts. */
export const writableRoots = ['/workspace', '/tmp'] as const;
const MAX_PATH_BYTES = 4096;

/**
 * Turns a caller's path into an absolute sandbox path under a writable root. Relative paths are
 * taken from /workspace. Any `..` segment is refused outright rather than normalised away, so what
 * the caller wrote is exactly what is checked. Symlinks are handled inside the sandbox, where the
 * supervisor opens every component with O_NOFOLLOW.
 */
export function resolveSandboxPath(path: string, options: { allowRoot?: boolean } = {}): string {
  const fail = (why: string): never => {
    throw new AirlockError('PATH_OUTSIDE_SANDBOX', `path ${JSON.stringify(path)} ${why}`, { path });
  };
  if (typeof path !== 'string' || path.length === 0) fail('is empty');
  if (path.includes('\0')) fail('contains a NUL byte');
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) fail(`is longer than ${MAX_PATH_BYTES} bytes`);
  if (path.split('/').includes('..')) fail('contains ".."; give a path inside /workspace or /tmp');
  const absolute = posix.normalize(path.startsWith('/') ? path : posix.join('/workspace', path));
  const trimmed = absolute.length > 1 && absolute.endsWith('/') ? absolute.slice(0, -1) : absolute;
  for (const root of writableRoots) {
    if (trimmed === root) {
      if (options.allowRoot) return trimmed;
      fail(`names the ${root} directory itself, not a file in it`);
    }
    if (trimmed.startsWith(`${root}/`)) return trimmed;
  }
  return fail("is outside the sandbox's writable areas (/workspace and /tmp)");
}
