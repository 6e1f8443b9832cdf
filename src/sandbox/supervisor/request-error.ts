import { AirlockError } from '../../errors/index.ts';
import type { ErrorInfo } from './reply-decoder.ts';

/**
 * The supervisor could not carry out a request (its ERROR reply). `errno` is the supervisor's
 * errno, also in `details`; callers translate the common ones (translateFileError) to the codes
 * people act on.
 */
export class SupervisorRequestError extends AirlockError {
  readonly errno: number;

  constructor(info: ErrorInfo) {
    super('SANDBOX_REQUEST_FAILED', info.message, { errno: info.errno });
    this.name = 'SupervisorRequestError';
    this.errno = info.errno;
  }
}

export const errnos = {
  ENOENT: 2,
  E2BIG: 7,
  EAGAIN: 11,
  ENOTDIR: 20,
  EFBIG: 27,
  ELOOP: 40,
} as const;

export function isRequestError(error: unknown, errno: number): error is SupervisorRequestError {
  return error instanceof SupervisorRequestError && error.errno === errno;
}

/** A file request's failure in the codes people act on; anything else passes through unchanged. */
export function translateFileError(error: unknown, path: string, sizeBytes: number): unknown {
  if (!(error instanceof SupervisorRequestError)) return error;
  if (error.errno === errnos.ENOENT)
    return new AirlockError('NOT_FOUND', `${path}: no such file or directory`, { path });
  if (error.errno === errnos.EFBIG) {
    return new AirlockError('FILE_TOO_LARGE', `${path}: file is larger than the limit`, { path, sizeBytes });
  }
  if (error.errno === errnos.ELOOP || error.errno === errnos.ENOTDIR) {
    // O_NOFOLLOW on every component: a symlink anywhere in the path is refused, not followed.
    return new AirlockError(
      'PATH_OUTSIDE_SANDBOX',
      `${path}: the path goes through a symlink; refusing to follow it`,
      { path },
    );
  }
  return new AirlockError('INVALID_ARGUMENT', `${path}: ${error.message}`, { path, errno: error.errno });
}
