/**
 * One error type for everything that goes wrong in a call: `AirlockApiError`. Callers branch on `code`
 * (the server's stable string, or one of the SDK's own for failures that never reached the server),
 * never on the message.
 */

/** Codes the server answers with (the wire contract's table). */
export const serverErrorCodes = [
  'INVALID_ARGUMENT',
  'INVALID_CONFIG',
  'NOT_FOUND',
  'PATH_OUTSIDE_SANDBOX',
  'FILE_TOO_LARGE',
  'UNSAFE_ARCHIVE',
  'SANDBOX_UNAVAILABLE',
  'CGROUP_UNAVAILABLE',
  'LIMIT_REACHED',
  'SANDBOX_LOST',
  'SANDBOX_DESTROYED',
  'SANDBOX_REQUEST_FAILED',
  'POLICY_INVALID',
  'STORE_UNAVAILABLE',
  'SESSION_ENDED',
  'APPROVAL_CLOSED',
  'RATE_LIMITED',
  'INTERNAL',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'BODY_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'SERVER_STOPPING',
  'NODE_UNREACHABLE',
] as const;

/**
 * Codes the SDK raises itself. `status` is 0 when no HTTP answer was had (connection, timeout, abort,
 * invalid argument), else the answer's status.
 */
export const clientErrorCodes = {
  CONNECTION_FAILED: 'The server could not be reached, or the connection broke mid-answer.',
  TIMEOUT: "The call's timeoutMs elapsed before it finished (the server may still finish the work).",
  ABORTED: "The caller's AbortSignal fired before the call finished.",
  HTTP_ERROR: 'A non-2xx answer without an Airlock error body (often a proxy in between).',
  INVALID_RESPONSE: 'A 2xx answer the SDK cannot read (not JSON, wrong content type, broken stream).',
  STREAM_INTERRUPTED:
    "A stream broke off before its end: a command's events before the final status, an audit export midway.",
  INVALID_ARGUMENT: 'A value given to the SDK cannot be sent (e.g. an id that is "." or "..").',
  COMMAND_NOT_RUNNING:
    "pty.create(): the terminal's command is not running (denied by the policy or a person, rate limited); its result is in details.result.",
} as const;

export type ServerErrorCode = (typeof serverErrorCodes)[number];
export type ClientErrorCode = keyof typeof clientErrorCodes;
/** Known codes autocomplete; an unknown code from a newer server is still a string. */
export type AirlockErrorCode = ServerErrorCode | ClientErrorCode | (string & {});

export interface AirlockApiErrorInit {
  readonly code: AirlockErrorCode;
  /** HTTP status; 0 when no answer was had (connection failure, timeout, abort, invalid argument). */
  readonly status: number;
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
  /** `GET /v1/sessions/…`: which call failed. */
  readonly request?: string;
  readonly cause?: unknown;
}

export class AirlockApiError extends Error {
  readonly code: AirlockErrorCode;
  readonly status: number;
  readonly details: Readonly<Record<string, unknown>>;
  readonly request: string | undefined;

  constructor(init: AirlockApiErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'AirlockApiError';
    this.code = init.code;
    this.status = init.status;
    this.details = Object.freeze({ ...init.details });
    this.request = init.request;
  }

  toJSON(): { code: string; status: number; message: string; details: Readonly<Record<string, unknown>> } {
    return { code: this.code, status: this.status, message: this.message, details: this.details };
  }
}

/** True for an `AirlockApiError`, and (given `code`) only one with that code. */
export function isAirlockApiError(value: unknown, code?: AirlockErrorCode): value is AirlockApiError {
  return value instanceof AirlockApiError && (code === undefined || value.code === code);
}

/** How much of an unreadable body goes into the message: enough to recognise a proxy's page. */
const BODY_SNIPPET_CHARS = 200;

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > BODY_SNIPPET_CHARS ? `${flat.slice(0, BODY_SNIPPET_CHARS)}…` : flat;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The `error` member of an Airlock error body, or undefined when the body is something else. */
function parseEnvelope(
  bodyText: string,
): { code: string; message: string; details: Record<string, unknown> } | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bodyText);
  } catch {
    return undefined;
  }
  if (!isRecord(parsed) || !isRecord(parsed.error)) return undefined;
  const { code, message, details } = parsed.error;
  if (typeof code !== 'string' || code === '') return undefined;
  return {
    code,
    message: typeof message === 'string' ? message : code,
    details: isRecord(details) ? details : {},
  };
}

/** `Retry-After` in seconds (or an HTTP date) as milliseconds, when a proxy rate-limits without a body. */
function retryAfterMs(header: string | null, nowMs: number): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const dateMs = Date.parse(header);
  return Number.isNaN(dateMs) ? undefined : Math.max(0, dateMs - nowMs);
}

/** The error for a non-2xx answer whose body has been read as text. */
export function errorFromHttpAnswer(
  answer: {
    readonly status: number;
    readonly statusText: string;
    readonly headers: { get(name: string): string | null };
  },
  bodyText: string,
  request: string,
): AirlockApiError {
  const envelope = parseEnvelope(bodyText);
  if (envelope !== undefined) {
    return new AirlockApiError({ ...envelope, status: answer.status, request });
  }
  const retryAfter = retryAfterMs(answer.headers.get('retry-after'), Date.now());
  const statusLine = `${answer.status}${answer.statusText === '' ? '' : ` ${answer.statusText}`}`;
  const body = snippet(bodyText);
  return new AirlockApiError({
    code: 'HTTP_ERROR',
    status: answer.status,
    message: `${request} answered HTTP ${statusLine} without an Airlock error body${body === '' ? '' : `: ${body}`}`,
    details: {
      contentType: answer.headers.get('content-type'),
      body,
      ...(retryAfter === undefined ? {} : { retryAfterMs: retryAfter }),
    },
    request,
  });
}

export function invalidResponse(
  request: string,
  status: number,
  problem: string,
  cause?: unknown,
): AirlockApiError {
  return new AirlockApiError({
    code: 'INVALID_RESPONSE',
    status,
    message: `${request}: ${problem}`,
    request,
    cause,
  });
}

export function invalidArgument(message: string, details: Record<string, unknown> = {}): AirlockApiError {
  return new AirlockApiError({ code: 'INVALID_ARGUMENT', status: 0, message, details });
}
