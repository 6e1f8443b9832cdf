/**
 * One table of routes drives both the server and its OpenAPI document: each route names its access,
 * its zod schemas for path, query and body, and what it answers. Input is parsed with `.strict()`
 * schemas before a handler sees it, so an unknown field is a 400 rather than silently ignored.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { DeepReadonly } from '../config/index.ts';
import { AirlockError } from '../errors/index.ts';
import { invalidInput } from './http-errors.ts';
import type { Principal } from './tokens.ts';

/**
 * `none`: open (health, the API description); `admin`: the admin token; `any`: admin or a session
 * token. People's tokens are let in by `RouteSpec.people`.
 */
export type Access = 'none' | 'admin' | 'any';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * Parsed input without keys whose value is undefined: zod's optional fields are `T | undefined`, while
 * the library's options (under exactOptionalPropertyTypes) take a key only when it has a value.
 */
export type Defined<T> = T extends Buffer ? T : { [K in keyof T]: Exclude<T[K], undefined> };

export interface RouteContext<Params, Query, Body> {
  readonly principal: Principal | null;
  readonly params: Defined<Params>;
  readonly query: Defined<Query>;
  readonly body: Defined<Body>;
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
}

export interface RouteResponse<Schema extends z.ZodType | undefined = z.ZodType | undefined> {
  readonly status: number;
  readonly description: string;
  /** JSON body schema; absent for a non-JSON body (`contentType`). */
  readonly schema?: Schema;
  readonly contentType?: string;
}

/**
 * What a handler returns: the JSON body its response schema describes (read-only is fine: it is only
 * serialized), or nothing for a route that answers itself (a stream, raw bytes). Typing handlers
 * against the schema makes a library type that drifts from the documented response a type error.
 */
export type ResponseBody<Schema> = Schema extends z.ZodType ? DeepReadonly<z.input<Schema>> : undefined;

export interface RouteSpec<
  Params = unknown,
  Query = unknown,
  Body = unknown,
  Schema extends z.ZodType | undefined = z.ZodType | undefined,
> {
  readonly method: Method;
  /** Fastify syntax: `/v1/sessions/:id`. */
  readonly url: string;
  readonly summary: string;
  readonly tag: string;
  readonly access: Access;
  /**
   * What people's tokens (viewer, approver; bearer or signed-in browser) may do here besides the
   * admin: `see` opens the route to both, `decide` to approvers only. Absent: neither, so a new route
   * is closed to them until someone decides it is theirs.
   */
  readonly people?: 'see' | 'decide';
  readonly params?: z.ZodType<Params>;
  readonly query?: z.ZodType<Query>;
  /**
   * A JSON body schema, `octet-stream` for raw bytes (file uploads), or `stream` for raw bytes the
   * handler reads as they arrive (an archive): the body is then the request's stream, never buffered,
   * and the handler bounds what it reads (`bodyLimitBytes` does not apply).
   */
  readonly body?: z.ZodType<Body> | 'octet-stream' | 'stream';
  /** Overrides the server's JSON body limit (uploads take the file-copy limit). */
  readonly bodyLimitBytes?: number;
  /**
   * How a request without a usable token is answered: `challenge` (the default) is 401 with
   * `WWW-Authenticate: Bearer`; `refuse` is 403 with the same `UNAUTHENTICATED` body and no challenge,
   * for clients that treat any 401 as the start of a login flow Airlock does not have (MCP).
   */
  readonly unauthenticated?: 'challenge' | 'refuse';
  readonly response: RouteResponse<Schema>;
  /**
   * Returns the JSON body to send with `response.status`, or `undefined` when the handler answered
   * itself (a stream, raw bytes).
   */
  handler(context: RouteContext<Params, Query, Body>): Promise<ResponseBody<Schema>>;
}

/** Erases a route's parameter types so routes of different shapes fit one table. */
export function defineRoute<Params, Query, Body, Schema extends z.ZodType | undefined = undefined>(
  spec: RouteSpec<Params, Query, Body, Schema>,
): RouteSpec {
  return spec as unknown as RouteSpec;
}

/** What the error handler reads back from a route (Fastify's per-route `config`). */
export interface RouteConfig {
  readonly unauthenticated: 'challenge' | 'refuse';
}

export interface RouteRegistration {
  /** Checks the token (or the browser's sign-in) and the request rate before the body is read. */
  authenticate(
    request: FastifyRequest,
    route: Pick<RouteSpec, 'access' | 'people'>,
  ): Promise<Principal | null>;
}

function parse<T>(
  schema: z.ZodType<T> | undefined,
  value: unknown,
  where: 'body' | 'query' | 'path',
): Defined<T> {
  if (schema === undefined) return undefined as unknown as Defined<T>;
  const result = schema.safeParse(value ?? {});
  if (!result.success) throw invalidInput(where, result.error);
  const data: unknown = result.data;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return data as Defined<T>;
  return Object.fromEntries(Object.entries(data).filter(([, field]) => field !== undefined)) as Defined<T>;
}

export function registerRoute(app: FastifyInstance, spec: RouteSpec, registration: RouteRegistration): void {
  if (spec.body !== 'stream') {
    addRoute(app, spec, registration);
    return;
  }
  // A context of its own, where application/octet-stream is handed over as the stream it is.
  void app.register(async (child) => {
    child.removeContentTypeParser('application/octet-stream');
    child.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));
    addRoute(child, spec, registration);
  });
}

function addRoute(app: FastifyInstance, spec: RouteSpec, registration: RouteRegistration): void {
  /** Who made each request in flight, from the onRequest hook to the handler. */
  const principals = new WeakMap<FastifyRequest, Principal | null>();
  app.route({
    method: spec.method,
    url: spec.url,
    ...(spec.bodyLimitBytes === undefined ? {} : { bodyLimit: spec.bodyLimitBytes }),
    config: { unauthenticated: spec.unauthenticated ?? 'challenge' } satisfies RouteConfig,
    // Authentication runs before the body is read, so an anonymous caller cannot make the server
    // buffer a large upload.
    onRequest: async (request) => {
      principals.set(request, await registration.authenticate(request, spec));
    },
    preValidation: async (request) => {
      checkContentType(request, spec);
    },
    handler: async (request, reply) => {
      const context = {
        principal: principals.get(request) ?? null,
        params: parse(spec.params, request.params, 'path'),
        query: parse(spec.query, request.query, 'query'),
        body:
          spec.body === 'octet-stream' || spec.body === 'stream'
            ? (request.body as Buffer)
            : parse(spec.body, request.body, 'body'),
        request,
        reply,
      };
      const result = await spec.handler(context);
      if (result === undefined) return reply;
      return reply.code(spec.response.status).send(result);
    },
  });
}

/** JSON routes take JSON only and uploads take bytes only: anything else would be read as the wrong thing. */
function checkContentType(request: FastifyRequest, spec: RouteSpec): void {
  const hasBody = request.body !== undefined && request.body !== null;
  const raw = spec.body === 'octet-stream' || spec.body === 'stream';
  if (!hasBody) {
    if (raw) {
      throw new AirlockError(
        'INVALID_ARGUMENT',
        'the request has no body; send the file as application/octet-stream',
      );
    }
    return;
  }
  const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (raw) {
    if (type !== 'application/octet-stream') {
      throw new AirlockError(
        'UNSUPPORTED_MEDIA_TYPE',
        `a file upload is sent as application/octet-stream, not ${type || 'no content type'}`,
        { contentType: type },
      );
    }
    return;
  }
  if (spec.body === undefined) {
    // Some clients send `{}` with every POST; anything more would be ignored, which hides mistakes.
    const empty = typeof request.body === 'object' && Object.keys(request.body as object).length === 0;
    if (!empty)
      throw new AirlockError('INVALID_ARGUMENT', `${spec.method} ${spec.url} takes no request body`);
    return;
  }
  if (type !== 'application/json') {
    throw new AirlockError(
      'UNSUPPORTED_MEDIA_TYPE',
      `send the body as application/json, not ${type || 'no content type'}`,
      {
        contentType: type,
      },
    );
  }
}
