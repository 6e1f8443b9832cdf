/**
 * The one error root. Codes are stable strings that callers branch on; messages are for people and
 * may change. Facts live in `details`, never folded only into the message.
 */
export const errorCodes = {
  INVALID_ARGUMENT: { httpStatus: 400, doc: 'A value given by the caller is malformed or out of range.' },
  INVALID_CONFIG: { httpStatus: 400, doc: 'airlock.yaml (or the options object) failed validation.' },
  NOT_FOUND: { httpStatus: 404, doc: 'The session, command, output or file does not exist.' },
  PATH_OUTSIDE_SANDBOX: {
    httpStatus: 400,
    doc: 'A file path escapes the sandbox (.., absolute host path or a symlink out).',
  },
  FILE_TOO_LARGE: { httpStatus: 413, doc: 'A file copied in or out is over the size limit.' },
  UNSAFE_ARCHIVE: {
    httpStatus: 400,
    doc: 'An archive copied in was refused whole (an absolute or .. name, a link, a device, a secret, too many entries or bytes); details.reason says which. Nothing was written.',
  },
  SANDBOX_UNAVAILABLE: {
    httpStatus: 503,
    doc: 'The sandbox cannot be created with every protection (missing bwrap, user namespaces, helper).',
  },
  CGROUP_UNAVAILABLE: {
    httpStatus: 503,
    doc: 'Resource limits cannot be enforced: the cgroup could not be created or written.',
  },
  LIMIT_REACHED: {
    httpStatus: 429,
    doc: 'A sandbox limit (processes, running commands) is exhausted; wait for work to finish or raise it.',
  },
  SANDBOX_LOST: { httpStatus: 500, doc: 'The sandbox died or stopped answering; the session is over.' },
  SANDBOX_DESTROYED: { httpStatus: 409, doc: 'The sandbox was already destroyed.' },
  SANDBOX_REQUEST_FAILED: {
    httpStatus: 500,
    doc: 'The supervisor inside the sandbox could not carry out a request; details.errno says why.',
  },
  POLICY_INVALID: {
    httpStatus: 400,
    doc: 'A policy (preset name or YAML file) failed validation; details.issues lists every problem.',
  },
  STORE_UNAVAILABLE: { httpStatus: 503, doc: 'The store (database) cannot be opened or written.' },
  SESSION_ENDED: {
    httpStatus: 410,
    doc: 'The session has ended (destroyed, idle, past its lifetime or its sandbox died); create a new one.',
  },
  APPROVAL_CLOSED: {
    httpStatus: 409,
    doc: 'The approval request was already decided or expired; its decision stands.',
  },
  RATE_LIMITED: {
    httpStatus: 429,
    doc: 'Too many requests for this session or token; retry after details.retryAfterMs.',
  },
  UNAUTHENTICATED: {
    httpStatus: 401,
    doc: 'The request has no bearer token, or one the server does not know; send Authorization: Bearer <token>.',
  },
  FORBIDDEN: {
    httpStatus: 403,
    doc: 'The token is valid but may not do this (a session token on an admin-only route, a viewer deciding, a dashboard change without its CSRF token).',
  },
  BODY_TOO_LARGE: {
    httpStatus: 413,
    doc: 'The request body is over the limit (server.maxBody for JSON, the file-copy limit for uploads).',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    httpStatus: 415,
    doc: 'The request body has a content type this route does not take (JSON, or octet-stream for files).',
  },
  SERVER_STOPPING: {
    httpStatus: 503,
    doc: 'The server is shutting down and takes no new requests; retry once it (or its successor) is up.',
  },
  NODE_UNREACHABLE: {
    httpStatus: 503,
    doc: 'The cluster node that runs this session did not answer; retry, and if it was lost the session has ended.',
  },
  INTERNAL: { httpStatus: 500, doc: 'A bug in Airlock.' },
} as const satisfies Record<string, { httpStatus: number; doc: string }>;

export type ErrorCode = keyof typeof errorCodes;

export class AirlockError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    code: ErrorCode,
    message: string,
    details: Record<string, unknown> = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'AirlockError';
    this.code = code;
    this.details = Object.freeze({ ...details });
  }

  toJSON(): { code: ErrorCode; message: string; details: Readonly<Record<string, unknown>> } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

export function isAirlockError(value: unknown): value is AirlockError {
  return value instanceof AirlockError;
}

export function httpStatusFor(code: ErrorCode): number {
  return errorCodes[code].httpStatus;
}
