/**
 * Every failure leaves the server as `{ error: { code, message, details? } }` with the status of its
 * code: a client mistake is a 4xx with a stable code, and only a bug or broken infrastructure is a 5xx.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { ZodError } from 'zod';
import { AirlockError, httpStatusFor, isAirlockError } from '../errors/index.ts';
import type { ErrorCode } from '../errors/index.ts';
import { lingerOnClose } from './linger-close.ts';
import type { RouteConfig } from './route.ts';

export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly details?: unknown };
}

export function errorBody(error: AirlockError): ErrorBody {
  const details = Object.keys(error.details).length === 0 ? {} : { details: error.details };
  return { error: { code: error.code, message: error.message, ...details } };
}

/** A zod failure on caller input, with every problem named by its field. */
export function invalidInput(where: 'body' | 'query' | 'path', error: ZodError): AirlockError {
  const issues = error.issues.map((issue) =>
    issue.code === 'unrecognized_keys'
      ? {
          field: [...issue.path.map(String), ...issue.keys].join('.'),
          message: `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((key) => JSON.stringify(key)).join(', ')}`,
        }
      : { field: issue.path.map(String).join('.') || where, message: issue.message },
  );
  const first = issues[0];
  const summary =
    first === undefined ? `invalid ${where}` : `invalid ${where}: ${first.field}: ${first.message}`;
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  return new AirlockError('INVALID_ARGUMENT', `${summary}${more}`, { issues });
}

/** Fastify's own errors (body parsing, limits, content types) carry a status; map them to our codes. */
function fromFastify(error: FastifyError): AirlockError | null {
  const status = error.statusCode;
  if (status === undefined || status >= 500) return null;
  const code: ErrorCode =
    status === 413
      ? 'BODY_TOO_LARGE'
      : status === 415
        ? 'UNSUPPORTED_MEDIA_TYPE'
        : status === 404
          ? 'NOT_FOUND'
          : 'INVALID_ARGUMENT';
  const message =
    error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
      ? `unsupported content type ${JSON.stringify(error.message.replace(/^Unsupported Media Type: /, ''))}; send application/json`
      : error.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? 'request body is too large'
        : error instanceof SyntaxError || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY'
          ? `malformed JSON body: ${error.message}`
          : error.message;
  return new AirlockError(code, message, { fastifyCode: error.code ?? null });
}

export function toAirlockError(error: unknown): AirlockError | null {
  if (isAirlockError(error)) return error;
  if (error instanceof Error && typeof (error as FastifyError).statusCode === 'number') {
    return fromFastify(error as FastifyError);
  }
  return null;
}

export function createErrorHandler(logger: Logger) {
  return (error: unknown, request: FastifyRequest, reply: FastifyReply): void => {
    // Refused before its body was read (no token, too large): closing the connection drops the rest
    // instead of leaving a half-read socket that keeps a graceful shutdown waiting.
    if (!request.raw.complete) {
      void reply.header('connection', 'close');
      // The client may still be sending: it reads this answer, not a reset connection.
      lingerOnClose(request.raw);
    }
    const known = toAirlockError(error);
    if (known !== null) {
      const refuse =
        known.code === 'UNAUTHENTICATED' &&
        (request.routeOptions.config as Partial<RouteConfig> | undefined)?.unauthenticated === 'refuse';
      const status = refuse ? 403 : httpStatusFor(known.code);
      if (status >= 500) logger.error({ err: known, url: request.url }, 'request failed');
      if (known.code === 'RATE_LIMITED' && typeof known.details['retryAfterMs'] === 'number') {
        void reply.header('retry-after', String(Math.ceil(known.details['retryAfterMs'] / 1000)));
      }
      if (known.code === 'UNAUTHENTICATED' && !refuse) void reply.header('www-authenticate', 'Bearer');
      void reply.code(status).send(errorBody(known));
      return;
    }
    // Anything else is a bug: logged in full, answered without internals.
    logger.error({ err: error, url: request.url }, 'unexpected error');
    void reply
      .code(500)
      .send(errorBody(new AirlockError('INTERNAL', 'internal error; the server log has the details')));
  };
}
